package imageproc

import (
	"fmt"
	"image"
)

// gifFirstFrame is what PIL takes from a GIF's blocks up to the first image
// descriptor: the palette of the first frame (local, else global) and the
// transparency index of a preceding graphic control extension.
type gifFirstFrame struct {
	palette     []uint8 // RGB triples as stored in the file
	transparent int     // -1: none
}

// parseGIFFirstFrame walks the GIF blocks up to the first image descriptor.
// Go's image/gif replaces the transparent palette entry by zero RGBA, while
// PIL keeps the stored colour (convert("RGB") ignores transparency), so the
// palette is read here from the file itself.
func parseGIFFirstFrame(data []byte) (gifFirstFrame, error) {
	g := gifFirstFrame{transparent: -1}
	bad := func(what string) (gifFirstFrame, error) {
		return gifFirstFrame{}, fmt.Errorf("%w: gif: %s", ErrCorrupt, what)
	}
	if len(data) < 13 {
		return bad("short header")
	}
	flags := data[10]
	pos := 13
	var global []uint8
	if flags&0x80 != 0 {
		n := 3 << ((flags & 7) + 1)
		if pos+n > len(data) {
			return bad("short global colour table")
		}
		global = data[pos : pos+n]
		pos += n
	}
	for pos < len(data) {
		switch data[pos] {
		case 0x21: // extension
			if pos+2 > len(data) {
				return bad("short extension")
			}
			label := data[pos+1]
			pos += 2
			first := true
			for {
				if pos >= len(data) {
					return bad("short extension data")
				}
				n := int(data[pos])
				if pos+1+n > len(data) {
					return bad("short extension block")
				}
				if label == 0xf9 && first && n >= 4 {
					if data[pos+1]&1 != 0 {
						g.transparent = int(data[pos+4])
					} else {
						g.transparent = -1
					}
				}
				first = false
				pos += 1 + n
				if n == 0 {
					break
				}
			}
		case 0x2c: // image descriptor
			if pos+10 > len(data) {
				return bad("short image descriptor")
			}
			fl := data[pos+9]
			pos += 10
			g.palette = global
			if fl&0x80 != 0 {
				n := 3 << ((fl & 7) + 1)
				if pos+n > len(data) {
					return bad("short local colour table")
				}
				g.palette = data[pos : pos+n]
			}
			return g, nil
		case 0x3b:
			return bad("no image")
		default:
			return bad(fmt.Sprintf("unknown block 0x%02x", data[pos]))
		}
	}
	return bad("no image")
}

// gifToRGB composes the first frame on the logical screen as PIL 9.4 does
// for frame 0 (the area outside the frame holds the transparency index if
// any, else index 0) and expands the palette stored in the file.
func gifToRGB(data []byte, m image.Image, cfg image.Config) (*RGB, error) {
	pm, ok := m.(*image.Paletted)
	if !ok {
		return toRGB(m, false)
	}
	g, err := parseGIFFirstFrame(data)
	if err != nil {
		return nil, err
	}
	w, h := cfg.Width, cfg.Height
	pal := make([]uint8, 256*3)
	copy(pal, g.palette)
	fill := 0
	if g.transparent >= 0 {
		fill = g.transparent
	}
	out := NewRGB(w, h)
	fr := pm.Bounds().Intersect(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			idx := fill
			if (image.Point{x, y}).In(fr) {
				idx = int(pm.Pix[pm.PixOffset(x, y)])
			}
			copy(out.Pix[3*(y*w+x):3*(y*w+x)+3], pal[3*idx:3*idx+3])
		}
	}
	return out, nil
}
