package kernels

import (
	"fmt"
	"strings"
)

// gemmPath is one float32 SGEMM micro-kernel this CPU can run.
type gemmPath struct {
	name   string
	kern   microKernelFunc
	kern12 microKernelFunc // optional 12-row twin (gemmKernel12)
}

// gemmPaths lists the micro-kernels this CPU can run, narrowest first; the
// amd64 init adds "avx2" and "avx512" where the CPU has them.
var gemmPaths = []gemmPath{{name: "go", kern: kernelGo}}

// defaultGEMMPath is the rule for the float32 micro-kernel: "avx512" where
// the CPU has AVX-512 (F, VL, BW, DQ), "avx512-12x16" instead where a ZMM
// FMA measures at least 1.5× the flop rate of a YMM one (zmmFMAWide: two
// 512-bit FMA units), else "avx2" where it has AVX2 and FMA, else "go". All
// SIMD kernels compute each element with the same FMAs in the same order
// (bit-identical results, TestGemmPathsBitIdentical), so the rule is about
// speed only. Measured on AMD Zen 4 (256-bit FMA units: a ZMM FMA issues as
// two halves, and BenchmarkFMAPeak gives the same 113 GFLOP/s per core for
// YMM and ZMM), the 6×16 AVX-512 kernel ran 2–6 % more flops per CPU second
// than the AVX2 one at every FLAVA Linear shape (BenchmarkSgemmPaths,
// GFLOP/cpu-s; BENCHMARKS.kernels.md): half the instructions per k step
// (one load of B instead of two, the A broadcast folded into the FMA), and
// the 12×16 one 0–1.5 % fewer than the 6×16 one. On a core with two 512-bit
// FMA units (Intel Sapphire Rapids class: 4-cycle latency, two ports) eight
// independent FMAs must be in flight, which six accumulators cannot give
// (at most 6/8 of the ceiling) and twelve can: that is what "avx512-12x16"
// is for. No such CPU has run it yet; its results are the same bits as on
// the paths measured here. SetGEMMPath forces any path.
func defaultGEMMPath() gemmPath {
	best := gemmPaths[0]
	for _, p := range gemmPaths {
		switch {
		case p.name == "avx2" || p.name == "avx512":
			best = p // gemmPaths is ordered narrowest first
		case p.name == "avx512-12x16" && zmmWide:
			best = p
		}
	}
	return best
}

// zmmWide is zmmFMAWide's answer, measured once at init on CPUs with
// AVX-512.
var zmmWide bool

// GEMMPaths names the float32 SGEMM micro-kernels this CPU can run, narrowest
// first: "go" always, then "avx2", "avx512" and "avx512-12x16" where
// available.
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
		gemmKernel, gemmKernel12, gemmKernelName = p.kern, p.kern12, p.name
		return nil
	}
	for _, p := range gemmPaths {
		if p.name == name {
			gemmKernel, gemmKernel12, gemmKernelName = p.kern, p.kern12, p.name
			return nil
		}
	}
	return fmt.Errorf("kernels: GEMM path %q not available on this CPU (have %s)", name, strings.Join(GEMMPaths(), ", "))
}
