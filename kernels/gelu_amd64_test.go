//go:build amd64 && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// withGELUWide runs f with the AVX-512 GELU on or off.
func withGELUWide(on bool, f func()) {
	old := geluWide
	geluWide = on
	defer func() { geluWide = old }()
	f()
}

// sameFloatBits: equal bit patterns, or both NaN.
func sameFloatBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// TestGELUAVX512BitIdenticalToAVX2 checks that the ZMM GELU and bias+GELU
// give every lane the AVX2 kernels' bits, over geluInputs, random bit
// patterns (every exponent, subnormals, NaN payloads) and lengths that
// leave tails of every size.
func TestGELUAVX512BitIdenticalToAVX2(t *testing.T) {
	if !hasAVX2FMA || !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	xs := geluInputs()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50000; i++ {
		xs = append(xs, math.Float32frombits(r.Uint32()))
	}
	for _, n := range []int{1, 7, 15, 16, 17, 33, len(xs)} {
		in := xs[len(xs)-n:]
		wide := append([]float32(nil), in...)
		narrow := append([]float32(nil), in...)
		withGELUWide(true, func() { GELU(wide) })
		withGELUWide(false, func() { GELU(narrow) })
		for i := range in {
			if !sameFloatBits(wide[i], narrow[i]) {
				t.Fatalf("n=%d: GELU(%v (%#x)): AVX-512 %v (%#x), AVX2 %v (%#x)", n, in[i], math.Float32bits(in[i]),
					wide[i], math.Float32bits(wide[i]), narrow[i], math.Float32bits(narrow[i]))
			}
		}
	}
	for _, cols := range []int{3, 16, 31, 3072} {
		rows := 5
		x := make([]float32, rows*cols)
		bias := make([]float32, cols)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 4)
		}
		for i := range bias {
			bias[i] = float32(r.NormFloat64())
		}
		wide := append([]float32(nil), x...)
		narrow := append([]float32(nil), x...)
		withGELUWide(true, func() { AddBiasGELU(wide, rows, cols, bias) })
		withGELUWide(false, func() { AddBiasGELU(narrow, rows, cols, bias) })
		for i := range x {
			if !sameFloatBits(wide[i], narrow[i]) {
				t.Fatalf("cols=%d: AddBiasGELU(%v + %v): AVX-512 %v, AVX2 %v", cols, x[i], bias[i%cols], wide[i], narrow[i])
			}
		}
	}
}

// TestGELUAVX2PathMatchesReference runs the reference check on the
// narrower path too, on a CPU where the default is AVX-512.
func TestGELUAVX2PathMatchesReference(t *testing.T) {
	xs := geluInputs()
	want := append([]float32(nil), xs...)
	geluRef(want)
	got := append([]float32(nil), xs...)
	withGELUWide(false, func() { GELU(got) })
	for i := range xs {
		if !geluClose(got[i], want[i]) {
			t.Fatalf("AVX2 GELU(%v) = %v, reference %v", xs[i], got[i], want[i])
		}
	}
}

// BenchmarkAddBiasGELUPaths compares the AVX2 and AVX-512 bias+GELU on the
// ViT-B/16 MLP shape (197×3072), in Mvalues per CPU second.
func BenchmarkAddBiasGELUPaths(b *testing.B) {
	rows, cols := 197, 3072
	x := make([]float32, rows*cols)
	bias := make([]float32, cols)
	for i := range x {
		x[i] = float32(i%97)/24 - 2
	}
	for _, wide := range []bool{false, true} {
		name := "avx2"
		if wide {
			name = "avx512"
			if !hasAVX512 {
				continue
			}
		}
		b.Run(name, func(b *testing.B) {
			withGELUWide(wide, func() {
				c0 := cpuSeconds()
				for i := 0; i < b.N; i++ {
					AddBiasGELU(x, rows, cols, bias)
				}
				b.ReportMetric(float64(b.N*rows*cols)/1e6/(cpuSeconds()-c0), "Mvalues/cpu-s")
			})
		})
	}
}
