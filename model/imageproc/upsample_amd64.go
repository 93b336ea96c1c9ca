//go:build amd64 && !purego

package imageproc

// h2v2RowAVX2 computes h2v2Fancy's interior outputs 2i, 2i+1 for n
// samples (a multiple of 16) starting at near, far (which must have one
// readable sample before and after), 16 per step in 16-bit lanes. It took
// BenchmarkDecodeJPEGPaths/baseline from ≈ 377 to ≈ 435 images/cpu-s on
// Zen 4.
//
//go:noescape
func h2v2RowAVX2(dst, near, far *uint8, n int)

// h2v2Interior runs the kernel over samples 1 .. 1+m-1 of a row of n and
// returns m (a multiple of 16, leaving at least sample n-1 to the caller).
func h2v2Interior(dst, near, far []uint8) int {
	n := len(near)
	m := (n - 2) &^ 15
	if m <= 0 {
		return 0
	}
	_ = dst[2*(1+m)-1]
	_ = far[m+1]
	_ = near[m+1]
	h2v2RowAVX2(&dst[2], &near[1], &far[1], m)
	return m
}

// h2v1RowAVX2 is h2v1Fancy's interior for n samples (a multiple of 16)
// starting at in (one readable sample before and after).
//
//go:noescape
func h2v1RowAVX2(dst, in *uint8, n int)

// h2v1Interior runs the kernel over samples 1 .. m of a row of n and
// returns m (a multiple of 16, leaving at least sample n-1 to the caller).
func h2v1Interior(dst, in []uint8) int {
	n := len(in)
	m := (n - 2) &^ 15
	if m <= 0 {
		return 0
	}
	_ = dst[2*(1+m)-1]
	_ = in[m+1]
	h2v1RowAVX2(&dst[2], &in[1], m)
	return m
}
