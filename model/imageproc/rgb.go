package imageproc

import "fmt"

// RGB is an 8-bit RGB image, rows top to bottom, pixels interleaved (HWC):
// pixel (x, y) is Pix[3*(y*W+x) : 3*(y*W+x)+3].
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB returns a black w × h image.
func NewRGB(w, h int) *RGB {
	if w < 0 || h < 0 {
		panic(fmt.Sprintf("imageproc: NewRGB(%d, %d)", w, h))
	}
	return &RGB{W: w, H: h, Pix: make([]uint8, w*h*3)}
}

// check panics when the image's buffer does not match its size: images are
// built by this package or by code, so a mismatch is a programmer error.
func (m *RGB) check() {
	if m == nil || m.W <= 0 || m.H <= 0 || len(m.Pix) != m.W*m.H*3 {
		if m == nil {
			panic("imageproc: nil image")
		}
		panic(fmt.Sprintf("imageproc: image %dx%d with %d bytes", m.W, m.H, len(m.Pix)))
	}
}
