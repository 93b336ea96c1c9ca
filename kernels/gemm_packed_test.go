package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// guarded returns a buffer of guard NaNs, an m×n window of C with row stride
// ldc (NaN in the padding, values from r or NaN when beta is 0) and guard
// NaNs, and the window itself.
func guarded(r *rand.Rand, m, n, ldc int, fill bool) (buf, win []float32) {
	const guard = 9
	nan := float32(math.NaN())
	buf = make([]float32, guard+m*ldc+guard)
	for i := range buf {
		buf[i] = nan
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if fill {
				buf[guard+i*ldc+j] = float32(r.NormFloat64())
			}
		}
	}
	return buf, buf[guard : guard+max(0, (m-1)*ldc+n)]
}

// sameBits reports the first index where got and want differ in their bit
// patterns (NaNs included), or -1.
func sameBits(got, want []float32) int {
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return i
		}
	}
	return -1
}

// TestSgemmPackedBitIdentical checks SgemmPacked against Sgemm(false, true)
// bit for bit, guard bands included, on sizes that leave partial panels in
// every direction (n not a multiple of 16, k not a multiple of gemmKC, m not
// a multiple of 6), across nc blocks, with both micro-kernels and 1 and 2
// threads.
func TestSgemmPackedBitIdentical(t *testing.T) {
	dims := [][3]int{
		{1, 1, 1}, {5, 15, 7}, {7, 17, 255}, {13, 33, 257}, {6, 16, 256},
		{128, 100, 520}, {197, 65, 63}, {241, 47, 300}, {3, 1540, 40}, {65, 31, 0},
		{0, 20, 10}, {9, 0, 10}, {200, 1600, 270},
	}
	scalars := []struct{ alpha, beta float32 }{{1, 0}, {1, 1}, {0.5, -0.25}, {0, 2}}
	for name, kern := range microKernels() {
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", name, th), func(t *testing.T) {
				withKernel(t, kern)
				prev := SetThreads(th)
				defer SetThreads(prev)
				r := rand.New(rand.NewPCG(11, uint64(th)))
				for i, d := range dims {
					m, n, k := d[0], d[1], d[2]
					s := scalars[i%len(scalars)]
					lda, ldc := k+i%3, n+i%4
					a := randSlice(r, max(1, m*lda))
					w := randSlice(r, n*k)
					pw := PackWeights(w, n, k)
					got, gwin := guarded(r, m, n, ldc, s.beta != 0)
					want := append([]float32(nil), got...)
					wwin := want[9 : 9+len(gwin)]
					Sgemm(false, true, m, n, k, s.alpha, a, lda, w, k, s.beta, wwin, ldc)
					SgemmPacked(m, s.alpha, a, lda, pw, s.beta, gwin, ldc)
					if idx := sameBits(got, want); idx >= 0 {
						t.Fatalf("%dx%dx%d alpha=%v beta=%v: at offset %d got %v, Sgemm %v", m, n, k, s.alpha, s.beta, idx-9, got[idx], want[idx])
					}
				}
			})
		}
	}
}

// TestLinearPackedBitIdentical checks LinearPacked against Linear, with and
// without bias, on the FLAVA shapes and odd ones.
func TestLinearPackedBitIdentical(t *testing.T) {
	for _, th := range []int{1, 2} {
		prev := SetThreads(th)
		r := rand.New(rand.NewPCG(12, uint64(th)))
		for _, d := range [][3]int{{128, 768, 768}, {197, 100, 300}, {7, 2, 768}, {17, 33, 17}} {
			rows, out, in := d[0], d[1], d[2]
			x, w, bias := randSlice(r, rows*in), randSlice(r, out*in), randSlice(r, out)
			pw := PackWeights(w, out, in)
			for _, b := range [][]float32{bias, nil} {
				got, want := make([]float32, rows*out), make([]float32, rows*out)
				Linear(want, x, rows, in, out, w, b)
				LinearPacked(got, x, rows, pw, b)
				if idx := sameBits(got, want); idx >= 0 {
					t.Fatalf("threads=%d %dx%dx%d bias=%v: [%d] got %v want %v", th, rows, out, in, b != nil, idx, got[idx], want[idx])
				}
			}
		}
		SetThreads(prev)
	}
}

func TestPackWeightsSize(t *testing.T) {
	for _, d := range [][2]int{{768, 768}, {3072, 768}, {2, 768}, {17, 5}, {0, 3}} {
		pw := PackWeights(make([]float32, d[0]*d[1]), d[0], d[1])
		want := int64(4 * d[1] * ((d[0] + 15) / 16 * 16))
		if pw.Out() != d[0] || pw.In() != d[1] || pw.Bytes() != want {
			t.Errorf("PackWeights(%d×%d): Out %d In %d Bytes %d, want %d bytes", d[0], d[1], pw.Out(), pw.In(), pw.Bytes(), want)
		}
	}
}

