package flava

import (
	"fmt"
	"testing"
	"time"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// flavaFull builds flava-full's architecture with random weights once per
// benchmark binary (the weights are ~1.4 GB of float32 writes).
var benchModel *Model

func flavaFull(b *testing.B) *Model {
	b.Helper()
	if benchModel == nil {
		m, err := NewRandom(DefaultConfig(), 42)
		if err != nil {
			b.Fatal(err)
		}
		benchModel = m
	}
	return benchModel
}

func benchPixels(batch int) *tensor.Tensor {
	p := tensor.New(batch, 3, 224, 224)
	for i := range p.Data {
		p.Data[i] = float32(i%251)/125 - 1
	}
	return p
}

func benchIDs(batch, seq int) *tensor.Int64 {
	ids := tensor.NewInt64(batch, seq)
	for i := range ids.Data {
		ids.Data[i] = int64(1000 + 37*i%20000)
	}
	return ids
}

// The encoder benchmarks time the zero-allocation path, ForwardInto with a
// warm Workspace and reused outputs (what a long-running worker does): they
// report 0 allocs/op. Forward adds only its output tensors. Thread count:
// kernels takes GOMAXPROCS at init, so run with GOMAXPROCS=1 or 2 in the
// environment (scripts/bench/compare.sh does), not with -cpu.

// withPrecision sets the benchmark model's precision for one benchmark,
// back to f32 after it; bf16 is skipped on CPUs without native bf16.
func withPrecision(b *testing.B, m *Model, p Precision) {
	if err := m.SetPrecision(p); err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { m.SetPrecision(PrecisionF32) })
}

// reportBF16Error reports how far the bf16 output got is from the float32
// one (want): one minus the smallest cosine of a token vector ("1-cos") and
// the largest absolute difference ("max-abs"), the figures BENCHMARKS.md compares
// with OpenVINO bf16's on flava-full with random weights.
func reportBF16Error(b *testing.B, got, want []float32, dim int) {
	minCos := 1.0
	for i := 0; i+dim <= len(got); i += dim {
		minCos = min(minCos, cosine(got[i:i+dim], want[i:i+dim]))
	}
	d, _ := tensor.MaxAbsDiff(got, want)
	b.ReportMetric(1-minCos, "1-cos")
	b.ReportMetric(d, "max-abs")
}

