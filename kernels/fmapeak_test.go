package kernels

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkFMAPeak is the ceiling of each ISA this CPU has, on 1 and 2
// goroutines, with no loads: 8-wide FMAs (avx2), 16-wide FMAs (avx512), and
// VDPBF16PS on YMM and ZMM (bf16-ymm, bf16-zmm; four flops per bf16 pair),
// and AMX TDPBF16PS on 16×16 tiles (amx-bf16; Linux, after asking the
// kernel for the tile state; written from the ISA manual and never run: no
// machine this project ran on has AMX). The SGEMM and encoder GFLOP/s
// figures are read against the ceiling of the path they ran.
func BenchmarkFMAPeak(b *testing.B) {
	ran := false
	for _, isa := range []string{"avx2", "avx512", "bf16-ymm", "bf16-zmm", "amx-bf16"} {
		if fmaPeakISA(isa, 1) == 0 {
			continue
		}
		ran = true
		for _, g := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", isa, g), func(b *testing.B) {
				const n = 10_000_000
				var flops float64
				cpu0 := cpuSeconds()
				for b.Loop() {
					var wg sync.WaitGroup
					per := make([]float64, g)
					for i := range g {
						wg.Go(func() { per[i] = fmaPeakISA(isa, n) })
					}
					wg.Wait()
					for _, f := range per {
						flops += f
					}
				}
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				reportCPUFlops(b, cpu0, flops)
			})
		}
	}
	if !ran {
		b.Skip("no SIMD assembly in this build")
	}
}

// reportCPUFlops reports flops per CPU second of the process since cpu0
// ("GFLOP/cpu-s"): per core, the rate the work ran at while it had a core,
// which is what a loaded, shared machine still lets one compare.
func reportCPUFlops(b *testing.B, cpu0, flops float64) {
	if c := cpuSeconds() - cpu0; c > 0 {
		b.ReportMetric(flops/c/1e9, "GFLOP/cpu-s")
	}
}
