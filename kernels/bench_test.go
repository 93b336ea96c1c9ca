package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchThreads runs fn as sub-benchmarks at 1 and 2 threads.
func benchThreads(b *testing.B, fn func(b *testing.B)) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			prev := SetThreads(th)
			defer SetThreads(prev)
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
}
