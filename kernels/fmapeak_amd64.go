//go:build amd64 && !purego

package kernels

// fmaPeakAVX2 runs n iterations of 12 independent 8-wide FMAs (192 flops),
// touching no memory: BenchmarkFMAPeak measures with it the ceiling the
// micro-kernels are judged against.
//
//go:noescape
func fmaPeakAVX2(n int)

// fmaPeak runs fmaPeakAVX2 when the CPU has AVX2 and FMA and reports the
// flops done (0 when it cannot run).
func fmaPeak(n int) float64 {
	if !hasAVX2FMA {
		return 0
	}
	fmaPeakAVX2(n)
	return float64(n) * 192
}
