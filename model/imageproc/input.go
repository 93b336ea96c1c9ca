package imageproc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
)

// ErrMode is wrapped when an image's PIL mode is not one the chosen
// InputKind accepts (InputPIL takes RGB images only, as transformers does
// without do_convert_rgb).
var ErrMode = errors.New("imageproc: image mode not accepted")

// checkFormat refuses formats the reproduced decoder cannot read: the
// torchvision backend decodes a path with torchvision.io.decode_image, which
// reads JPEG, PNG, WebP and GIF only.
func (o DecodeOptions) checkFormat(f Format) error {
	if o.Backend.orDefault() == BackendTorchvision && o.Input.orDefault() == InputPath && f == BMP {
		return fmt.Errorf("%w: bmp: the torchvision backend's decode_image (transformers given a path) reads JPEG, PNG, WebP and GIF only; choose input kind pil-rgb or a pil backend to accept BMP", ErrUnknownFormat)
	}
	return nil
}

// convertInput applies the input kind's mode rule to a decoded image: out is
// PIL's convert("RGB") of m (alpha dropped), as Decode builds it.
func (o DecodeOptions) convertInput(out *RGB, m image.Image, f Format, data []byte) (*RGB, error) {
	switch o.Input.orDefault() {
	case InputPIL:
		if mode := pilMode(m, f, data); mode != "RGB" {
			return nil, fmt.Errorf("%w: %s opens in PIL mode %s, not RGB; transformers given this PIL image without do_convert_rgb fails (\"mean must have N elements\"); choose input kind pil-rgb or path", ErrMode, f, mode)
		}
	case InputPILRGB:
		if o.Backend.orDefault() == BackendPILLegacy || pilMode(m, f, data) == "RGB" {
			return out, nil // convert("RGB"): alpha dropped
		}
		compositeOnWhite(out, m)
	}
	return out, nil
}

// pilMode is the mode PIL opens the image in, as far as the input kinds
// need it: "RGB" or another mode name.
func pilMode(m image.Image, f Format, data []byte) string {
	switch f {
	case PNG:
		if len(data) >= 26 && string(data[12:16]) == "IHDR" {
			switch data[25] {
			case 0:
				if data[24] == 16 {
					return "I"
				}
				return "L"
			case 2:
				return "RGB"
			case 3:
				return "P"
			case 4:
				return "LA"
			case 6:
				return "RGBA"
			}
		}
	case WebP:
		if webpHasAlpha(data) {
			return "RGBA"
		}
		return "RGB"
	case GIF:
		return "P"
	}
	switch m.(type) {
	case *image.YCbCr, *image.RGBA, *image.RGBA64:
		return "RGB"
	case *image.Gray, *image.Gray16:
		return "L"
	case *image.CMYK:
		return "CMYK"
	case *image.Paletted:
		return "P"
	}
	return "RGBA"
}

// webpHasAlpha reads the alpha flag libwebp's WebPGetFeatures reports: the
// VP8X header's alpha bit, or a VP8L stream's alpha_is_used bit.
func webpHasAlpha(data []byte) bool {
	if len(data) < 21 {
		return false
	}
	switch string(data[12:16]) {
	case "VP8X":
		return data[20]&0x10 != 0
	case "VP8L":
		// chunk payload: 0x2f, then 14 bits width-1, 14 bits height-1, 1 bit alpha.
		if len(data) < 25 || data[20] != 0x2f {
			return false
		}
		bits := binary.LittleEndian.Uint32(data[21:25])
		return bits>>28&1 != 0
	}
	return false
}

// compositeOnWhite replaces each pixel of out by PIL's
// Image.alpha_composite of the pixel (with m's alpha) over opaque white, as
// transformers 5's convert_to_rgb does (convert("RGBA"), alpha_composite on
// a white RGBA background, convert("RGB")). Over an opaque background
// libImaging/AlphaComposite.c reduces to coef1 = a·128,
// coef2 = (255−a)·128, out = SHIFTFORDIV255(c·coef1 + 255·coef2 + 128·128) >> 7,
// and to white where a = 0.
func compositeOnWhite(out *RGB, m image.Image) {
	b := m.Bounds()
	if b.Dx() != out.W || b.Dy() != out.H {
		return
	}
	alpha := alphaFunc(m)
	if alpha == nil {
		return
	}
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			a := alpha(x, y)
			if a == 255 {
				continue
			}
			p := out.Pix[3*(y*out.W+x) : 3*(y*out.W+x)+3 : 3*(y*out.W+x)+3]
			if a == 0 {
				p[0], p[1], p[2] = 255, 255, 255
				continue
			}
			c1, c2 := uint32(a)<<7, uint32(255-a)<<7
			for i, c := range p {
				t := uint32(c)*c1 + 255*c2 + 0x80<<7
				p[i] = uint8((((t >> 8) + t) >> 8) >> 7)
			}
		}
	}
}

// alphaFunc returns the 8-bit alpha of pixel (x, y) (relative to the
// bounds' origin) as PIL's convert("RGBA") has it, or nil when the image
// has none.
func alphaFunc(m image.Image) func(x, y int) uint8 {
	b := m.Bounds()
	switch m := m.(type) {
	case *image.NRGBA:
		return func(x, y int) uint8 { return m.Pix[y*m.Stride+4*x+3] }
	case *image.NRGBA64:
		return func(x, y int) uint8 { return m.Pix[y*m.Stride+8*x+6] }
	case *image.NYCbCrA:
		return func(x, y int) uint8 { return m.A[y*m.AStride+x] }
	case *image.Paletted:
		var pa [256]uint8
		for i := range pa {
			pa[i] = 255
		}
		for i, c := range m.Palette {
			if i >= 256 {
				break
			}
			pa[i] = color.NRGBAModel.Convert(c).(color.NRGBA).A
		}
		return func(x, y int) uint8 { return pa[m.Pix[y*m.Stride+x]] }
	case *image.YCbCr, *image.Gray, *image.Gray16, *image.CMYK, *image.RGBA, *image.RGBA64:
		return nil
	}
	return func(x, y int) uint8 {
		return color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA).A
	}
}
