package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bf16Kernels lists the bf16 micro-kernels this CPU can run: the Go twin
// always, the active one when it differs.
func bf16Kernels() map[string]bf16KernelFunc {
	ks := map[string]bf16KernelFunc{"go": bf16KernelGo}
	if bf16Native {
		ks["native"] = bf16Kernel
	}
	return ks
}

// withBF16Kernel runs the VDPBF16PS loop nest with micro-kernel k (the AMX
// loop nest off, whatever FLAVABEAM_BF16_PATH chose) until the test ends.
func withBF16Kernel(t testing.TB, k bf16KernelFunc) {
	old, oldAMX := bf16Kernel, bf16UseAMX
	bf16Kernel, bf16UseAMX = k, false
	t.Cleanup(func() { bf16Kernel, bf16UseAMX = old, oldAMX })
}

// TestBF16FromFloat32 checks the rounding against hand-worked cases: ties to
// even both ways, carry into the exponent, overflow to Inf, denormals to
// zero, NaN kept.
func TestBF16FromFloat32(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80},                       // 1
		{0x3f808000, 0x3f80},                       // tie, even below
		{0x3f818000, 0x3f82},                       // tie, odd below: up
		{0x3f808001, 0x3f81},                       // just above the tie
		{0x3f807fff, 0x3f80},                       // just below
		{0x3fffffff, 0x4000},                       // carry into the exponent
		{0x7f7fffff, 0x7f80},                       // max float rounds to +Inf
		{0xff7fffff, 0xff80},                       // and -max to -Inf
		{0x7f800000, 0x7f80}, {0xff800000, 0xff80}, // ±Inf
		{0x00000000, 0x0000}, {0x80000000, 0x8000}, // ±0
		{0x007fffff, 0x0000}, {0x807fffff, 0x8000}, // denormals: zero
		{0x00800000, 0x0080},                       // smallest normal
		{0x7fc00000, 0x7fc0}, {0x7f800001, 0x7fc0}, // NaNs stay NaN (quiet)
		{0xc0490fdb, 0xc049}, // -π
	} {
		if got := BF16FromFloat32(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("BF16FromFloat32(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

// TestConvertBF16MatchesGo checks the conversion in use (VCVTNE2PS2BF16 on
// AVX512_BF16 CPUs) against BF16FromFloat32 bit for bit on every length up
// to 100 (the vector body and the Go tail) and on special values.
func TestConvertBF16MatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	special := []uint32{0, 0x80000000, 0x00000001, 0x807fffff, 0x00800000, 0x7f800000, 0xff800000,
		0x7fc00000, 0xffc00001, 0x7f800001, 0x3f808000, 0x3f818000, 0x7f7fffff, 0xff7fffff, 0x3fffffff}
	for n := 0; n <= 100; n++ {
		src := make([]float32, n)
		for i := range src {
			switch r.IntN(4) {
			case 0:
				src[i] = math.Float32frombits(special[r.IntN(len(special))])
			case 1:
				src[i] = math.Float32frombits(r.Uint32())
			default:
				src[i] = float32(r.NormFloat64() * math.Exp(r.NormFloat64()*5))
			}
		}
		got := make([]uint16, n+1)
		got[n] = 0xbeef
		ConvertBF16(got, src)
		if got[n] != 0xbeef {
			t.Fatalf("n=%d: wrote past the end", n)
		}
		for i, v := range src {
			if want := BF16FromFloat32(v); got[i] != want {
				t.Fatalf("n=%d [%d] %#08x: got %#04x, want %#04x", n, i, math.Float32bits(v), got[i], want)
			}
		}
	}
}

// sgemmBF16Ref is the definition SgemmPackedBF16 must meet bit for bit:
// C[i][j] = acc with acc starting at beta·C (0 when beta is 0) and taking,
// for every pair q of the input dimension in order, the odd product then the
// even one, each add rounded to float32 (denormals flushed).
func sgemmBF16Ref(m, n, k int, a []float32, lda int, w []float32, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc float32
			if beta != 0 {
				acc = c[i*ldc+j]
				if beta != 1 {
					acc *= beta
				}
			}
			for p := 0; p < k; p += 2 {
				a0, b0 := bf16In(BF16FromFloat32(a[i*lda+p])), bf16In(BF16FromFloat32(w[j*k+p]))
				if p+1 < k {
					a1, b1 := bf16In(BF16FromFloat32(a[i*lda+p+1])), bf16In(BF16FromFloat32(w[j*k+p+1]))
					acc = ftz(acc + a1*b1)
				} else {
					acc = ftz(acc + 0)
				}
				acc = ftz(acc + a0*b0)
			}
			c[i*ldc+j] = acc
		}
	}
}

