//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/cpu"
)

// hasAVX2FMA reports whether the assembly fast paths may run: AVX2 and FMA
// with OS support for the YMM state (x/sys/cpu checks XGETBV for HasAVX2).
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() {
	if hasAVX2FMA {
		gemmPaths = append(gemmPaths, gemmPath{name: "avx2", kern: kernelAVX2})
	}
	if hasAVX2FMA && hasAVX512 {
		gemmPaths = append(gemmPaths, gemmPath{name: "avx512", kern: kernelAVX512})
		gemmPaths = append(gemmPaths, gemmPath{name: "avx512-12x16", kern: kernelAVX512, kern12: kernel12AVX512})
		zmmWide = zmmFMAWide()
	}
	SetGEMMPath("")
}

// kern6x16AVX512 is kern6x16AVX2 on ZMM registers (one register per row of
// the tile, A broadcast from memory by the FMA itself): bit-identical
// results, 2–6 % more flops per CPU second on Zen 4 (BenchmarkSgemmPaths;
// the rule is defaultGEMMPath's).
//
//go:noescape
func kern6x16AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32, loadC bool)

func kernelAVX512(kc int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool) {
	if kc <= 0 || len(a) < kc*gemmMR || len(b) < kc*gemmNR || len(c) < (gemmMR-1)*ldc+gemmNR {
		panic(fmt.Sprintf("kernels: micro-kernel kc=%d a=%d b=%d c=%d ldc=%d", kc, len(a), len(b), len(c), ldc))
	}
	kern6x16AVX512(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, loadC)
}

// kern12x16AVX512 is two kern6x16AVX512 tiles stacked (two consecutive
// packed A panels, one B panel): twelve ZMM accumulators, one B load per
// twelve FMAs, bit-identical results (see defaultGEMMPath for the
// measurement).
//
//go:noescape
func kern12x16AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32, loadC bool)

func kernel12AVX512(kc int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool) {
	if kc <= 0 || len(a) < 2*kc*gemmMR || len(b) < kc*gemmNR || len(c) < (2*gemmMR-1)*ldc+gemmNR {
		panic(fmt.Sprintf("kernels: 12-row micro-kernel kc=%d a=%d b=%d c=%d ldc=%d", kc, len(a), len(b), len(c), ldc))
	}
	kern12x16AVX512(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, loadC)
}

