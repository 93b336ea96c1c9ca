package kernels

import (
	"fmt"
	"strings"
)

// gemmPath is one float32 SGEMM micro-kernel this CPU can run.
type gemmPath struct {
	name string
	kern microKernelFunc
}

// gemmPaths lists the micro-kernels this CPU can run, narrowest first; the
// amd64 init adds "avx2" and "avx512" where the CPU has them.
var gemmPaths = []gemmPath{{"go", kernelGo}}

// defaultGEMMPath is the rule for the float32 micro-kernel: "avx512" where
// the CPU has AVX-512 (F, VL, BW, DQ), else "avx2" where it has AVX2 and
// FMA, else "go". The two SIMD kernels compute the same tile with the same
// FMAs in the same order (bit-identical results, TestGemmPathsBitIdentical),
// so the rule is about speed only. Measured on AMD Zen 4 (256-bit FMA units:
// a ZMM FMA issues as two halves, and BenchmarkFMAPeak gives the same
// 113 GFLOP/s per core for YMM and ZMM), the AVX-512 kernel still ran 2–6 %
// more flops per CPU second than the AVX2 one at every FLAVA Linear shape
// (BenchmarkSgemmPaths, GFLOP/cpu-s; BENCHMARKS.kernels.md): half the
// instructions per k step (one load of B instead of two, the A broadcast
// folded into the FMA). On CPUs with two 512-bit FMA units (Intel Sapphire
// Rapids class) it should gain far more, but none has run it yet.
// SetGEMMPath("avx2") turns it off.
func defaultGEMMPath() gemmPath {
	best := gemmPaths[0]
	for _, p := range gemmPaths {
		if p.name == "avx2" || p.name == "avx512" {
			best = p // gemmPaths is ordered narrowest first
		}
	}
	return best
}

// GEMMPaths names the float32 SGEMM micro-kernels this CPU can run, narrowest
// first: "go" always, then "avx2" and "avx512" where available.
func GEMMPaths() []string {
	names := make([]string, len(gemmPaths))
	for i, p := range gemmPaths {
		names[i] = p.name
	}
	return names
}

// gemmKernelName names gemmKernel when set through init or SetGEMMPath.
var gemmKernelName = "go"

// GEMMPath names the float32 SGEMM micro-kernel in use.
func GEMMPath() string { return gemmKernelName }

// SetGEMMPath selects the float32 SGEMM micro-kernel by name (one of
// GEMMPaths(); "" restores the default rule, see defaultGEMMPath) and
// returns an error naming the available ones otherwise. Call it before any
// product runs (it is not synchronised with running products): it is meant
// for benchmarks, tests and trying "avx512" on CPUs with two 512-bit FMA
// units.
func SetGEMMPath(name string) error {
	if name == "" {
		p := defaultGEMMPath()
		gemmKernel, gemmKernelName = p.kern, p.name
		return nil
	}
	for _, p := range gemmPaths {
		if p.name == name {
			gemmKernel, gemmKernelName = p.kern, p.name
			return nil
		}
	}
	return fmt.Errorf("kernels: GEMM path %q not available on this CPU (have %s)", name, strings.Join(GEMMPaths(), ", "))
}