// TestSgemmPackedBF16MatchesReference checks SgemmPackedBF16, with the Go
// twin and the native micro-kernel, on 1 and 2 threads, against
// sgemmBF16Ref bit for bit, guard bands included, on odd sizes: m not a
// multiple of 12, n not a multiple of 32, odd k, k across bf16KC slices (k =
// 1701 spans three), n
// across bf16NC blocks, lda and ldc wider than the matrices.
func TestSgemmPackedBF16MatchesReference(t *testing.T) {
	dims := [][3]int{
		{1, 1, 1}, {5, 15, 7}, {12, 32, 2}, {13, 33, 257}, {7, 17, 255},
		{24, 64, 512}, {197, 65, 63}, {241, 47, 300}, {3, 1540, 40}, {65, 31, 0},
		{0, 20, 10}, {9, 0, 10}, {130, 1600, 270}, {13, 40, 1701}, {25, 33, 768},
	}
	betas := []float32{0, 1, -0.25}
	for name, kern := range bf16Kernels() {
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", name, th), func(t *testing.T) {
				withBF16Kernel(t, kern)
				prev := SetThreads(th)
				defer SetThreads(prev)
				r := rand.New(rand.NewPCG(21, uint64(th)))
				for _, d := range dims {
					m, n, k := d[0], d[1], d[2]
					lda, ldc := k+3, n+5
					a := randSlice(r, max(0, (m-1)*lda+k))
					w := randSlice(r, n*k)
					pw := PackWeightsBF16(w, n, k)
					for _, beta := range betas {
						buf, win := guarded(r, m, n, ldc, beta != 0)
						ref := append([]float32(nil), buf...)
						const guard = 9
						sgemmBF16Ref(m, n, k, a, lda, w, beta, ref[guard:], ldc)
						SgemmPackedBF16(m, a, lda, pw, beta, win, ldc)
						if i := sameBits(buf, ref); i >= 0 {
							t.Fatalf("m=%d n=%d k=%d beta=%v: first difference at %d: %v, want %v", m, n, k, beta, i, buf[i], ref[i])
						}
					}
				}
			})
		}
	}
}

// TestSgemmPackedBF16Accuracy bounds the bf16 product against the float64
// product of the unrounded inputs. Rounding to 8 significant bits leaves a
// relative error uniform in ±2⁻⁸ (σ ≈ 0.0023) on each input, ≈ 0.0032 on
// each product of two N(0,1) values, so a k-term dot product is off by
// σ ≈ 0.0032·√k; the worst of 2100 outputs is near 3.5σ (0.011·√k). The
// bound checked is 6σ, 0.02·√k. (This bounds the arithmetic; the bit-exact
// contract is TestSgemmPackedBF16MatchesReference.)
func TestSgemmPackedBF16Accuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 30, 70, 768
	a, w := randSlice(r, m*k), randSlice(r, n*k)
	c := make([]float32, m*n)
	SgemmPackedBF16(m, a, k, PackWeightsBF16(w, n, k), 0, c, n)
	var worst float64
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*k+p]) * float64(w[j*k+p])
			}
			worst = max(worst, math.Abs(float64(c[i*n+j])-s)/math.Sqrt(float64(k)))
		}
	}
	if worst > 0.02 {
		t.Fatalf("worst error %.4g·√k, want < 0.02·√k", worst)
	}
	t.Logf("worst |bf16 - f64| = %.3g·√k", worst)
}

// TestSgemmPackedBF16NoAllocs checks the steady state allocates nothing.
func TestSgemmPackedBF16NoAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m, n, k := 197, 768, 768
	a, c := randSlice(r, m*k), make([]float32, m*n)
	pw := PackWeightsBF16(randSlice(r, n*k), n, k)
	SgemmPackedBF16(m, a, k, pw, 0, c, n)
	if got := testing.AllocsPerRun(5, func() { SgemmPackedBF16(m, a, k, pw, 0, c, n) }); got != 0 {
		t.Fatalf("%v allocations per call, want 0", got)
	}
}

// BenchmarkSgemmBF16 runs SgemmPackedBF16 next to SgemmPacked (float32) at
// the FLAVA Linear shapes (M×K×N as in BenchmarkSgemmPacked, plus the MLP
// output layer, K = 3072), with the native micro-kernel, on AMX machines the
// "amx" path (TDPBF16PS tiles, SetBF16Path("amx")), and, at the smallest
// shape, the Go emulation.
func BenchmarkSgemmBF16(b *testing.B) {
	haveAMX := slices.Contains(BF16Paths(), "amx")
	type run struct {
		name string
		kern bf16KernelFunc // the VDPBF16PS loop nest with this kernel
		path string         // or this SetBF16Path path
		fn   func()
	}
	for _, s := range [][3]int{{128, 768, 768}, {197, 768, 768}, {197, 768, 3072}, {1576, 768, 3072}, {197, 3072, 768}, {1576, 3072, 768}} {
		m, k, n := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(1, 1))
		x, w, c := randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n)
		pw, pb := PackWeights(w, n, k), PackWeightsBF16(w, n, k)
		bf16 := func() { SgemmPackedBF16(m, x, k, pb, 0, c, n) }
		runs := []run{
			{name: "f32", fn: func() { SgemmPacked(m, 1, x, k, pw, 0, c, n) }},
			{name: "bf16", kern: bf16Kernel, fn: bf16},
		}
		if haveAMX {
			runs = append(runs, run{name: "amx", path: "amx", fn: bf16})
		}
		if bf16Native && m == 128 {
			runs = append(runs, run{name: "bf16-go", kern: bf16KernelGo, fn: bf16})
		}
		for _, v := range runs {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, k, n, v.name), func(b *testing.B) {
				if v.kern != nil {
					withBF16Kernel(b, v.kern)
				}
				if v.path != "" {
					prev := BF16Path()
					if err := SetBF16Path(v.path); err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { SetBF16Path(prev) })
				}
				benchThreads(b, func(b *testing.B) {
					b.ReportAllocs()
					v.fn()
					cpu0 := cpuSeconds()
					b.ResetTimer()
					for range b.N {
						v.fn()
					}
					flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					reportCPUFlops(b, cpu0, flops)
				})
			})
		}
	}
}
