//go:build amd64 && !purego

package kernels

import (
	"fmt"

	"golang.org/x/sys/cpu"
)

// hasAVX2FMA reports whether the assembly fast paths may run: AVX2 and FMA
// with OS support for the YMM state (x/sys/cpu checks XGETBV for HasAVX2).
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() {
	if hasAVX2FMA {
		gemmKernel = kernelAVX2
	}
}

// kern6x16AVX2 is the 6×16 SGEMM micro-kernel: twelve YMM accumulators,
// VBROADCASTSS of packed A, two VMOVUPS of packed B and twelve VFMADD231PS
// per k step, unrolled by four. See kernels/BENCHMARKS.kernels.md
// (BenchmarkSgemm) for the measurements that justified it.
//
//go:noescape
func kern6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32, loadC bool)

func kernelAVX2(kc int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool) {
	if kc <= 0 || len(a) < kc*gemmMR || len(b) < kc*gemmNR || len(c) < (gemmMR-1)*ldc+gemmNR {
		panic(fmt.Sprintf("kernels: micro-kernel kc=%d a=%d b=%d c=%d ldc=%d", kc, len(a), len(b), len(c), ldc))
	}
	kern6x16AVX2(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, loadC)
}
