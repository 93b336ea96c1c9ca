package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

var gemmSizes = []int{1, 2, 3, 5, 7, 13, 17, 31, 33, 63, 65, 127, 129, 197, 255, 257}

// microKernels is every float32 micro-kernel path this CPU can run, by
// name: the tests force and check each, the narrower ones too.
func microKernels() map[string]gemmPath {
	ks := map[string]gemmPath{}
	for _, p := range gemmPaths {
		ks[p.name] = p
	}
	return ks
}

// withKernel forces a path's kernels (its 12-row twin included, so a path
// without one runs without one) for one test.
func withKernel(t testing.TB, p gemmPath) {
	k, k12 := gemmKernel, gemmKernel12
	gemmKernel, gemmKernel12 = p.kern, p.kern12
	t.Cleanup(func() { gemmKernel, gemmKernel12 = k, k12 })
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	padA, padB     int // extra row stride
	padC           int
}

// runGemmCase runs Sgemm and the reference on guarded buffers and reports the
// first difference beyond the k·eps bound or any write outside C's window.
func runGemmCase(t *testing.T, r *rand.Rand, gc gemmCase) {
	t.Helper()
	ar, ac := gc.m, gc.k
	if gc.transA {
		ar, ac = gc.k, gc.m
	}
	br, bc := gc.k, gc.n
	if gc.transB {
		br, bc = gc.n, gc.k
	}
	lda, ldb, ldc := ac+gc.padA, bc+gc.padB, gc.n+gc.padC
	a := randSlice(r, max(1, ar*lda))
	b := randSlice(r, max(1, br*ldb))
	const guard = 7
	size := guard + gc.m*ldc + guard
	got := make([]float32, size)
	want := make([]float32, size)
	nan := float32(math.NaN())
	for i := range got {
		got[i] = nan
	}
	for i := 0; i < gc.m; i++ {
		for j := 0; j < gc.n; j++ {
			v := nan // beta == 0 must not read C
			if gc.beta != 0 {
				v = float32(r.NormFloat64())
			}
			got[guard+i*ldc+j] = v
		}
	}
	copy(want, got)
	cwin := got[guard : guard+max(0, (gc.m-1)*ldc+gc.n)]
	Sgemm(gc.transA, gc.transB, gc.m, gc.n, gc.k, gc.alpha, a, lda, b, ldb, gc.beta, cwin, ldc)
	sgemmRef(gc.transA, gc.transB, 0, gc.m, gc.n, gc.k, gc.alpha, a, lda, b, ldb, gc.beta, want[guard:], ldc)
	eps := float64(math.Nextafter32(1, 2) - 1)
	for idx := range got {
		i, j := (idx-guard)/max(ldc, 1), (idx-guard)%max(ldc, 1)
		inside := idx >= guard && idx-guard < gc.m*ldc && j < gc.n
		if !inside {
			if !math.IsNaN(float64(got[idx])) {
				t.Fatalf("%+v: wrote %v outside C at offset %d", gc, got[idx], idx-guard)
			}
			continue
		}
		// Error bound: both results are sums of k products plus beta·c.
		var mag float64
		for p := 0; p < gc.k; p++ {
			var av, bv float32
			if gc.transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			if gc.transB {
				bv = b[j*ldb+p]
			} else {
				bv = b[p*ldb+j]
			}
			mag += math.Abs(float64(av) * float64(bv))
		}
		mag *= math.Abs(float64(gc.alpha))
		if gc.beta != 0 {
			mag += math.Abs(float64(gc.beta) * float64(want[idx]))
		}
		tol := 2*float64(gc.k+2)*eps*mag + 1e-30
		d := math.Abs(float64(got[idx]) - float64(want[idx]))
		if !(d <= tol) {
			t.Fatalf("%+v: C[%d][%d] = %v, reference %v (diff %g > %g)", gc, i, j, got[idx], want[idx], d, tol)
		}
	}
}

