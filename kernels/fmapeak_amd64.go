//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// fmaPeakAVX2 runs n iterations of 12 independent 8-wide FMAs (192 flops),
// touching no memory: BenchmarkFMAPeak measures with it the ceiling the
// micro-kernels are judged against.
//
//go:noescape
func fmaPeakAVX2(n int)

// fmaPeakAVX512 is fmaPeakAVX2 with 16-wide ZMM FMAs (384 flops per
// iteration).
//
//go:noescape
func fmaPeakAVX512(n int)

// fmaPeakBF16Z and fmaPeakBF16Y run n iterations of 12 independent
// VDPBF16PS on ZMM (768 flops) and YMM (384 flops) registers, counting each
// bf16 pair product-sum as four flops (two multiplies, two adds).
//
//go:noescape
func fmaPeakBF16Z(n int)

//go:noescape
func fmaPeakBF16Y(n int)

// hasAVX512 is AVX-512 F, VL, BW and DQ with OS support for the ZMM state
// (x/sys/cpu checks XGETBV before setting these).
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ

// hasAVX512BF16 is hasAVX512 plus AVX512_BF16 (VDPBF16PS, VCVTNE2PS2BF16).
var hasAVX512BF16 = hasAVX512 && cpu.X86.HasAVX512BF16

// fmaPeakISA runs the ceiling loop of one ISA and reports the flops done (0
// when this CPU cannot run it): "avx2" (YMM FMA), "avx512" (ZMM FMA),
// "bf16-ymm" and "bf16-zmm" (VDPBF16PS).
func fmaPeakISA(isa string, n int) float64 {
	switch {
	case isa == "avx2" && hasAVX2FMA:
		fmaPeakAVX2(n)
		return float64(n) * 192
	case isa == "avx512" && hasAVX512:
		fmaPeakAVX512(n)
		return float64(n) * 384
	case isa == "bf16-ymm" && hasAVX512BF16:
		fmaPeakBF16Y(n)
		return float64(n) * 384
	case isa == "bf16-zmm" && hasAVX512BF16:
		fmaPeakBF16Z(n)
		return float64(n) * 768
	}
	return 0
}

// fmaPeak runs the AVX2 ceiling loop (see fmaPeakISA).
func fmaPeak(n int) float64 { return fmaPeakISA("avx2", n) }
