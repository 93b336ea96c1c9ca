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

// defaultGEMMPath is the measured rule for the float32 micro-kernel: the
// AVX2 kernel wherever the CPU has AVX2 and FMA, AVX-512 or not. The AVX-512
// kernel computes the same tile with half the instructions, but on AMD Zen 4
// (256-bit FMA units, a ZMM FMA issued as two halves) it was no faster in
// BenchmarkSgemmPaths (see BENCHMARKS.kernels.md), and no CPU with two
// 512-bit FMA units (Intel Sapphire Rapids class, where it should be) has
// run it yet; until one has, it is opt-in (SetGEMMPath("avx512")). The
// results are bit-identical on every path but "go", so the choice never
// changes outputs there.
func defaultGEMMPath() gemmPath {
	for _, p := range gemmPaths {
		if p.name == "avx2" {
			return p
		}
	}
	return gemmPaths[0]
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
