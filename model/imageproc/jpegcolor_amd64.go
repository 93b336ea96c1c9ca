//go:build amd64 && !purego

package imageproc

// yccRowAVX2 is ycbcrRow's colour conversion for n pixels (a multiple of
// 16), 16 per step in 16-bit lanes, bit-identical to the tables
// (TestYCbCrKernelMatchesTables checks every Y, Cb, Cr triple). It took
// BenchmarkDecodeJPEGPaths/baseline from ≈ 244 to ≈ 277 images/cpu-s on
// Zen 4 (the table loop was 13 % of the decode).
//
//go:noescape
func yccRowAVX2(dst, y, cb, cr *uint8, n int)

func yccRowSIMD(d, yRow, cbRow, crRow []uint8) int {
	n := len(yRow) &^ 15
	if n == 0 {
		return 0
	}
	_ = d[3*n-1]
	_ = cbRow[n-1]
	_ = crRow[n-1]
	yccRowAVX2(&d[0], &yRow[0], &cbRow[0], &crRow[0], n)
	return n
}
