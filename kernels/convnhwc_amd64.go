//go:build amd64 && !purego

package kernels

import (
	"fmt"

	"golang.org/x/sys/cpu"
)

func init() {
	// Mirrors kernels_amd64.go's hasAVX2FMA (checked here again so this
	// file does not depend on the order of init functions).
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		convTiles = convTilesAVX2
		if hasAVX512 {
			convTiles = convTilesAVX512
		}
	}
}

// convTiles6x16AVX512 is convTiles6x16AVX2 on ZMM registers (one
// accumulator per pixel, the input value broadcast by the FMA itself):
// bit-identical results (TestConv2DNHWCAVX512BitIdenticalToAVX2), half the
// instructions per k step. Default where the CPU has AVX-512, by the same
// rule as the SGEMM micro-kernel (defaultGEMMPath); the speed it was chosen
// on is in BENCHMARKS.md (BenchmarkConv2DNHWCPaths, Zen 4).
//
//go:noescape
func convTiles6x16AVX512(in *float32, bases *int, ntiles int, segs *convSeg, nseg int, b, c *float32, ldc int, bias *[convNR]float32, load bool)

func convTilesAVX512(in []float32, a []int, segs []convSeg, k int, b, c []float32, ldc int, bias *[convNR]float32, load bool) {
	nt := len(a) / convMR
	if nt == 0 || len(a) != nt*convMR || len(segs) == 0 || len(b) < k*convNR || len(c) < (nt*convMR-1)*ldc+convNR {
		panic(fmt.Sprintf("kernels: convTiles a=%d segs=%d k=%d b=%d c=%d ldc=%d", len(a), len(segs), k, len(b), len(c), ldc))
	}
	convTiles6x16AVX512(&in[0], &a[0], nt, &segs[0], len(segs), &b[0], &c[0], ldc, bias, load)
}

// convTiles6x16AVX2 is Conv2DNHWC's micro-kernel, run over ntiles tiles of
// one weight panel: six output pixels × 16 output channels in twelve YMM
// accumulators; per k step two VMOVUPS of the packed panel and six
// VBROADCASTSS of input values, one from each pixel's pointer at the same
// offset, unrolled by four within each contiguous segment. Looping over the
// tiles in assembly (instead of one call per tile) took the per-tile Go
// overhead off the profile; the kernel itself runs at ~100 GFLOP/s on one
// Zen 3 core. See kernels/BENCHMARKS.kernels.md (BenchmarkConv2DNHWC).
//
//go:noescape
func convTiles6x16AVX2(in *float32, bases *int, ntiles int, segs *convSeg, nseg int, b, c *float32, ldc int, bias *[convNR]float32, load bool)

func convTilesAVX2(in []float32, a []int, segs []convSeg, k int, b, c []float32, ldc int, bias *[convNR]float32, load bool) {
	// The input reads were checked by the caller (convNHWCJob.unit); the
	// panel and the output tiles are checked here.
	nt := len(a) / convMR
	if nt == 0 || len(a) != nt*convMR || len(segs) == 0 || len(b) < k*convNR || len(c) < (nt*convMR-1)*ldc+convNR {
		panic(fmt.Sprintf("kernels: convTiles a=%d segs=%d k=%d b=%d c=%d ldc=%d", len(a), len(segs), k, len(b), len(c), ldc))
	}
	convTiles6x16AVX2(&in[0], &a[0], nt, &segs[0], len(segs), &b[0], &c[0], ldc, bias, load)
}
