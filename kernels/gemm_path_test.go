package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGemmPathsBitIdentical runs Sgemm and SgemmPacked on every SIMD path
// this CPU has (avx2, avx512) on odd sizes in all four transpose cases and
// with both scalings, and requires bit-identical results: the kernels run
// the same FMAs per element in the same order, so choosing a path by speed
// never changes outputs. (Each path is also checked against the reference
// with a tolerance by the Sgemm tests, which force every path.)
func TestGemmPathsBitIdentical(t *testing.T) {
	var simd []string
	for _, p := range gemmPaths {
		if p.name != "go" {
			simd = append(simd, p.name)
		}
	}
	if len(simd) < 2 {
		t.Skipf("only %v here: nothing to compare", GEMMPaths())
	}
	defer SetGEMMPath("")
	r := rand.New(rand.NewPCG(31, 32))
	for _, d := range [][3]int{{1, 1, 1}, {7, 17, 5}, {12, 16, 3}, {13, 33, 257}, {19, 48, 70}, {25, 31, 600}, {197, 70, 300}, {241, 1540, 40}} {
		m, n, k := d[0], d[1], d[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, sc := range []struct{ alpha, beta float32 }{{1, 0}, {0.5, -0.75}} {
				a, b := randSlice(r, m*k), randSlice(r, k*n)
				c0 := randSlice(r, m*n)
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				var first []float32
				for _, name := range simd {
					if err := SetGEMMPath(name); err != nil {
						t.Fatal(err)
					}
					c := slices.Clone(c0)
					Sgemm(tr[0], tr[1], m, n, k, sc.alpha, a, lda, b, ldb, sc.beta, c, n)
					if tr[1] {
						cp := slices.Clone(c0)
						SgemmPacked(m, sc.alpha, a, k, PackWeights(b, n, k), sc.beta, cp, n)
						if !tr[0] {
							if i := sameBits(cp, c); i >= 0 {
								t.Fatalf("%s %dx%dx%d: packed differs from unpacked at %d", name, m, n, k, i)
							}
						}
					}
					if first == nil {
						first = c
						continue
					}
					if i := sameBits(c, first); i >= 0 {
						t.Fatalf("%dx%dx%d trans=%v %+v: %s gives %v at %d, %s %v", m, n, k, tr, sc, name, c[i], i, simd[0], first[i])
					}
				}
			}
		}
	}
}

// TestSetGEMMPath checks the names and the refusal of unknown paths.
func TestSetGEMMPath(t *testing.T) {
	t.Logf("paths %v, default %s (zmmWide %v)", GEMMPaths(), GEMMPath(), zmmWide)
	defer SetGEMMPath("")
	for _, name := range GEMMPaths() {
		if err := SetGEMMPath(name); err != nil || GEMMPath() != name {
			t.Errorf("SetGEMMPath(%q) = %v, path now %q", name, err, GEMMPath())
		}
	}
	if err := SetGEMMPath("avx1024"); err == nil {
		t.Error("SetGEMMPath(avx1024) accepted")
	}
	SetGEMMPath("")
	if GEMMPath() != defaultGEMMPath().name {
		t.Errorf("default path %q, want %q", GEMMPath(), defaultGEMMPath().name)
	}
}

// BenchmarkSgemmPaths times SgemmPacked on each float32 path this CPU has,
// in one run, at the FLAVA Linear shapes (M×K×N): the measurement behind
// defaultGEMMPath.
func BenchmarkSgemmPaths(b *testing.B) {
	defer SetGEMMPath("")
	for _, s := range [][3]int{{128, 768, 768}, {197, 768, 3072}, {1576, 768, 3072}} {
		m, k, n := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(1, 1))
		x, c := randSlice(r, m*k), make([]float32, m*n)
		pw := PackWeights(randSlice(r, n*k), n, k)
		for _, name := range GEMMPaths() {
			if name == "go" {
				continue
			}
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, k, n, name), func(b *testing.B) {
				if err := SetGEMMPath(name); err != nil {
					b.Fatal(err)
				}
				benchThreads(b, func(b *testing.B) {
					SgemmPacked(m, 1, x, k, pw, 0, c, n)
					cpu0 := cpuSeconds()
					b.ResetTimer()
					for range b.N {
						SgemmPacked(m, 1, x, k, pw, 0, c, n)
					}
					flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					reportCPUFlops(b, cpu0, flops)
				})
			})
		}
	}
}
