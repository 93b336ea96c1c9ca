package kernels

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkFMAPeak is the ceiling: 8-wide FMAs with no loads, on 1 and 2
// goroutines. The SGEMM and encoder GFLOP/s figures are read against it.
func BenchmarkFMAPeak(b *testing.B) {
	if fmaPeak(1) == 0 {
		b.Skip("no AVX2+FMA assembly in this build")
	}
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			const n = 10_000_000
			var flops float64
			for b.Loop() {
				var wg sync.WaitGroup
				for range g {
					wg.Go(func() { fmaPeak(n) })
				}
				wg.Wait()
				flops += float64(g) * n * 192
			}
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
