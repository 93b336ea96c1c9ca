package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func ulpClose(got, want []float32, ulps float64, scale func(i int) float64) (int, bool) {
	eps := float64(math.Nextafter32(1, 2) - 1)
	for i := range want {
		if math.IsNaN(float64(want[i])) != math.IsNaN(float64(got[i])) {
			return i, false
		}
		if math.IsNaN(float64(want[i])) {
			continue
		}
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= ulps*eps*scale(i)) {
			return i, false
		}
	}
	return 0, true
}

func TestLayerNormMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, shape := range [][2]int{{1, 1}, {1, 2}, {3, 7}, {197, 768}, {5, 33}, {64, 256}} {
		rows, dim := shape[0], shape[1]
		x := randSlice(r, rows*dim)
		for i := range x {
			x[i] = x[i]*4 + 10 // a large mean must not hurt the variance
		}
		gamma, beta := randSlice(r, dim), randSlice(r, dim)
		want := make([]float32, rows*dim)
		for i := 0; i < rows; i++ {
			layerNormRowRef(want[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], gamma, beta, 1e-12)
		}
		for _, th := range []int{1, 2} {
			prev := SetThreads(th)
			got := make([]float32, rows*dim)
			LayerNorm(got, x, rows, dim, gamma, beta, 1e-12)
			SetThreads(prev)
			// The normalised value is rounded a few times in float32 before
			// gamma and beta: allow 8 ulp of |normalised·gamma| + |beta|.
			scale := func(i int) float64 {
				return 8 * (math.Abs(float64(gamma[i%dim]))*4 + math.Abs(float64(beta[i%dim])))
			}
			if i, ok := ulpClose(got, want, 1, scale); !ok {
				t.Fatalf("%dx%d threads=%d: [%d] = %v, reference %v", rows, dim, th, i, got[i], want[i])
			}
			// AddLayerNorm of a split input gives the same.
			half := make([]float32, len(x))
			rest := make([]float32, len(x))
			for i := range x {
				half[i] = x[i] / 2
				rest[i] = x[i] - half[i]
			}
			sum, got2 := make([]float32, len(x)), make([]float32, len(x))
			AddLayerNorm(got2, sum, half, rest, rows, dim, gamma, beta, 1e-12)
			for i := range sum {
				if sum[i] != half[i]+rest[i] {
					t.Fatalf("AddLayerNorm sum[%d] = %v, want %v", i, sum[i], half[i]+rest[i])
				}
			}
			if i, ok := ulpClose(got2, got, 1, scale); !ok {
				t.Fatalf("AddLayerNorm [%d] = %v, LayerNorm %v", i, got2[i], got[i])
			}
		}
	}
}

func TestSoftmaxMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	ninf := float32(math.Inf(-1))
	for _, cols := range []int{1, 2, 7, 8, 9, 17, 197, 1000} {
		rows := 5
		x := randSlice(r, rows*cols)
		for i := range x {
			x[i] *= 8
		}
		x[0] = ninf // a masked key
		if cols > 1 {
			for j := 0; j < cols; j++ {
				x[cols+j] = ninf // a fully masked row: NaN like PyTorch
			}
		}
		x[len(x)-1] = -100 // underflows
		want := append([]float32(nil), x...)
		for i := 0; i < rows; i++ {
			softmaxRowRef(want[i*cols : (i+1)*cols])
		}
		got := append([]float32(nil), x...)
		Softmax(got, rows, cols)
		// exp to ~2 ulp, a float32 sum of cols terms, one division; the
		// vectorised exp flushes results below 2^-126 to zero.
		eps := float64(math.Nextafter32(1, 2) - 1)
		if i, ok := ulpClose(got, want, float64(cols+8), func(i int) float64 { return math.Abs(float64(want[i])) + 0x1p-126/eps }); !ok {
			t.Fatalf("cols=%d: [%d] = %v, reference %v", cols, i, got[i], want[i])
		}
	}
}

func TestAttentionMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, c := range []struct{ batch, seqQ, seqK, heads, headDim int }{
		{1, 1, 1, 1, 1}, {2, 5, 7, 3, 4}, {1, 197, 197, 12, 64}, {3, 13, 17, 2, 33},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			w := c.heads * c.headDim
			q, k, v := randSlice(r, c.batch*c.seqQ*w), randSlice(r, c.batch*c.seqK*w), randSlice(r, c.batch*c.seqK*w)
			var mask []float32
			if c.seqK > 1 {
				mask = make([]float32, c.batch*c.seqK)
				mask[len(mask)-1] = -math.MaxFloat32 // the last key of the last item is padding
			}
			scale := float32(1 / math.Sqrt(float64(c.headDim)))
			want := make([]float32, len(q))
			attentionRef(want, q, k, v, c.batch, c.seqQ, c.seqK, c.heads, c.headDim, mask, scale)
			for _, th := range []int{1, 2} {
				prev := SetThreads(th)
				got := make([]float32, len(q))
				for i := range got {
					got[i] = float32(math.NaN()) // dst is write-only
				}
				Attention(got, q, k, v, c.batch, c.seqQ, c.seqK, c.heads, c.headDim, mask, scale)
				SetThreads(prev)
				// Outputs are convex combinations of V rows: error is bounded
				// by (headDim + seqK) ulps of max|V|.
				tol := float64(c.headDim+c.seqK+8) * 4
				if i, ok := ulpClose(got, want, tol, func(int) float64 { return 4 }); !ok {
					t.Fatalf("threads=%d: [%d] = %v, reference %v", th, i, got[i], want[i])
				}
			}
		})
	}
}

func TestFusedKernelsDoNotAllocate(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	r := rand.New(rand.NewPCG(17, 18))
	const seq, heads, hd = 50, 4, 16
	w := heads * hd
	q, k, v, dst := randSlice(r, seq*w), randSlice(r, seq*w), randSlice(r, seq*w), make([]float32, seq*w)
	x := randSlice(r, 197*768)
	g, b := randSlice(r, 768), randSlice(r, 768)
	big := randSlice(r, 197*3072)
	bias := randSlice(r, 3072)
	for name, fn := range map[string]func(){
		"Attention":   func() { Attention(dst, q, k, v, 1, seq, seq, heads, hd, nil, 0.25) },
		"LayerNorm":   func() { LayerNorm(x, x, 197, 768, g, b, 1e-5) },
		"Softmax":     func() { Softmax(x, 197, 768) },
		"GELU":        func() { GELU(big) },
		"AddBiasGELU": func() { AddBiasGELU(big, 197, 3072, bias) },
	} {
		fn()
		if a := testing.AllocsPerRun(10, fn); a != 0 {
			t.Errorf("%s allocates %v times per call", name, a)
		}
	}
}

func TestMaxAndScaleMatchScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	nan := float32(math.NaN())
	for n := 0; n <= 70; n++ {
		x := randSlice(r, n)
		if n > 3 {
			x[r.IntN(n)] = nan // skipped by both
		}
		if n > 10 {
			x[r.IntN(n)] = 50 // a clear maximum somewhere
		}
		got, want := maxSkipNaN(x), maxSkipNaNGo(x)
		if got != want {
			t.Fatalf("n=%d: maxSkipNaN = %v, scalar %v", n, got, want)
		}
		y, z := append([]float32(nil), x...), append([]float32(nil), x...)
		scale(y, 0.37)
		scaleGo(z, 0.37)
		for i := range y {
			if y[i] != z[i] && !(y[i] != y[i] && z[i] != z[i]) {
				t.Fatalf("n=%d: scale[%d] = %v, scalar %v", n, i, y[i], z[i])
			}
		}
	}
	allNaN := []float32{nan, nan, nan, nan, nan, nan, nan, nan, nan}
	if m := maxSkipNaN(allNaN); !math.IsInf(float64(m), -1) {
		t.Errorf("max of all-NaN = %v, want -Inf", m)
	}
}

func TestAddAndAddBiasAreExact(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 100} {
		a, b := randSlice(r, n), randSlice(r, n)
		dst := make([]float32, n)
		Add(dst, a, b)
		for i := range dst {
			if dst[i] != a[i]+b[i] {
				t.Fatalf("n=%d: Add[%d] = %v, want %v", n, i, dst[i], a[i]+b[i])
			}
		}
		Add(a, a, b) // aliasing
		for i := range a {
			if a[i] != dst[i] {
				t.Fatalf("n=%d: aliased Add[%d] = %v, want %v", n, i, a[i], dst[i])
			}
		}
		if n == 0 {
			continue
		}
		rows := 3
		x := randSlice(r, rows*n+2)
		want := append([]float32(nil), x...)
		for i := 0; i < rows; i++ {
			for j := 0; j < n; j++ {
				want[i*n+j] += b[j]
			}
		}
		AddBias(x, rows, n, b)
		for i := range x {
			if x[i] != want[i] {
				t.Fatalf("n=%d: AddBias[%d] = %v, want %v", n, i, x[i], want[i])
			}
		}
	}
}
