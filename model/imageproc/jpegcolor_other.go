//go:build !amd64 || purego

package imageproc

func yccRowSIMD(d, yRow, cbRow, crRow []uint8) int {
	panic("imageproc: no colour conversion kernel on this platform")
}
