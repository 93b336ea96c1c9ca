package flava

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// randomCodebook fills a codebook of cfg with He-initialised weights and
// small biases (deterministic).
func randomCodebook(tb testing.TB, cfg CodebookConfig) *ImageCodebook {
	tb.Helper()
	cb, err := NewImageCodebook(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(c *CodebookConv2d) {
		std := math.Sqrt(2 / float64(c.In*c.Kernel*c.Kernel))
		for i := range c.Weight.Data {
			c.Weight.Data[i] = float32(rng.NormFloat64() * std)
		}
		for i := range c.Bias.Data {
			c.Bias.Data[i] = float32(rng.NormFloat64() * 0.01)
		}
	}
	fill(cb.Input)
	fill(cb.Output)
	for _, g := range cb.Groups {
		for _, b := range g.Blocks {
			if b.IDPath != nil {
				fill(b.IDPath)
			}
			fill(b.ResPath.Conv1)
			fill(b.ResPath.Conv2)
			fill(b.ResPath.Conv3)
			fill(b.ResPath.Conv4)
		}
	}
	return cb
}

// codebookFLOPs counts 2·multiply-adds of the convolutions for one h×w image.
func codebookFLOPs(cb *ImageCodebook, h, w int) float64 {
	var f float64
	conv := func(c *CodebookConv2d, h, w int) {
		f += 2 * float64(c.In*c.Kernel*c.Kernel) * float64(c.Out) * float64(h*w)
	}
	conv(cb.Input, h, w)
	for _, g := range cb.Groups {
		for _, b := range g.Blocks {
			if b.IDPath != nil {
				conv(b.IDPath, h, w)
			}
			conv(b.ResPath.Conv1, h, w)
			conv(b.ResPath.Conv2, h, w)
			conv(b.ResPath.Conv3, h, w)
			conv(b.ResPath.Conv4, h, w)
		}
		if g.UsePool {
			h, w = h/2, w/2
		}
	}
	conv(cb.Output, h, w)
	return f
}

// BenchmarkCodebook112 runs facebook/flava-image-codebook's architecture
// (hidden 256, vocab 8192, 4 groups × 2 blocks; random weights) on 112×112
// codebook images, the size FLAVA's processor produces, through
// CodebookIndicesInto (the MIM-label path) with a warm Workspace, at batch 1
// and 8 (the names scripts/bench/report.py pairs with PyTorch).
func BenchmarkCodebook112(b *testing.B) {
	cb := randomCodebook(b, CodebookConfig{})
	b.Run("batch1", func(b *testing.B) { benchCodebook(b, cb, 1, PrecisionF32) })
	b.Run("batch8", func(b *testing.B) { benchCodebook(b, cb, 8, PrecisionF32) })
}

// BenchmarkCodebook112BF16 is BenchmarkCodebook112 at PrecisionBF16
// (ImageCodebook.SetPrecision), reporting the share of token ids equal to
// float32's on the same images ("equal-ids") and the smallest cosine of a
// pixel's logit vector ("1-cos" is one minus it); skipped on CPUs without
// native bf16.
func BenchmarkCodebook112BF16(b *testing.B) {
	cb := randomCodebook(b, CodebookConfig{})
	b.Run("batch1", func(b *testing.B) { benchCodebook(b, cb, 1, PrecisionBF16) })
	b.Run("batch8", func(b *testing.B) { benchCodebook(b, cb, 8, PrecisionBF16) })
}

func benchCodebook(b *testing.B, cb *ImageCodebook, batch int, p Precision) {
	const size = 112
	px := tensor.New(batch, 3, size, size)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range px.Data {
		px.Data[i] = 0.1 + 0.8*rng.Float32()
	}
	var ws Workspace
	var ids tensor.Int64
	if p != PrecisionF32 {
		var logits32, logits16 tensor.Tensor
		if err := cb.ForwardInto(&ws, &logits32, px); err != nil {
			b.Fatal(err)
		}
		if err := cb.SetPrecision(p); err != nil {
			b.Skip(err)
		}
		b.Cleanup(func() { cb.SetPrecision(PrecisionF32) })
		if err := cb.ForwardInto(&ws, &logits16, px); err != nil {
			b.Fatal(err)
		}
		equal, minCos, _ := codebookBF16Agreement(&logits32, &logits16, argmaxChannels(&logits32), argmaxChannels(&logits16))
		defer func() {
			b.ReportMetric(equal, "equal-ids")
			b.ReportMetric(1-minCos, "1-cos")
		}()
	}
	if err := cb.CodebookIndicesInto(&ws, &ids, px); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		if err := cb.CodebookIndicesInto(&ws, &ids, px); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*batch)/sec, "images/s")
	b.ReportMetric(codebookFLOPs(cb, size, size)*float64(b.N*batch)/sec/1e9, "GFLOP/s")
}