func benchImage(b *testing.B, batch int, p Precision) {
	m := flavaFull(b)
	in := ImageInput{PixelValues: benchPixels(batch)}
	var ws Workspace
	var out ImageOutput
	var want []float32
	if p != PrecisionF32 {
		if err := m.ImageModel.ForwardInto(&ws, &out, in); err != nil {
			b.Fatal(err)
		}
		want = append(want, out.LastHiddenState.Data...)
	}
	withPrecision(b, m, p)
	if err := m.ImageModel.ForwardInto(&ws, &out, in); err != nil { // warm up
		b.Fatal(err)
	}
	if want != nil {
		defer reportBF16Error(b, out.LastHiddenState.Data, want, m.Config.ImageConfig.HiddenSize)
	}
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		if err := m.ImageModel.ForwardInto(&ws, &out, in); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
	c := m.Config.ImageConfig
	b.ReportMetric(encoderFLOPs(c.NumPatches()+1, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers)*float64(batch*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkImageEncoder: FlavaImageModel of flava-full (ViT-B/16, 224²).
func BenchmarkImageEncoder(b *testing.B) {
	b.Run("batch1", func(b *testing.B) { benchImage(b, 1, PrecisionF32) })
	b.Run("batch8", func(b *testing.B) { benchImage(b, 8, PrecisionF32) })
}

// BenchmarkImageEncoderSpin is BenchmarkImageEncoder/batch1 with the kernel
// pool's spin window off and at its default (kernels.SetSpin): at two
// threads a batch-1 forward is some 120 short parallel sections (run it with
// GOMAXPROCS=2 or more).
func BenchmarkImageEncoderSpin(b *testing.B) {
	for _, spin := range []time.Duration{0, 200 * time.Microsecond} {
		b.Run(fmt.Sprintf("batch1/spin=%v", spin), func(b *testing.B) {
			defer kernels.SetSpin(kernels.SetSpin(spin))
			benchImage(b, 1, PrecisionF32)
		})
	}
}

// BenchmarkImageEncoderBF16 is BenchmarkImageEncoder at PrecisionBF16; it
// also reports the error of last_hidden_state against float32 (1-cos,
// max-abs; see reportBF16Error).
func BenchmarkImageEncoderBF16(b *testing.B) {
	b.Run("batch1", func(b *testing.B) { benchImage(b, 1, PrecisionBF16) })
	b.Run("batch8", func(b *testing.B) { benchImage(b, 8, PrecisionBF16) })
}

func benchText(b *testing.B, batch, seq int, p Precision) {
	m := flavaFull(b)
	in := TextInput{InputIDs: benchIDs(batch, seq)}
	var ws Workspace
	var out TextOutput
	var want []float32
	if p != PrecisionF32 {
		if err := m.TextModel.ForwardInto(&ws, &out, in); err != nil {
			b.Fatal(err)
		}
		want = append(want, out.LastHiddenState.Data...)
	}
	withPrecision(b, m, p)
	if err := m.TextModel.ForwardInto(&ws, &out, in); err != nil {
		b.Fatal(err)
	}
	if want != nil {
		defer reportBF16Error(b, out.LastHiddenState.Data, want, m.Config.TextConfig.HiddenSize)
	}
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		if err := m.TextModel.ForwardInto(&ws, &out, in); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "texts/s")
	b.ReportMetric(float64(batch*seq*b.N)/b.Elapsed().Seconds(), "tokens/s")
	c := m.Config.TextConfig
	b.ReportMetric(encoderFLOPs(seq, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers)*float64(batch*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkTextEncoder: FlavaTextModel of flava-full, batch 8 of 77 tokens
// (CLIP-length captions) and of 16 tokens (short labels); the names are the
// ones scripts/bench/report.py pairs with PyTorch.
func BenchmarkTextEncoder(b *testing.B) {
	b.Run("seq77", func(b *testing.B) { benchText(b, 8, 77, PrecisionF32) })
	b.Run("seq16", func(b *testing.B) { benchText(b, 8, 16, PrecisionF32) })
}

// BenchmarkTextEncoderBF16 is BenchmarkTextEncoder at PrecisionBF16, with
// the error of last_hidden_state against float32.
func BenchmarkTextEncoderBF16(b *testing.B) {
	b.Run("seq77", func(b *testing.B) { benchText(b, 8, 77, PrecisionBF16) })
	b.Run("seq16", func(b *testing.B) { benchText(b, 8, 16, PrecisionBF16) })
}

// BenchmarkMultimodalEncoder: FlavaMultimodalModel of flava-full on 197 image
// + 77 text states (+CLS), batch 8.
func BenchmarkMultimodalEncoder(b *testing.B) {
	m := flavaFull(b)
	const batch, seq = 8, 197 + 77
	x := tensor.New(batch, seq, 768)
	for i := range x.Data {
		x.Data[i] = float32(i%97)/97 - 0.5
	}
	in := MultimodalInput{HiddenStates: x}
	var ws Workspace
	var out MultimodalOutput
	if err := m.MultimodalModel.ForwardInto(&ws, &out, in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		if err := m.MultimodalModel.ForwardInto(&ws, &out, in); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "pairs/s")
	c := m.Config.MultimodalConfig
	b.ReportMetric(encoderFLOPs(seq+1, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers)*float64(batch*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkModel: FlavaModel.forward of flava-full on 8 image-text pairs
// (224² images, 77 tokens): both unimodal encoders, the projections and the
// multimodal encoder, through ForwardInto. FINDINGS.md has PyTorch's figure
// for the same pass; scripts/bench does not pair it (yet).
func BenchmarkModel(b *testing.B) { benchModelPrecision(b, PrecisionF32) }

// BenchmarkModelBF16 is BenchmarkModel at PrecisionBF16, with the error of
// the multimodal embeddings against float32.
func BenchmarkModelBF16(b *testing.B) { benchModelPrecision(b, PrecisionBF16) }

func benchModelPrecision(b *testing.B, p Precision) {
	b.Run("batch8", func(b *testing.B) {
		m := flavaFull(b)
		const batch, seq = 8, 77
		in := ModelInput{PixelValues: benchPixels(batch), InputIDs: benchIDs(batch, seq)}
		var ws Workspace
		var out ModelOutput
		var want []float32
		if p != PrecisionF32 {
			if err := m.ForwardInto(&ws, &out, in); err != nil {
				b.Fatal(err)
			}
			want = append(want, out.MultimodalEmbeddings.Data...)
		}
		withPrecision(b, m, p)
		if err := m.ForwardInto(&ws, &out, in); err != nil {
			b.Fatal(err)
		}
		if want != nil {
			defer reportBF16Error(b, out.MultimodalEmbeddings.Data, want, m.Config.MultimodalConfig.HiddenSize)
		}
		b.ReportAllocs()
		cpu0 := cpuSeconds()
		b.ResetTimer()
		for b.Loop() {
			if err := m.ForwardInto(&ws, &out, in); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu0)
		b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "pairs/s")
		ic, tc, mc := m.Config.ImageConfig, m.Config.TextConfig, m.Config.MultimodalConfig
		imgSeq := ic.NumPatches() + 1
		flops := encoderFLOPs(imgSeq, ic.HiddenSize, ic.IntermediateSize, ic.NumHiddenLayers) +
			encoderFLOPs(seq, tc.HiddenSize, tc.IntermediateSize, tc.NumHiddenLayers) +
			2*float64((imgSeq*ic.HiddenSize+seq*tc.HiddenSize)*mc.HiddenSize) + // to-mm projections
			encoderFLOPs(imgSeq+seq+1, mc.HiddenSize, mc.IntermediateSize, mc.NumHiddenLayers)
		b.ReportMetric(flops*float64(batch*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// encoderFLOPs counts the multiply-adds (×2) of one sequence through a FLAVA
// encoder: Q, K, V and output projections, attention scores and context, and
// the two MLP matrices. 197 tokens of ViT-B/16 give 34.9 GFLOP (35.1 with
// the patch embedding, which is not counted).
func encoderFLOPs(seq, hidden, inter, layers int) float64 {
	s, h, i := float64(seq), float64(hidden), float64(inter)
	perLayer := 2*s*h*4*h + 2*2*s*s*h + 2*2*s*h*i
	return perLayer * float64(layers)
}

// reportCPU reports the process CPU seconds per op since cpu0 (see
// cpuSeconds); with the kernels pool busy on every core it is about threads
// × wall time, and less when other processes take the cores.
func reportCPU(b *testing.B, cpu0 float64) {
	if c := cpuSeconds(); c > 0 && b.N > 0 {
		b.ReportMetric((c-cpu0)/float64(b.N), "cpu-s/op")
	}
}
