package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// Sentinel errors; decoding errors wrap one of these.
var (
	// ErrEmpty: no bytes, or an image with zero width or height.
	ErrEmpty = errors.New("imageproc: empty image")
	// ErrUnknownFormat: not JPEG, PNG, GIF, BMP or WebP.
	ErrUnknownFormat = errors.New("imageproc: unknown image format")
	// ErrTooLarge: declared width×height above the pixel limit.
	ErrTooLarge = errors.New("imageproc: image too large")
	// ErrCorrupt: a known format whose data is truncated or invalid.
	ErrCorrupt = errors.New("imageproc: corrupt image")
)

// DecodeOptions control Decode. The zero value applies EXIF orientation and
// PIL's pixel limit.
type DecodeOptions struct {
	// MaxPixels refuses images whose declared width×height exceeds it, before
	// any pixel buffer is allocated. Default (0) DefaultMaxPixels.
	MaxPixels int64
	// IgnoreOrientation skips the EXIF orientation transpose. Default false
	// (orientation applied, as transformers' load_image does for paths/URLs).
	// Input pil and pil-rgb imply it.
	IgnoreOrientation bool
	// Backend and Input select the Hugging Face decode being reproduced
	// (see InputKind): alpha compositing, refused modes and formats.
	// Defaults: BackendTorchvision, InputPath.
	Backend Backend
	Input   InputKind
	// MaxPixelsPerByte refuses images above 1 MP whose declared pixels
	// exceed this many per byte of encoded data, before decoding: a 28-byte
	// lossless WebP of one colour can declare 9000×9000 pixels, which
	// x/image/webp takes about 20 s and 570 MB to decode. Default (0)
	// DefaultMaxPixelsPerByte.
	MaxPixelsPerByte int64
	// MaxDecodeBytes refuses images whose decode would need more memory
	// than this, estimated from the header before any pixel is decoded
	// (format, sampling, progressive or not, bit depth). Default (0)
	// DefaultMaxDecodeBytes.
	MaxDecodeBytes int64
}

// DefaultMaxPixelsPerByte bounds decoding work by input size: a
// PIL-limit image (89.5 MP) needs at least 22 KB, beyond the best ratio of
// any photograph or drawing (deflate tops out near 1,032:1 of raw bytes).
const DefaultMaxPixelsPerByte = 4096

// freePixels is the image size below which MaxPixelsPerByte does not apply:
// a decode of 1 MP costs a few MB and well under a second.
const freePixels = 1 << 20

// Format is an image container format.
type Format string

// Formats Decode accepts.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
	BMP  Format = "bmp"
	WebP Format = "webp"
)

// Sniff returns the format of data from its magic bytes.
func Sniff(data []byte) (Format, error) {
	switch {
	case len(data) == 0:
		return "", ErrEmpty
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return JPEG, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return GIF, nil
	case bytes.HasPrefix(data, []byte("BM")):
		return BMP, nil
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP, nil
	}
	return "", ErrUnknownFormat
}

