package imageproc

import (
	"encoding/binary"
	"fmt"
	"image"
)

// DefaultMaxDecodeBytes caps the memory one Decode may need, estimated from
// the image's header before any pixel is decoded (see decodeBytes). At PIL's
// pixel limit (89.5 MP) a baseline 4:2:0 JPEG needs about 400 MB and an
// 8-bit PNG about 630 MB, which pass; a progressive JPEG without chroma
// subsampling needs 18 bytes per pixel (1.6 GB at that size: image/jpeg
// keeps every DCT coefficient of every component as an int32 until the last
// scan) and is refused above about 60 MP unless the limit is raised.
const DefaultMaxDecodeBytes = 1 << 30

// decodeBytes estimates the bytes Decode allocates for an image with header
// cfg: the decoder's own buffers (for JPEG from the frame header: the
// component planes padded to whole MCUs, plus 256 bytes per block of DCT
// coefficients when progressive; for PNG from IHDR: the Go image type it
// decodes to, twice over when interlaced), the 3-byte RGB image Decode
// returns, and one more when an EXIF orientation transposes it. Measured
// against image/jpeg with cjpeg files of 89 MP: baseline 4:2:0 estimated
// 401 MB, allocated 382; progressive 4:2:0 935 / 893; progressive 4:4:4
// 1,604 / 1,530.
func decodeBytes(f Format, data []byte, cfg image.Config, transposed bool) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	rgb := 3 * px
	if transposed {
		rgb *= 2
	}
	switch f {
	case JPEG:
		if b, ok := jpegDecodeBytes(data, cfg); ok {
			return b + rgb
		}
		// No frame header found: the decoder will fail on it; charge the
		// worst case of a progressive four-component file.
		return 20*px + rgb
	case PNG:
		return pngDecodeBytes(data, px) + rgb
	case GIF:
		return px + rgb // one paletted frame (Decode stops after it)
	}
	return 4*px + rgb // BMP and WebP decode to at most 4 bytes per pixel
}

// jpegDecodeBytes reads the frame header (SOF0/1/2) and returns what
// image/jpeg allocates for it: each component's plane at its sampling, padded
// to whole MCUs, and for a progressive frame a [64]int32 block per 8×8 block
// of every component.
func jpegDecodeBytes(data []byte, cfg image.Config) (int64, bool) {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return 0, false
		}
		m := data[i+1]
		if m == 0xff { // fill byte
			i++
			continue
		}
		if m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7) {
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 0, false
		}
		seg := data[i+4 : i+2+n]
		switch m {
		case 0xc0, 0xc1, 0xc2:
			if len(seg) < 6 {
				return 0, false
			}
			nc := int(seg[5])
			if nc < 1 || len(seg) < 6+3*nc {
				return 0, false
			}
			hmax, vmax := 1, 1
			for c := 0; c < nc; c++ {
				hv := seg[6+3*c+1]
				hmax, vmax = max(hmax, int(hv>>4)), max(vmax, int(hv&15))
			}
			mxx := (int64(cfg.Width) + 8*int64(hmax) - 1) / (8 * int64(hmax))
			myy := (int64(cfg.Height) + 8*int64(vmax) - 1) / (8 * int64(vmax))
			var blocks int64
			for c := 0; c < nc; c++ {
				hv := seg[6+3*c+1]
				h, v := int64(max(1, hv>>4)), int64(max(1, hv&15))
				if nc == 1 {
					h, v = int64(hmax), int64(vmax)
				}
				blocks += mxx * h * myy * v
			}
			b := 64 * blocks // the planes, one byte per sample
			if m == 0xc2 {
				b += 256 * blocks
			}
			return b, true
		case 0xda, 0xd9:
			return 0, false // a scan before any frame header
		}
		i += 2 + n
	}
	return 0, false
}

// pngDecodeBytes: bytes per pixel of the image image/png decodes to, from
// IHDR's bit depth and colour type (Gray 1, Gray16 2, Paletted 1, RGBA or
// NRGBA 4, RGBA64 or NRGBA64 8), twice over for Adam7 interlacing, which
// decodes each pass into its own image first.
func pngDecodeBytes(data []byte, px int64) int64 {
	if len(data) < 29 {
		return 8 * px
	}
	depth, ctype, interlace := data[24], data[25], data[28]
	var bpp int64
	switch {
	case ctype == 3:
		bpp = 1
	case ctype == 0:
		bpp = 1
		if depth == 16 {
			bpp = 2
		}
	case depth == 16:
		bpp = 8
	default:
		bpp = 4
	}
	if interlace == 1 {
		bpp *= 2
	}
	return bpp * px
}

// checkDecodeBytes refuses an image whose estimated decode memory is above
// the limit.
func checkDecodeBytes(f Format, data []byte, cfg image.Config, opts DecodeOptions) error {
	limit := opts.MaxDecodeBytes
	if limit <= 0 {
		limit = DefaultMaxDecodeBytes
	}
	transposed := false
	if !opts.IgnoreOrientation && opts.Input.orDefault() == InputPath {
		o := exifOrientation(f, data)
		transposed = o >= 2 && o <= 8
	}
	if need := decodeBytes(f, data, cfg, transposed); need > limit {
		return fmt.Errorf("%w: decoding this %dx%d %s needs about %d MiB, above the limit of %d MiB",
			ErrTooLarge, cfg.Width, cfg.Height, f, need>>20, limit>>20)
	}
	return nil
}