func TestSgemmPackedPanicsOnBadShapes(t *testing.T) {
	pw := PackWeights(make([]float32, 20*10), 20, 10)
	for name, fn := range map[string]func(){
		"short A":      func() { SgemmPacked(3, 1, make([]float32, 29), 10, pw, 0, make([]float32, 60), 20) },
		"short C":      func() { SgemmPacked(3, 1, make([]float32, 30), 10, pw, 0, make([]float32, 59), 20) },
		"small ldc":    func() { SgemmPacked(3, 1, make([]float32, 30), 10, pw, 0, make([]float32, 60), 19) },
		"short weight": func() { PackWeights(make([]float32, 199), 20, 10) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

func TestSgemmPackedSteadyStateDoesNotAllocate(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	m, n, k := 64, 256, 300
	a, w, c, bias := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n), make([]float32, n)
	pw := PackWeights(w, n, k)
	LinearPacked(c, a, m, pw, bias)
	if allocs := testing.AllocsPerRun(20, func() { LinearPacked(c, a, m, pw, bias) }); allocs != 0 {
		t.Errorf("LinearPacked allocates %v times per call", allocs)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	runtime.GC()
	for range 20 {
		SgemmPacked(m, 1, a, k, pw, 1, c, n)
	}
	const calls = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		SgemmPacked(m, 1, a, k, pw, 1, c, n)
	}
	runtime.ReadMemStats(&after)
	if d := after.Mallocs - before.Mallocs; d >= calls/10 {
		t.Errorf("%d two-thread SgemmPacked calls allocated %d times", calls, d)
	}
}

// TestAddBiasSplitIsExact checks AddBias when it is split over the pool
// (large enough, two threads) against a scalar loop, bit for bit, and that
// it writes nothing past rows×cols.
func TestAddBiasSplitIsExact(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	r := rand.New(rand.NewPCG(13, 1))
	for _, d := range [][2]int{{300, 333}, {1576, 768}, {2, 40000}} {
		rows, cols := d[0], d[1]
		x, bias := randSlice(r, rows*cols+5), randSlice(r, cols)
		want := append([]float32(nil), x...)
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				want[i*cols+j] += bias[j]
			}
		}
		AddBias(x, rows, cols, bias)
		if idx := sameBits(x, want); idx >= 0 {
			t.Fatalf("%dx%d: [%d] = %v, want %v", rows, cols, idx, x[idx], want[idx])
		}
		if testing.AllocsPerRun(5, func() { AddBias(x, rows, cols, bias) }) != 0 {
			t.Errorf("%dx%d: AddBias allocates", rows, cols)
		}
	}
}

// TestSgemmColumnSplitSharesPackedA checks the products whose threads split
// C by columns and share one packing of A (gemmJob.pa) against the same
// products on one thread, bit for bit: shapes with several gemmKC slices,
// several gemmMC blocks, m not a multiple of 6, A transposed or not, packed
// weights and plain B, on every micro-kernel path.
func TestSgemmColumnSplitSharesPackedA(t *testing.T) {
	defer SetThreads(SetThreads(1))
	defer SetGEMMPath("")
	r := rand.New(rand.NewPCG(17, 18))
	for _, path := range GEMMPaths() {
		if err := SetGEMMPath(path); err != nil {
			t.Fatal(err)
		}
		for _, d := range [][3]int{{197, 768, 768}, {500, 1600, 600}, {61, 3072, 257}, {7, 200, 1000}} {
			m, n, k := d[0], d[1], d[2]
			for _, transA := range []bool{false, true} {
				a, w := randSlice(r, m*k), randSlice(r, n*k)
				lda := k
				if transA {
					lda = m
				}
				pw := PackWeights(w, n, k)
				var want [2][]float32
				for _, th := range []int{1, 2, 3} {
					SetThreads(th)
					c := make([]float32, m*n)
					Sgemm(transA, true, m, n, k, 1, a, lda, w, k, 0, c, n)
					got := [2][]float32{c, nil}
					if !transA {
						got[1] = make([]float32, m*n)
						SgemmPacked(m, 1, a, lda, pw, 0, got[1], n)
					}
					if th == 1 {
						want = got
						continue
					}
					for v := range got {
						if i := sameBits(got[v], want[v]); got[v] != nil && i >= 0 {
							t.Fatalf("%s %dx%dx%d transA=%v packed=%v threads=%d: at %d got %v, one thread %v", path, m, n, k, transA, v == 1, th, i, got[v][i], want[v][i])
						}
					}
				}
			}
		}
	}
}
