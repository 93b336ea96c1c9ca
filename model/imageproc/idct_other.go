//go:build !amd64 || purego

package imageproc

func idctSIMD(out []uint8, stride int, blk *[64]int32) bool { return false }
