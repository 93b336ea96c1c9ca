//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

func init() {
	// Mirrors kernels_amd64.go's hasAVX2FMA (checked here again so this
	// file does not depend on the order of init functions).
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		convKernel6x16 = convKernelAVX2
	}
}

// convKern6x16AVX2 is Conv2DNHWC's micro-kernel: six output pixels × 16
// output channels in twelve YMM accumulators; per k step two VMOVUPS of the
// packed weight panel and six VBROADCASTSS of input values, one from each
// pixel's row pointer at the same offset, unrolled by four within each
// contiguous segment. See kernels/BENCHMARKS.kernels.md (BenchmarkConv2DNHWC).
//
//go:noescape
func convKern6x16AVX2(a *[convMR]*float32, segs *convSeg, nseg int, b, c *float32, ldc int, bias *[convNR]float32, load bool)

func convKernelAVX2(in []float32, a *[convMR]int, segs []convSeg, b, c []float32, ldc int, bias *[convNR]float32, load bool) {
	// Bounds: the caller checked a[r] + every segment's end against in;
	// b holds the chunk's K·16 floats and c the 6×ldc tile (slice
	// expressions below panic otherwise).
	k := 0
	for _, s := range segs {
		k += s.n
	}
	_ = b[k*convNR-1]
	_ = c[(convMR-1)*ldc+convNR-1]
	ptrs := [convMR]*float32{&in[a[0]], &in[a[1]], &in[a[2]], &in[a[3]], &in[a[4]], &in[a[5]]}
	convKern6x16AVX2(&ptrs, &segs[0], len(segs), &b[0], &c[0], ldc, bias, load)
}
