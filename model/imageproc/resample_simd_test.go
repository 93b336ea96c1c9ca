package imageproc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// withSIMD runs f with the resampling kernels on or off, restoring the
// default afterwards.
func withSIMD(t testing.TB, on bool, f func()) {
	t.Helper()
	saved := useSIMD
	useSIMD = on
	defer func() { useSIMD = saved }()
	f()
}

// TestResizeKernelsMatchGo resizes random images (odd sizes, one-pixel and
// one-axis cases, up- and down-scaling, saturating content) with every
// backend and filter through the assembly kernels and through the pure-Go
// passes, and requires identical bytes. Skipped where the kernels cannot
// run (then only the Go passes exist).
func TestResizeKernelsMatchGo(t *testing.T) {
	if !haveSIMD {
		t.Skip("no resampling kernels on this CPU/platform")
	}
	rng := rand.New(rand.NewPCG(13, 224))
	sizes := [][2]int{{1, 1}, {1, 9}, {9, 1}, {5, 6}, {7, 3}, {17, 13}, {33, 31}, {64, 48}, {101, 77}, {224, 224}, {640, 480}, {480, 640}, {1000, 300}, {6, 600}}
	targets := [][2]int{{1, 1}, {2, 3}, {5, 5}, {7, 16}, {16, 7}, {22, 22}, {112, 112}, {224, 224}, {301, 199}, {9, 1000}}
	type kind struct {
		name string
		fill func(p []uint8)
	}
	kinds := []kind{
		{"random", func(p []uint8) {
			for i := range p {
				p[i] = uint8(rng.Uint32())
			}
		}},
		{"extremes", func(p []uint8) { // 0/255 edges: over- and undershoot saturate
			for i := range p {
				p[i] = uint8(rng.IntN(2) * 255)
			}
		}},
	}
	for _, sz := range sizes {
		for _, tg := range targets {
			for _, k := range kinds {
				src := NewRGB(sz[0], sz[1])
				k.fill(src.Pix)
				for _, b := range Backends {
					for f := Nearest; f <= Hamming; f++ {
						if !b.SupportsFilter(f) {
							continue
						}
						name := fmt.Sprintf("%dx%d→%dx%d/%s/%s/%s", sz[0], sz[1], tg[0], tg[1], k.name, b, f)
						var fast, slow RGB
						withSIMD(t, true, func() { ResizeWith(&fast, src, tg[0], tg[1], f, b, &Resizer{}) })
						withSIMD(t, false, func() { ResizeWith(&slow, src, tg[0], tg[1], f, b, &Resizer{}) })
						if !bytes.Equal(fast.Pix, slow.Pix) {
							n, worst := countDiff(fast.Pix, slow.Pix)
							t.Errorf("%s: kernels differ from Go in %d bytes, worst by %d", name, n, worst)
						}
					}
				}
			}
		}
	}
}

// TestResizeKernelLayouts checks that the flava-full resizes get a kernel
// layout (so the test above exercises what the benchmarks run), with split
// weights for PIL and plain int16 for torchvision, and that a sum that
// could overflow int32 gets none.
func TestResizeKernelLayouts(t *testing.T) {
	if !haveSIMD {
		t.Skip("no resampling kernels on this CPU/platform")
	}
	for _, tc := range []struct {
		in, out int
		f       Filter
		q       quantization
		split   bool
	}{
		{640, 224, Bicubic, quantInt16, false},
		{480, 112, Lanczos, quantInt16, false},
		{640, 224, Bicubic, quantPIL, true},
		{480, 112, Lanczos, quantPIL, true},
	} {
		c := precomputeCoeffs(tc.in, 0, float32(tc.in), tc.out, tc.f, tc.q)
		if c.simd == nil || c.simd.split != tc.split {
			t.Errorf("%d→%d %s q%d: layout %+v, want split=%v", tc.in, tc.out, tc.f, tc.q, c.simd, tc.split)
		}
	}
	// A weight of 2^30 on one tap: 255·2^30 leaves int32.
	c := coeffs{ksize: 1, bounds: []int{0, 1}, k: []int32{1 << 30}, prec: 30}
	if simdLayout(c) != nil {
		t.Error("layout built for a sum that overflows int32")
	}
}

// TestYCbCrKernelMatchesTables converts every (Y, Cb, Cr) triple with the
// colour kernel and with jdcolor.c's tables: rows of all 65,536 (Y, Cb)
// pairs plus an odd tail (the kernel's 16-pixel steps and the scalar
// rest), once per Cr.
func TestYCbCrKernelMatchesTables(t *testing.T) {
	if !haveSIMD {
		t.Skip("no kernels on this CPU/platform")
	}
	const n = 1<<16 + 7
	yRow, cb, cr := make([]uint8, n), make([]uint8, n), make([]uint8, n)
	fast, slow := make([]uint8, 3*n), make([]uint8, 3*n)
	for i := range yRow {
		yRow[i] = uint8(i)
		cb[i] = uint8(i >> 8)
	}
	for c := 0; c < 256; c++ {
		for i := range cr {
			cr[i] = uint8(c)
		}
		withSIMD(t, true, func() { ycbcrRow(fast, yRow, cb, cr) })
		withSIMD(t, false, func() { ycbcrRow(slow, yRow, cb, cr) })
		if !bytes.Equal(fast, slow) {
			n, worst := countDiff(fast, slow)
			t.Fatalf("Cr=%d: kernel differs from tables in %d bytes, worst by %d", c, n, worst)
		}
	}
}

// TestH2V2KernelMatchesGo: the fancy-upsampling kernels (h2v2, h2v1)
// against the Go loops on random and extreme chroma rows of every length
// 3..100.
func TestH2V2KernelMatchesGo(t *testing.T) {
	if !haveSIMD {
		t.Skip("no kernels on this CPU/platform")
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for n := 3; n <= 100; n++ {
		for trial := 0; trial < 20; trial++ {
			near, far := make([]uint8, n), make([]uint8, n)
			for i := range near {
				near[i], far[i] = uint8(rng.Uint32()), uint8(rng.Uint32())
				if trial%4 == 1 {
					near[i], far[i] = 255, 255
				}
			}
			fast, slow := make([]uint8, 2*n), make([]uint8, 2*n)
			withSIMD(t, true, func() { h2v2Fancy(fast, near, far) })
			withSIMD(t, false, func() { h2v2Fancy(slow, near, far) })
			if !bytes.Equal(fast, slow) {
				t.Fatalf("h2v2 n=%d: kernel %v, Go %v", n, fast, slow)
			}
			withSIMD(t, true, func() { h2v1Fancy(fast, near) })
			withSIMD(t, false, func() { h2v1Fancy(slow, near) })
			if !bytes.Equal(fast, slow) {
				t.Fatalf("h2v1 n=%d: kernel %v, Go %v", n, fast, slow)
			}
		}
	}
}
