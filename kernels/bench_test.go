package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchThreads runs fn as sub-benchmarks at 1 and 2 threads.
func benchThreads(b *testing.B, fn func(b *testing.B)) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			prev := SetThreads(th)
			defer SetThreads(prev)
			b.ResetTimer()
			fn(b)
		})
	}
}

// BenchmarkSgemm measures the Linear layout (C = X·Wᵀ, transB) at the ViT-B
// shapes: one image's QKV/out projection (197×768×768), one image's MLP
// (197×768×3072) and a batch of eight (1576×768×3072).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range [][3]int{{197, 768, 768}, {197, 3072, 768}, {1576, 3072, 768}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x, w, c := randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n)
			benchThreads(b, func(b *testing.B) {
				b.ReportAllocs()
				Sgemm(false, true, m, n, k, 1, x, k, w, k, 0, c, n)
				b.ResetTimer()
				for range b.N {
					Sgemm(false, true, m, n, k, 1, x, k, w, k, 0, c, n)
				}
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
	// Same-run baselines at the MLP shape: the portable micro-kernel (what
	// -tags purego and non-amd64 builds run) and the reference triple loop.
	m, n, k := 197, 3072, 768
	r := rand.New(rand.NewPCG(1, 1))
	x, w, c := randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n)
	b.Run("197x768x3072/gokernel/threads=1", func(b *testing.B) {
		withKernel(b, gemmPath{name: "go", kern: kernelGo})
		prev := SetThreads(1)
		defer SetThreads(prev)
		b.ResetTimer()
		for range b.N {
			Sgemm(false, true, m, n, k, 1, x, k, w, k, 0, c, n)
		}
		b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("197x768x3072/reference/threads=1", func(b *testing.B) {
		for range b.N {
			sgemmRef(false, true, 0, m, n, k, 1, x, k, w, k, 0, c, n)
		}
		b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkGELU compares the vectorised GELU with the float64 reference on one
// image's MLP activations (197×3072).
func BenchmarkGELU(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	src := randSlice(r, 197*3072)
	x := make([]float32, len(src))
	for _, impl := range []struct {
		name string
		fn   func([]float32)
	}{{"fast", GELU}, {"reference", geluRef}} {
		b.Run(impl.name, func(b *testing.B) {
			benchThreads(b, func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					copy(x, src)
					impl.fn(x)
				}
				b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvalues/s")
			})
		})
	}
}

func BenchmarkAddBiasGELU(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 3))
	src, bias := randSlice(r, 197*3072), randSlice(r, 3072)
	x := make([]float32, len(src))
	benchThreads(b, func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			copy(x, src)
			AddBiasGELU(x, 197, 3072, bias)
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mvalues/s")
	})
}

// BenchmarkLayerNorm normalises one image's tokens (197×768).
func BenchmarkLayerNorm(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 4))
	x, g, be := randSlice(r, 197*768), randSlice(r, 768), randSlice(r, 768)
	dst := make([]float32, len(x))
	benchThreads(b, func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			LayerNorm(dst, x, 197, 768, g, be, 1e-12)
		}
		b.ReportMetric(197*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
}