// Decode decodes a JPEG, PNG, GIF (first frame), BMP or WebP image into RGB
// exactly as PIL's Image.open(...) followed by ImageOps.exif_transpose and
// convert("RGB") (the path transformers' load_image takes), for lossless
// formats and baseline JPEGs; other lossy files differ from libjpeg-turbo
// and libwebp within the bounds stated in the package doc. The size is checked with DecodeConfig against the
// pixel limit before the pixels are decoded.
func Decode(data []byte, opts DecodeOptions) (*RGB, error) {
	f, err := Sniff(data)
	if err != nil {
		return nil, err
	}
	if err := opts.checkFormat(f); err != nil {
		return nil, err
	}
	var decodeConfig func([]byte) (image.Config, error)
	var decode func([]byte) (image.Image, error)
	switch f {
	case JPEG:
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	case PNG:
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case GIF:
		decodeConfig = func(b []byte) (image.Config, error) { return gif.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return gif.Decode(bytes.NewReader(b)) }
	case BMP:
		decodeConfig = func(b []byte) (image.Config, error) { return bmp.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return bmp.Decode(bytes.NewReader(b)) }
	case WebP:
		decodeConfig = func(b []byte) (image.Config, error) { return webp.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return webp.Decode(bytes.NewReader(b)) }
	}
	cfg, err := decodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s header: %v", ErrCorrupt, f, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s declares %dx%d", ErrEmpty, f, cfg.Width, cfg.Height)
	}
	limit := opts.MaxPixels
	if limit <= 0 {
		limit = DefaultMaxPixels
	}
	if int64(cfg.Width)*int64(cfg.Height) > limit {
		return nil, fmt.Errorf("%w: %s declares %dx%d, above the limit of %d pixels", ErrTooLarge, f, cfg.Width, cfg.Height, limit)
	}
	perByte := opts.MaxPixelsPerByte
	if perByte <= 0 {
		perByte = DefaultMaxPixelsPerByte
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > freePixels && px > perByte*int64(len(data)) {
		return nil, fmt.Errorf("%w: %s declares %dx%d (%d pixels) in %d bytes, above %d pixels per byte",
			ErrTooLarge, f, cfg.Width, cfg.Height, px, len(data), perByte)
	}
	if err := checkDecodeBytes(f, data, cfg, opts); err != nil {
		return nil, err
	}
	if f == BMP {
		// x/image/bmp sizes its buffer from the header before reading; refuse
		// files too short to hold the declared pixels.
		if err := checkBMPLength(data, cfg); err != nil {
			return nil, err
		}
	}
	if f == JPEG {
		// image/jpeg walks every block of the image once per scan; a
		// progressive file can repeat cheap scans (an end-of-band run covers
		// 32,767 blocks in two bytes) thousands of times.
		if err := checkJPEGScans(data, int64(cfg.Width)*int64(cfg.Height)); err != nil {
			return nil, err
		}
	}
	var m image.Image
	if f == JPEG && useBaselineJPEG {
		var planes *[]uint8
		if m, planes, _ = decodeJPEGBaseline(data, cfg.Width, cfg.Height); m != nil {
			defer releasePlanes(planes) // m is not used after Decode returns
		}
	}
	if m == nil {
		if m, err = decode(data); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, f, err)
		}
	}
	var out *RGB
	switch f {
	case GIF:
		out, err = gifToRGB(data, m, cfg)
	case PNG:
		out, err = toRGB(m, pngIsGray16(data))
	default:
		out, err = toRGB(m, false)
	}
	if err != nil {
		return nil, err
	}
	if out, err = opts.convertInput(out, m, f, data); err != nil {
		return nil, err
	}
	if !opts.IgnoreOrientation && opts.Input.orDefault() == InputPath {
		if o := exifOrientation(f, data); o >= 2 && o <= 8 {
			out = transpose(out, o)
		}
	}
	return out, nil
}

// useBaselineJPEG routes baseline JPEGs through decodeJPEGBaseline (exact
// libjpeg-turbo samples); tests turn it off to reach image/jpeg.
var useBaselineJPEG = true

// Bounds on a JPEG's scans: image/jpeg's work is about scans × pixels.
// libjpeg's standard progression uses 6 (gray) to 10 (colour) scans; at
// maxJPEGScanPixels a decode walks ~67M blocks, about a second on one core.
const (
	maxJPEGScans      = 256
	maxJPEGScanPixels = 1 << 32
)

