//go:build amd64 && !purego

package imageproc

// idctAVX2 is idctIslow for one dequantised block, in 32-bit lanes (see
// idct_amd64.s); false, with nothing written, when the block's values could
// leave int32 there. It took BenchmarkDecodeJPEGPaths/baseline from ≈ 277
// to ≈ 377 images/cpu-s on Zen 4 (the Go IDCT was 39 % of the decode).
//
//go:noescape
func idctAVX2(out *uint8, stride int, blk *[64]int32) bool

func idctSIMD(out []uint8, stride int, blk *[64]int32) bool {
	_ = out[7*stride+7]
	return idctAVX2(&out[0], stride, blk)
}