// BenchmarkSoftmax runs the attention softmax of one image (12 heads × 197
// rows of 197 scores), fast against the float64-exp reference.
func BenchmarkSoftmax(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 5))
	const rows, cols = 12 * 197, 197
	src := randSlice(r, rows*cols)
	x := make([]float32, len(src))
	b.Run("fast", func(b *testing.B) {
		benchThreads(b, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				copy(x, src)
				Softmax(x, rows, cols)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			copy(x, src)
			for i := 0; i < rows; i++ {
				softmaxRowRef(x[i*cols : (i+1)*cols])
			}
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkAttention is one ViT-B self-attention (197 tokens, 12 heads of 64),
// against the reference loop.
func BenchmarkAttention(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 6))
	const seq, heads, hd = 197, 12, 64
	q, k, v := randSlice(r, seq*heads*hd), randSlice(r, seq*heads*hd), randSlice(r, seq*heads*hd)
	dst := make([]float32, len(q))
	flops := 4 * float64(seq) * seq * hd * heads
	b.Run("fast", func(b *testing.B) {
		benchThreads(b, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				Attention(dst, q, k, v, 1, seq, seq, heads, hd, nil, 0.125)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			attentionRef(dst, q, k, v, 1, seq, seq, heads, hd, nil, 0.125)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkConv2D runs the ViT patch embedding (3→768, 16×16 stride 16 over
// 224×224) and FlavaImageCodebook's convolutions at 112×112: the input conv
// (3→256, 7×7 pad 3), a first-group 3×3 (64→64, pad 1) and a 1×1 (64→256).
func BenchmarkConv2D(b *testing.B) {
	for _, c := range []struct {
		name string
		p    Conv2DParams
	}{
		{"patch16_224", Conv2DParams{Batch: 1, InC: 3, InH: 224, InW: 224, OutC: 768, KH: 16, KW: 16, StrideH: 16, StrideW: 16}},
		{"codebook_input7x7_3to256_112", Conv2DParams{Batch: 1, InC: 3, InH: 112, InW: 112, OutC: 256, KH: 7, KW: 7, PadH: 3, PadW: 3}},
		{"codebook_3x3_64to64_112", Conv2DParams{Batch: 1, InC: 64, InH: 112, InW: 112, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1}},
		{"codebook_1x1_64to256_112", Conv2DParams{Batch: 1, InC: 64, InH: 112, InW: 112, OutC: 256, KH: 1, KW: 1}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, 7))
			p := c.p
			src := randSlice(r, p.Batch*p.InC*p.InH*p.InW)
			w, bias := randSlice(r, p.OutC*p.InC*p.KH*p.KW), randSlice(r, p.OutC)
			dst := make([]float32, p.Batch*p.OutC*p.OutH()*p.OutW())
			flops := 2 * float64(p.OutC*p.InC*p.KH*p.KW) * float64(p.OutH()*p.OutW()*p.Batch)
			benchThreads(b, func(b *testing.B) {
				b.ReportAllocs()
				Conv2D(dst, src, p, w, bias)
				b.ResetTimer()
				for range b.N {
					Conv2D(dst, src, p, w, bias)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(p.Batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		})
	}
}

// BenchmarkMaxPool2D is the codebook's 2×2 pool after the first group
// (256 planes of 112×112).
func BenchmarkMaxPool2D(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 8))
	src := randSlice(r, 256*112*112)
	dst := make([]float32, 256*56*56)
	benchThreads(b, func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			MaxPool2D(dst, src, 256, 112, 112, 2, 2)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
}

// BenchmarkSgemmPacked compares Sgemm with the weight packed on every call
// (unpacked) and SgemmPacked with the weight packed once, in the same run, at
// the FLAVA Linear shapes written M×K×N: the text encoder's 8×16 tokens
// (128×768×768), one image's attention projections (197×768×768), one
// image's MLP (197×768×3072) and eight images' MLP (1576×768×3072). The
// linear+bias variant adds kernels' separate AddBias pass to the packed
// product, to show what folding the bias into the GEMM could save.
func BenchmarkSgemmPacked(b *testing.B) {
	for _, s := range [][3]int{{128, 768, 768}, {197, 768, 768}, {197, 768, 3072}, {1576, 768, 3072}} {
		m, k, n := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(1, 1))
		x, w, c, bias := randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n), randSlice(r, n)
		pw := PackWeights(w, n, k)
		gflops := func(b *testing.B) {
			b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		for _, v := range []struct {
			name string
			fn   func()
		}{
			{"unpacked", func() { Sgemm(false, true, m, n, k, 1, x, k, w, k, 0, c, n) }},
			{"packed", func() { SgemmPacked(m, 1, x, k, pw, 0, c, n) }},
			{"packed+bias", func() { LinearPacked(c, x, m, pw, bias) }},
		} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, k, n, v.name), func(b *testing.B) {
				benchThreads(b, func(b *testing.B) {
					b.ReportAllocs()
					v.fn()
					b.ResetTimer()
					for range b.N {
						v.fn()
					}
					gflops(b)
				})
			})
		}
	}
}

// BenchmarkPoolSpin times a batch-1 ViT Linear (197×768×768, packed) on one
// and two threads with the pool's spin window off and at its default: the
// measurement behind defaultSpin (run it with GOMAXPROCS=2 or more).
func BenchmarkPoolSpin(b *testing.B) {
	const m, k, n = 197, 768, 768
	r := rand.New(rand.NewPCG(1, 1))
	x, c := randSlice(r, m*k), make([]float32, m*n)
	pw := PackWeights(randSlice(r, n*k), n, k)
	for _, th := range []int{1, 2} {
		for _, spin := range []time.Duration{0, defaultSpin} {
			b.Run(fmt.Sprintf("threads=%d/spin=%v", th, spin), func(b *testing.B) {
				defer SetThreads(SetThreads(th))
				defer SetSpin(SetSpin(spin))
				SgemmPacked(m, 1, x, k, pw, 0, c, n)
				b.ResetTimer()
				for range b.N {
					SgemmPacked(m, 1, x, k, pw, 0, c, n)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/call")
			})
		}
	}
}