// checkJPEGScans counts the scans (SOS markers) up to EOI and refuses a
// JPEG with more than maxJPEGScans, or with scans × pixels above
// maxJPEGScanPixels.
func checkJPEGScans(data []byte, pixels int64) error {
	scans := 0
	for i := 2; i+1 < len(data); {
		if data[i] != 0xff {
			i++ // entropy-coded data (skipped below) or garbage image/jpeg rejects
			continue
		}
		m := data[i+1]
		switch {
		case m == 0xff || m == 0x00 || m >= 0xd0 && m <= 0xd7 || m == 0x01:
			i += 2 // fill byte, stuffed zero, restart marker, TEM: no length
			continue
		case m == 0xd9: // EOI
			return nil
		}
		if i+3 >= len(data) {
			return nil
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		i += 2 + n
		if m != 0xda {
			continue
		}
		scans++
		if scans > maxJPEGScans || int64(scans)*pixels > maxJPEGScanPixels {
			return fmt.Errorf("%w: jpeg has more than %d scans of %d pixels (at most %d scans, %d scan-pixels)",
				ErrTooLarge, scans-1, pixels, maxJPEGScans, int64(maxJPEGScanPixels))
		}
		// Skip the entropy-coded segment: up to a marker other than a stuffed
		// zero or a restart marker (IndexByte finds the 0xff candidates).
		for i+1 < len(data) {
			j := bytes.IndexByte(data[i:len(data)-1], 0xff)
			if j < 0 {
				i = len(data) - 1
				break
			}
			i += j
			if n := data[i+1]; n != 0 && (n < 0xd0 || n > 0xd7) {
				break
			}
			i++
		}
	}
	return nil
}

// checkBMPLength refuses a BMP whose file is shorter than its pixel array.
func checkBMPLength(data []byte, cfg image.Config) error {
	if len(data) < 30 {
		return fmt.Errorf("%w: bmp: short header", ErrCorrupt)
	}
	off := int64(binary.LittleEndian.Uint32(data[10:]))
	bpp := int64(binary.LittleEndian.Uint16(data[28:]))
	rowBytes := (int64(cfg.Width)*bpp + 31) / 32 * 4
	if off+rowBytes*int64(cfg.Height) > int64(len(data)) {
		return fmt.Errorf("%w: bmp: %d bytes cannot hold %dx%d at %d bits", ErrCorrupt, len(data), cfg.Width, cfg.Height, bpp)
	}
	return nil
}

// pngIsGray16 reports whether the PNG is 16-bit grayscale without alpha
// (colour type 0, depth 16): PIL opens it as mode "I" and convert("RGB")
// clamps each value to 0..255 rather than taking its high byte.
func pngIsGray16(data []byte) bool {
	// signature (8) + length (4) + "IHDR" (4) + width, height (8) + depth, colour type
	if len(data) < 26 || string(data[12:16]) != "IHDR" {
		return false
	}
	return data[24] == 16 && data[25] == 0
}

// toRGB converts a decoded image as PIL's convert("RGB") converts the mode
// PIL would have opened it in: alpha dropped without compositing, gray
// replicated, palette expanded, 16-bit samples reduced to their high byte
// (gray16 clamped, see pngIsGray16), CMYK by PIL's cmyk2rgb, and JPEG YCbCr
// through libjpeg-turbo's fancy upsampling and fixed-point colour conversion.
func toRGB(m image.Image, gray16Clamp bool) (*RGB, error) {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: decoded %dx%d", ErrEmpty, w, h)
	}
	out := NewRGB(w, h)
	px := out.Pix
	switch m := m.(type) {
	case *image.YCbCr:
		ycbcrToRGB(out, m)
	case *image.NYCbCrA:
		ycbcrToRGB(out, &m.YCbCr)
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				px[3*(y*w+x)], px[3*(y*w+x)+1], px[3*(y*w+x)+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*m.Stride + 2*x
				v := gray16(uint16(m.Pix[i])<<8|uint16(m.Pix[i+1]), gray16Clamp)
				px[3*(y*w+x)], px[3*(y*w+x)+1], px[3*(y*w+x)+2] = v, v, v
			}
		}
	case *image.NRGBA:
		copy4to3(px, m.Pix, m.Stride, w, h)
	case *image.RGBA:
		copy4to3(px, m.Pix, m.Stride, w, h)
	case *image.NRGBA64:
		copy8to3(px, m.Pix, m.Stride, w, h, gray16Clamp)
	case *image.RGBA64:
		copy8to3(px, m.Pix, m.Stride, w, h, gray16Clamp)
	case *image.Paletted:
		pal := paletteRGB(m.Palette)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				copy(px[3*(y*w+x):3*(y*w+x)+3], pal[3*int(v):3*int(v)+3])
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				c, mm, ye, k := row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]
				nk := 255 - int(k)
				px[3*(y*w+x)] = clamp8(nk - mulDiv255(int(c), nk))
				px[3*(y*w+x)+1] = clamp8(nk - mulDiv255(int(mm), nk))
				px[3*(y*w+x)+2] = clamp8(nk - mulDiv255(int(ye), nk))
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				px[3*(y*w+x)], px[3*(y*w+x)+1], px[3*(y*w+x)+2] = c.R, c.G, c.B
			}
		}
	}
	return out, nil
}

func gray16(v uint16, clamp bool) uint8 {
	if clamp {
		return uint8(min(v, 255))
	}
	return uint8(v >> 8)
}

// mulDiv255 is PIL's MULDIV255: a*b/255 rounded, in integers.
func mulDiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

func clamp8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

func copy4to3(dst, src []uint8, stride, w, h int) {
	for y := 0; y < h; y++ {
		row := src[y*stride : y*stride+4*w]
		d := dst[3*y*w : 3*(y+1)*w]
		for x := 0; x < w; x++ {
			d[3*x], d[3*x+1], d[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
		}
	}
}

func copy8to3(dst, src []uint8, stride, w, h int, gray16Clamp bool) {
	for y := 0; y < h; y++ {
		row := src[y*stride : y*stride+8*w]
		d := dst[3*y*w : 3*(y+1)*w]
		for x := 0; x < w; x++ {
			if gray16Clamp {
				v := gray16(uint16(row[8*x])<<8|uint16(row[8*x+1]), true)
				d[3*x], d[3*x+1], d[3*x+2] = v, v, v
				continue
			}
			d[3*x], d[3*x+1], d[3*x+2] = row[8*x], row[8*x+2], row[8*x+4]
		}
	}
}

// paletteRGB returns the palette's colours as RGB triples, 256 entries
// (missing ones black, as PIL pads palettes), taking the stored RGB of
// non-premultiplied entries as is.
func paletteRGB(p color.Palette) []uint8 {
	out := make([]uint8, 256*3)
	for i, c := range p {
		if i >= 256 {
			break
		}
		var r, g, b uint8
		switch c := c.(type) {
		case color.NRGBA:
			r, g, b = c.R, c.G, c.B
		case color.RGBA:
			r, g, b = c.R, c.G, c.B
		default:
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			r, g, b = n.R, n.G, n.B
		}
		out[3*i], out[3*i+1], out[3*i+2] = r, g, b
	}
	return out
}
