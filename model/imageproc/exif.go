package imageproc

import (
	"bytes"
	"encoding/binary"
)

// exifOrientation returns the EXIF Orientation tag (0x0112) of the image, or
// 0 when there is none or it cannot be read, looking where PIL's getexif()
// looks: the first APP1 "Exif" segment of a JPEG, a PNG eXIf chunk, a WebP
// EXIF chunk. Malformed metadata is ignored (never an error), as PIL does.
func exifOrientation(f Format, data []byte) int {
	var tiff []byte
	switch f {
	case JPEG:
		tiff = jpegExif(data)
	case PNG:
		tiff = pngExif(data)
	case WebP:
		tiff = webpExif(data)
	}
	if tiff == nil {
		return 0
	}
	return tiffOrientation(tiff)
}

// jpegExif returns the TIFF block of the first APP1 Exif segment.
func jpegExif(data []byte) []byte {
	pos := 2
	for pos+4 <= len(data) {
		if data[pos] != 0xff {
			return nil
		}
		marker := data[pos+1]
		if marker == 0xff { // fill byte
			pos++
			continue
		}
		if marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01 {
			pos += 2
			continue
		}
		if marker == 0xda || marker == 0xd9 { // scan data or end: no more headers
			return nil
		}
		n := int(binary.BigEndian.Uint16(data[pos+2:]))
		if n < 2 || pos+2+n > len(data) {
			return nil
		}
		seg := data[pos+4 : pos+2+n]
		if marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		pos += 2 + n
	}
	return nil
}

// pngExif returns the payload of the eXIf chunk before IDAT.
func pngExif(data []byte) []byte {
	pos := 8
	for pos+8 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		if n < 0 || n > len(data)-pos-12 {
			return nil
		}
		body := data[pos+8 : pos+8+n]
		switch typ {
		case "eXIf":
			// PIL accepts an "Exif\0\0" prefix too.
			return bytes.TrimPrefix(body, []byte("Exif\x00\x00"))
		case "IEND":
			return nil
		}
		pos += 12 + n
	}
	return nil
}

// webpExif returns the payload of the EXIF chunk of a RIFF WebP file.
func webpExif(data []byte) []byte {
	pos := 12
	for pos+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[pos+4:]))
		if n < 0 || n > len(data)-pos-8 {
			return nil
		}
		if string(data[pos:pos+4]) == "EXIF" {
			return bytes.TrimPrefix(data[pos+8:pos+8+n], []byte("Exif\x00\x00"))
		}
		pos += 8 + n + n&1
	}
	return nil
}

// tiffOrientation reads tag 0x0112 of IFD0 of a TIFF-structured EXIF block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	p := int(off) + 2
	for i := 0; i < n && p+12 <= len(t); i, p = i+1, p+12 {
		if bo.Uint16(t[p:]) != 0x0112 {
			continue
		}
		typ, count := bo.Uint16(t[p+2:]), bo.Uint32(t[p+4:])
		if count < 1 {
			return 0
		}
		switch typ {
		case 3: // SHORT
			return int(bo.Uint16(t[p+8:]))
		case 4: // LONG
			v := bo.Uint32(t[p+8:])
			if v > 8 {
				return 0
			}
			return int(v)
		}
		return 0
	}
	return 0
}

// transpose applies ImageOps.exif_transpose's method for orientation o
// (2..8): 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE,
// 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90.
func transpose(m *RGB, o int) *RGB {
	w, h := m.W, m.H
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := NewRGB(ow, oh)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5: // transpose: out(x, y) = in(y, x)
				sx, sy = y, x
			case 6: // rotate 270 (clockwise 90): out(x, y) = in(y, h-1-x)
				sx, sy = y, h-1-x
			case 7: // transverse: out(x, y) = in(w-1-y, h-1-x)
				sx, sy = w-1-y, h-1-x
			case 8: // rotate 90 (counter-clockwise): out(x, y) = in(w-1-y, x)
				sx, sy = w-1-y, x
			}
			copy(out.Pix[3*(y*ow+x):3*(y*ow+x)+3], m.Pix[3*(sy*w+sx):3*(sy*w+sx)+3])
		}
	}
	return out
}