// zmmFMAWide measures whether a ZMM FMA does twice the work of a YMM FMA per
// cycle on this core (two 512-bit FMA units, as on Intel Xeon Scalable
// CPUs), rather than issuing as two 256-bit halves (AMD Zen 4): the best of
// five short runs of each ceiling loop (fmaPeakAVX2, fmaPeakAVX512; 20000
// iterations, 30–90 µs each on Zen 4), a ZMM:YMM flop-rate ratio of 1.5 or
// more counting as wide. The two answers lie far apart (this Zen 4 gave 0.75
// by this procedure, 1.3 at most with the loops interleaved; the issue's
// Sapphire Rapids ceilings, 132 and 236 GFLOP/s, give 1.8), so a run disturbed
// by the scheduler is unlikely to flip a narrow CPU to wide, and either
// mistake only costs speed, never changes a result.
func zmmFMAWide() bool {
	const n = 20000
	best := func(f func(int)) time.Duration {
		d := time.Duration(math.MaxInt64)
		for range 5 {
			t0 := time.Now()
			f(n)
			d = min(d, time.Since(t0))
		}
		return max(d, 1)
	}
	ymm, zmm := best(fmaPeakAVX2), best(fmaPeakAVX512)
	// flops per second: 192n/ymm and 384n/zmm
	return 2*float64(ymm) >= 1.5*float64(zmm)
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

// geluAVX2 applies the exact GELU to n (a multiple of 8) values at x, eight at
// a time: erfc through an exactly split x² and a Cephes exp, accurate to
// 1e-6 relative of the float64 reference (TestGELUMatchesReference);
// BenchmarkGELU in kernels/BENCHMARKS.kernels.md has its speed against the
// math.Erf loop.
//
//go:noescape
func geluAVX2(x *float32, n int)

// biasGeluAVX2 is geluAVX2 of x[i]+bias[i], one pass (BenchmarkBiasGELU).
//
//go:noescape
func biasGeluAVX2(x, bias *float32, n int)

// expShiftSumAVX2 sets x[i] = exp(x[i]-shift) for n (a multiple of 8) values
// and returns their sum: the body of Softmax (BenchmarkSoftmax).
//
//go:noescape
func expShiftSumAVX2(x *float32, n int, shift float32) float32

// geluAVX512 and biasGeluAVX512 are geluAVX2 and biasGeluAVX2 sixteen
// values at a time on ZMM registers, bit-identical to them lane by lane
// (TestGELUAVX512BitIdenticalToAVX2). On Zen 4 (ZMM ops issued as two YMM
// halves) BenchmarkAddBiasGELUPaths ran them at 1.6× the AVX2 rate per CPU
// second: the one long dependency chain per vector covers twice the values,
// so the out-of-order window hides more of its latency.
//
//go:noescape
func geluAVX512(x *float32, n int)

//go:noescape
func biasGeluAVX512(x, bias *float32, n int)

// geluWide selects the AVX-512 GELU where the CPU has AVX-512; tests turn
// it off to check the AVX2 path on the same machine. Results are the same
// either way.
var geluWide = hasAVX2FMA && hasAVX512

func geluVec(x []float32) bool {
	if !hasAVX2FMA {
		return false
	}
	if geluWide {
		n := len(x) &^ 15
		if n > 0 {
			geluAVX512(&x[0], n)
		}
		if tail := x[n:]; len(tail) > 0 {
			var buf [16]float32
			copy(buf[:], tail)
			geluAVX512(&buf[0], 16)
			copy(tail, buf[:])
		}
		return true
	}
	n := len(x) &^ 7
	if n > 0 {
		geluAVX2(&x[0], n)
	}
	if tail := x[n:]; len(tail) > 0 {
		var buf [8]float32
		copy(buf[:], tail)
		geluAVX2(&buf[0], 8)
		copy(tail, buf[:])
	}
	return true
}

func biasGeluVec(x, bias []float32) bool {
	if !hasAVX2FMA {
		return false
	}
	bias = bias[:len(x)]
	if geluWide {
		n := len(x) &^ 15
		if n > 0 {
			biasGeluAVX512(&x[0], &bias[0], n)
		}
		if tail := x[n:]; len(tail) > 0 {
			var buf, bb [16]float32
			copy(buf[:], tail)
			copy(bb[:], bias[n:])
			biasGeluAVX512(&buf[0], &bb[0], 16)
			copy(tail, buf[:])
		}
		return true
	}
	n := len(x) &^ 7
	if n > 0 {
		biasGeluAVX2(&x[0], &bias[0], n)
	}
	if tail := x[n:]; len(tail) > 0 {
		var buf, bb [8]float32
		copy(buf[:], tail)
		copy(bb[:], bias[n:])
		biasGeluAVX2(&buf[0], &bb[0], 8)
		copy(tail, buf[:])
	}
	return true
}

// expShiftSum sets x[i] = exp(x[i]-shift) and returns their float32 sum.
func expShiftSum(x []float32, shift float32) float32 {
	if !hasAVX2FMA {
		return expShiftSumGo(x, shift)
	}
	n := len(x) &^ 7
	var sum float32
	if n > 0 {
		sum = expShiftSumAVX2(&x[0], n, shift)
	}
	if tail := x[n:]; len(tail) > 0 {
		var buf [8]float32
		for i := range buf {
			buf[i] = -inf32
		}
		copy(buf[:], tail)
		sum += expShiftSumAVX2(&buf[0], 8, shift)
		copy(tail, buf[:])
	}
	return sum
}

// packBT16AVX2 transposes 8×8 blocks in YMM registers to pack a full
// 16-column panel of B from PyTorch's out×in weight layout; it replaced a
// scalar gather that took 16 % of Sgemm 197×768×3072 (see
// BENCHMARKS.kernels.md).
//
//go:noescape
func packBT16AVX2(dst, src *float32, ldb, kb8 int)

// packBT16 packs dst[p·16+j] = src[j·ldb+p] for p < kb8 (kb8 a multiple of 8)
// and reports whether it could.
func packBT16(dst, src []float32, ldb, kb8 int) bool {
	if !hasAVX2FMA || kb8 == 0 {
		return false
	}
	if len(dst) < kb8*gemmNR || len(src) < (gemmNR-1)*ldb+kb8 {
		panic(fmt.Sprintf("kernels: packBT16 dst=%d src=%d ldb=%d kb=%d", len(dst), len(src), ldb, kb8))
	}
	packBT16AVX2(&dst[0], &src[0], ldb, kb8)
	return true
}

// packA6AVX2 packs a full six-row panel of A (row-major, not transposed)
// with register transposes instead of a scalar six-way gather; it took 16 %
// of Attention's time (packing P for P·V) before.
//
//go:noescape
func packA6AVX2(dst, src *float32, lda, kb8 int)

// packA6 packs dst[p·6+r] = src[r·lda+p] for p < kb8 (a multiple of 8) and
// reports whether it could. dst needs two floats of slack past kb8·6.
func packA6(dst, src []float32, lda, kb8 int) bool {
	if !hasAVX2FMA || kb8 == 0 {
		return false
	}
	if len(dst) < kb8*gemmMR+2 || len(src) < (gemmMR-1)*lda+kb8 {
		panic(fmt.Sprintf("kernels: packA6 dst=%d src=%d lda=%d kb=%d", len(dst), len(src), lda, kb8))
	}
	packA6AVX2(&dst[0], &src[0], lda, kb8)
	return true
}

// maxAVX2 returns the largest of n (a positive multiple of 8) values,
// skipping NaNs; scaleAVX2 multiplies n values by s. Softmax's other two
// passes (BenchmarkSoftmax).
//
//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

// maxSkipNaN returns max(x) ignoring NaNs (-Inf for an empty or all-NaN x).
func maxSkipNaN(x []float32) float32 {
	if !hasAVX2FMA {
		return maxSkipNaNGo(x)
	}
	n := len(x) &^ 7
	m := float32(math.Inf(-1))
	if n > 0 {
		m = maxAVX2(&x[0], n)
	}
	for _, v := range x[n:] {
		if v > m {
			m = v
		}
	}
	return m
}

// scale multiplies x by s.
func scale(x []float32, s float32) {
	if !hasAVX2FMA {
		scaleGo(x, s)
		return
	}
	n := len(x) &^ 7
	if n > 0 {
		scaleAVX2(&x[0], n, s)
	}
	for i := n; i < len(x); i++ {
		x[i] *= s
	}
}

// addAVX2 is the body of Add and AddBias, eight lanes at a time.
//
//go:noescape
func addAVX2(dst, a, b *float32, n int)

// addVec sets dst = a + b (equal lengths, checked by the caller).
func addVec(dst, a, b []float32) {
	n := len(dst) &^ 7
	if hasAVX2FMA && n > 0 {
		addAVX2(&dst[0], &a[0], &b[0], n)
	} else {
		n = 0
	}
	addGo(dst[n:], a[n:len(dst)], b[n:len(dst)])
}

// lnStatsAVX2 and lnApplyAVX2 are LayerNorm's two passes: float64 shifted
// sums (so the statistics keep the reference's float64 accuracy) and the
// float32 normalise-scale-shift (BenchmarkLayerNorm).
//
//go:noescape
func lnStatsAVX2(x *float32, n int, shift float64) (s, q float64)

//go:noescape
func lnApplyAVX2(out, x, gamma, beta *float32, n int, mean, inv float32)

func layerNormStats(in []float32, shift float64) (s, q float64) {
	n := len(in) &^ 7
	if !hasAVX2FMA {
		n = 0
	}
	if n > 0 {
		s, q = lnStatsAVX2(&in[0], n, shift)
	}
	for _, v := range in[n:] {
		d := float64(v) - shift
		s += d
		q += d * d
	}
	return s, q
}

func layerNormApply(out, in, gamma, beta []float32, mean, inv float32) {
	n := len(in) &^ 7
	if !hasAVX2FMA {
		n = 0
	}
	if n > 0 {
		lnApplyAVX2(&out[0], &in[0], &gamma[0], &beta[0], n, mean, inv)
	}
	layerNormApplyGo(out[n:], in[n:], gamma[n:], beta[n:], mean, inv)
}

// reluAVX2 is ReLU eight lanes at a time (the codebook's many activations).
//
//go:noescape
func reluAVX2(x *float32, n int)

func reluVec(x []float32) {
	n := len(x) &^ 7
	if hasAVX2FMA && n > 0 {
		reluAVX2(&x[0], n)
	} else {
		n = 0
	}
	reluGo(x[n:])
}
