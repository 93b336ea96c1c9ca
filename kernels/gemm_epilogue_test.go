package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLinearPackedEpilogueBitIdentical checks every Epilogue, float32 and
// bf16, against the separate calls it replaces, bit for bit, on one to three
// threads (both ways of splitting C) and odd shapes.
func TestLinearPackedEpilogueBitIdentical(t *testing.T) {
	defer SetThreads(SetThreads(1))
	r := rand.New(rand.NewPCG(41, 42))
	dims := [][3]int{{1, 5, 3}, {7, 33, 70}, {197, 768, 768}, {300, 100, 520}, {61, 3072, 96}, {0, 16, 8}, {5, 40, 0}}
	for _, d := range dims {
		m, n, k := d[0], d[1], d[2]
		x, w, bias := randSlice(r, max(1, m*k)), randSlice(r, max(1, n*k)), randSlice(r, n)
		c0 := randSlice(r, max(1, m*n))
		pw, pb := PackWeights(w, n, k), PackWeightsBF16(w, n, k)
		for _, th := range []int{1, 2, 3} {
			SetThreads(th)
			for _, e := range []Epilogue{BiasAfter, BiasGELU, BiasResidual} {
				for _, bf := range []bool{false, true} {
					want, got := slices.Clone(c0), slices.Clone(c0)
					gemm := func(beta float32) {
						if bf {
							SgemmPackedBF16(m, x, k, pb, beta, want, n)
						} else {
							SgemmPacked(m, 1, x, k, pw, beta, want, n)
						}
					}
					switch e {
					case BiasAfter:
						gemm(0)
						AddBias(want, m, n, bias)
					case BiasGELU:
						gemm(0)
						AddBiasGELU(want, m, n, bias)
					case BiasResidual:
						AddBias(want, m, n, bias)
						gemm(1)
					}
					if bf {
						LinearPackedBF16Epilogue(got, x, m, pb, bias, e)
					} else {
						LinearPackedEpilogue(got, x, m, pw, bias, e)
					}
					if i := sameBits(got, want); i >= 0 {
						t.Fatalf("%dx%dx%d %v bf16=%v threads=%d: at %d got %v, separate calls %v", m, n, k, e, bf, th, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestLinearPackedEpilogueChecks covers the panics on programmer errors.
func TestLinearPackedEpilogueChecks(t *testing.T) {
	pw := PackWeights(make([]float32, 6), 3, 2)
	for name, f := range map[string]func(){
		"short bias": func() {
			LinearPackedEpilogue(make([]float32, 3), make([]float32, 2), 1, pw, make([]float32, 2), BiasAfter)
		},
		"bad kind": func() {
			LinearPackedEpilogue(make([]float32, 3), make([]float32, 2), 1, pw, make([]float32, 3), Epilogue(9))
		},
		"short dst": func() {
			LinearPackedEpilogue(make([]float32, 2), make([]float32, 2), 1, pw, make([]float32, 3), BiasAfter)
		},
		"negative m": func() { LinearPackedEpilogue(nil, nil, -1, pw, make([]float32, 3), BiasAfter) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
	if got := fmt.Sprint(BiasGELU); got != "bias+gelu" {
		t.Errorf("BiasGELU prints %q", got)
	}
}

// TestLinearPackedEpilogueDoesNotAllocate: steady state, two threads.
func TestLinearPackedEpilogueDoesNotAllocate(t *testing.T) {
	defer SetThreads(SetThreads(2))
	r := rand.New(rand.NewPCG(3, 4))
	const m, n, k = 197, 768, 256
	x, bias, dst := randSlice(r, m*k), randSlice(r, n), make([]float32, m*n)
	pw, pb := PackWeights(randSlice(r, n*k), n, k), PackWeightsBF16(randSlice(r, n*k), n, k)
	run := func() {
		LinearPackedEpilogue(dst, x, m, pw, bias, BiasGELU)
		LinearPackedBF16Epilogue(dst, x, m, pb, bias, BiasResidual)
	}
	run()
	if a := testing.AllocsPerRun(20, run); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}

// TestLinearPackedBF16EpilogueAMXLoopNest is the bf16 half of
// TestLinearPackedEpilogueBitIdentical on the AMX loop nest, with its
// plain-Go twin standing in for the tile instructions on any CPU.
func TestLinearPackedBF16EpilogueAMXLoopNest(t *testing.T) {
	withAMXKernel(t, amxKernelGo)
	defer SetThreads(SetThreads(1))
	r := rand.New(rand.NewPCG(43, 44))
	for _, d := range [][3]int{{7, 33, 64}, {61, 100, 96}, {40, 70, 32}, {100, 200, 96}, {300, 64, 64}} {
		m, n, k := d[0], d[1], d[2]
		x, w, bias := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, n)
		c0 := randSlice(r, m*n)
		pb := PackWeightsBF16(w, n, k)
		for _, th := range []int{1, 2, 3} {
			SetThreads(th)
			for _, e := range []Epilogue{BiasAfter, BiasGELU, BiasResidual} {
				want, got := slices.Clone(c0), slices.Clone(c0)
				switch e {
				case BiasAfter:
					SgemmPackedBF16(m, x, k, pb, 0, want, n)
					AddBias(want, m, n, bias)
				case BiasGELU:
					SgemmPackedBF16(m, x, k, pb, 0, want, n)
					AddBiasGELU(want, m, n, bias)
				case BiasResidual:
					AddBias(want, m, n, bias)
					SgemmPackedBF16(m, x, k, pb, 1, want, n)
				}
				LinearPackedBF16Epilogue(got, x, m, pb, bias, e)
				if i := sameBits(got, want); i >= 0 {
					t.Fatalf("%dx%dx%d %v threads=%d: at %d got %v, separate calls %v", m, n, k, e, th, i, got[i], want[i])
				}
			}
		}
	}
}
