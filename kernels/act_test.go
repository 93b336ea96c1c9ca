package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// geluInputs covers the whole float32 line: a dense sweep of [-16, 16]
// (where erfc goes from 2 to underflow), random normals, huge values,
// subnormals, zeros, infinities and NaN.
func geluInputs() []float32 {
	var xs []float32
	for v := float32(-16); v <= 16; v += 1.0 / 1024 {
		xs = append(xs, v)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 20000; i++ {
		xs = append(xs, float32(r.NormFloat64()*3))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-38, -1e-38, 1e30, -1e30,
		math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -13.5, -14, -18.9)
	return xs
}

// geluClose: 1e-6 relative, plus one subnormal ulp for results that fall in
// float32's subnormal range (both sides round there).
func geluClose(got, want float32) bool {
	if math.IsNaN(float64(want)) {
		return math.IsNaN(float64(got))
	}
	if math.IsInf(float64(want), 0) {
		return got == want
	}
	d := math.Abs(float64(got) - float64(want))
	return d <= 1e-6*math.Abs(float64(want))+0x1p-149
}

func TestGELUMatchesReference(t *testing.T) {
	xs := geluInputs()
	want := append([]float32(nil), xs...)
	geluRef(want)
	got := append([]float32(nil), xs...)
	GELU(got)
	bad := 0
	for i := range xs {
		if !geluClose(got[i], want[i]) {
			if bad < 10 {
				t.Errorf("GELU(%v) = %v, reference %v (rel %g)", xs[i], got[i], want[i], math.Abs(float64(got[i]-want[i])/float64(want[i])))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values off", bad, len(xs))
	}
}

// TestGELURefAgreesWithErfForm checks the reference against the textbook
// 0.5·x·(1+erf(x/√2)) where that form is itself accurate (x > -5).
func TestGELURefAgreesWithErfForm(t *testing.T) {
	for v := float32(-5); v <= 8; v += 1.0 / 64 {
		x := []float32{v}
		geluRef(x)
		want := float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		if !geluClose(x[0], want) {
			t.Errorf("geluRef(%v) = %v, erf form %v", v, x[0], want)
		}
	}
}

func TestAddBiasGELUMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, shape := range [][2]int{{1, 1}, {3, 7}, {5, 13}, {197, 3072}, {2, 33}} {
		rows, cols := shape[0], shape[1]
		x := randSlice(r, rows*cols+5)
		for i := range x {
			x[i] *= 3
		}
		bias := randSlice(r, cols)
		want := append([]float32(nil), x...)
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				want[i*cols+j] += bias[j]
			}
		}
		geluRef(want[:rows*cols])
		got := append([]float32(nil), x...)
		AddBiasGELU(got, rows, cols, bias)
		for i := range got {
			if !geluClose(got[i], want[i]) {
				t.Fatalf("%dx%d: [%d] = %v, reference %v", rows, cols, i, got[i], want[i])
			}
		}
	}
}

func TestReLUMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for n := 0; n < 40; n++ {
		x := randSlice(r, n)
		if n > 2 {
			x[0] = float32(math.NaN())
			x[1] = float32(math.Copysign(0, -1))
			x[2] = float32(math.Inf(-1))
		}
		want := append([]float32(nil), x...)
		reluGo(want)
		ReLU(x)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: ReLU[%d] = %v (%#x), scalar %v (%#x)", n, i, x[i], math.Float32bits(x[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}