func TestSgemmMatchesReference(t *testing.T) {
	for name, kern := range microKernels() {
		t.Run(name, func(t *testing.T) {
			withKernel(t, kern)
			r := rand.New(rand.NewPCG(1, 2))
			count := 0
			for mi, m := range gemmSizes {
				for ni, n := range gemmSizes {
					k := gemmSizes[(mi*7+ni*3)%len(gemmSizes)]
					if m*n*k > 2e6 {
						k = gemmSizes[(mi+ni)%6]
					}
					tr := count % 4
					count++
					runGemmCase(t, r, gemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: m, n: n, k: k,
						alpha: 1, beta: 0, padA: count % 3, padB: (count / 3) % 3, padC: count % 5})
				}
			}
		})
	}
}

func TestSgemmTransposesAndScalars(t *testing.T) {
	scalars := []struct{ alpha, beta float32 }{{1, 0}, {0.5, 0}, {1, 1}, {-1.5, 0.25}, {0, 2}, {0, 0}, {2, -1}}
	for name, kern := range microKernels() {
		t.Run(name, func(t *testing.T) {
			withKernel(t, kern)
			r := rand.New(rand.NewPCG(3, 4))
			for tr := 0; tr < 4; tr++ {
				for _, s := range scalars {
					for _, dims := range [][3]int{{1, 1, 1}, {7, 17, 5}, {13, 33, 257}, {197, 65, 63}, {6, 16, 256}, {12, 32, 513}, {65, 31, 0}} {
						runGemmCase(t, r, gemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: dims[0], n: dims[1], k: dims[2],
							alpha: s.alpha, beta: s.beta, padA: 3, padB: 1, padC: 2})
					}
				}
			}
		})
	}
}

// TestSgemmLargeBlocks crosses every cache-block boundary (kc, mc, nc) and
// the parallel split on two threads.
func TestSgemmLargeBlocks(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	r := rand.New(rand.NewPCG(5, 6))
	for _, gc := range []gemmCase{
		{transB: true, m: 197, n: 3100, k: 20, alpha: 1, beta: 0},
		{m: 300, n: 40, k: 300, alpha: 1, beta: 1, padC: 1},
		{transA: true, transB: true, m: 149, n: 145, k: 520, alpha: 0.75, beta: 0, padA: 2},
		{transA: true, m: 2, n: 3090, k: 40, alpha: 1, beta: 0.5},
		{m: 600, n: 5, k: 70, alpha: 1, beta: 0},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", gc.m, gc.n, gc.k), func(t *testing.T) { runGemmCase(t, r, gc) })
	}
}

// TestSgemmConcurrentCallers runs Sgemm from several goroutines at once: the
// shared pool must neither deadlock nor mix up packing buffers.
func TestSgemmConcurrentCallers(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func(seed uint64) {
			r := rand.New(rand.NewPCG(seed, 9))
			m, n, k := 70, 150, 90
			a, b := randSlice(r, m*k), randSlice(r, n*k)
			got, want := make([]float32, m*n), make([]float32, m*n)
			for it := 0; it < 5; it++ {
				Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, got, n)
			}
			sgemmRef(false, true, 0, m, n, k, 1, a, k, b, k, 0, want, n)
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
					done <- fmt.Errorf("goroutine %d: C[%d] = %v want %v", seed, i, got[i], want[i])
					return
				}
			}
			done <- nil
		}(uint64(g))
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestSgemmSteadyStateDoesNotAllocate(t *testing.T) {
	prev := SetThreads(2)
	defer SetThreads(prev)
	m, n, k := 64, 256, 128
	a, b, c := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
	Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
	if allocs := testing.AllocsPerRun(20, func() { Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n) }); allocs != 0 {
		t.Errorf("Sgemm allocates %v times per call", allocs)
	}
	// AllocsPerRun pins GOMAXPROCS to 1; count again with the two threads
	// really running in parallel (scratch must not depend on which P ran).
	// The Go runtime itself allocates now and then while goroutines block
	// and wake (sudogs, GC workers, new Ms): well under one per call. Any
	// allocation on the kernel's own path would be at least one per call.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	runtime.GC()
	for range 20 { // the second packing buffer appears once both threads run at once
		Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
	}
	const calls = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
	}
	runtime.ReadMemStats(&after)
	if d := after.Mallocs - before.Mallocs; d >= calls/10 {
		t.Errorf("%d two-thread Sgemm calls allocated %d times", calls, d)
	}
}
