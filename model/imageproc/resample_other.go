//go:build !amd64 || purego

package imageproc

// Without the assembly, resizing runs the pure-Go passes only.
const haveSIMD = false

var useSIMD = false

func resampleRowH(drow, srow []uint8, n int, s *simdCoeffs, prec uint) {
	panic("imageproc: no resampling kernels on this platform")
}

func resampleRowV(drow, rows []uint8, rowLen, yy int, s *simdCoeffs, prec uint) {
	panic("imageproc: no resampling kernels on this platform")
}
