package imageproc

import "image"

// libjpeg-turbo's YCbCr → RGB tables (jdcolor.c build_ycc_rgb_table,
// SCALEBITS = 16), so decoded JPEG samples become the RGB bytes PIL gets.
var (
	crRTab, cbBTab [256]int32
	crGTab, cbGTab [256]int32
)

func init() {
	const scaleBits = 16
	const oneHalf = 1 << (scaleBits - 1)
	fix := func(x float64) int64 { return int64(x*(1<<scaleBits) + 0.5) }
	for i := 0; i < 256; i++ {
		x := int64(i - 128)
		crRTab[i] = int32((fix(1.40200)*x + oneHalf) >> scaleBits)
		cbBTab[i] = int32((fix(1.77200)*x + oneHalf) >> scaleBits)
		crGTab[i] = int32(-fix(0.71414) * x)
		cbGTab[i] = int32(-fix(0.34414)*x + oneHalf)
	}
}

// ycbcrToRGB converts a decoded JPEG (or lossy WebP) image as libjpeg-turbo
// does with PIL's settings: chroma upsampled with the "fancy" triangle
// filters (h2v1, h2v2, h1v2; plain replication for other ratios and for
// chroma two samples wide or less, as jdsample.c chooses), then the
// fixed-point colour conversion of jdcolor.c.
func ycbcrToRGB(out *RGB, m *image.YCbCr) {
	w, h := out.W, out.H
	b := m.Bounds()
	cbRow := make([]uint8, w+2)
	crRow := make([]uint8, w+2)
	cw := (b.Max.X+1)/2 - b.Min.X/2 // chroma samples per row for horizontal 2×
	ch := (b.Max.Y+1)/2 - b.Min.Y/2 // chroma rows for vertical 2×
	base := m.COffset(b.Min.X, b.Min.Y)
	for y := 0; y < h; y++ {
		switch {
		case m.SubsampleRatio == image.YCbCrSubsampleRatio444:
			o := m.COffset(b.Min.X, b.Min.Y+y)
			copy(cbRow[:w], m.Cb[o:o+w])
			copy(crRow[:w], m.Cr[o:o+w])
		case m.SubsampleRatio == image.YCbCrSubsampleRatio422 && cw > 2:
			o := m.COffset(b.Min.X, b.Min.Y+y)
			h2v1Fancy(cbRow, m.Cb[o:o+cw])
			h2v1Fancy(crRow, m.Cr[o:o+cw])
		case m.SubsampleRatio == image.YCbCrSubsampleRatio420 && cw > 2:
			cy, ny := y/2, 0
			if y%2 == 0 {
				ny = max(cy-1, 0)
			} else {
				ny = min(cy+1, ch-1)
			}
			o0 := base + cy*m.CStride
			o1 := base + ny*m.CStride
			h2v2Fancy(cbRow, m.Cb[o0:o0+cw], m.Cb[o1:o1+cw])
			h2v2Fancy(crRow, m.Cr[o0:o0+cw], m.Cr[o1:o1+cw])
		case m.SubsampleRatio == image.YCbCrSubsampleRatio440:
			cy, ny, bias := y/2, 0, int32(1)
			if y%2 == 0 {
				ny = max(cy-1, 0)
			} else {
				ny, bias = min(cy+1, ch-1), 2
			}
			o0 := base + cy*m.CStride
			o1 := base + ny*m.CStride
			for x := 0; x < w; x++ {
				cbRow[x] = uint8((3*int32(m.Cb[o0+x]) + int32(m.Cb[o1+x]) + bias) >> 2)
				crRow[x] = uint8((3*int32(m.Cr[o0+x]) + int32(m.Cr[o1+x]) + bias) >> 2)
			}
		default:
			for x := 0; x < w; x++ {
				o := m.COffset(b.Min.X+x, b.Min.Y+y)
				cbRow[x], crRow[x] = m.Cb[o], m.Cr[o]
			}
		}
		yo := m.YOffset(b.Min.X, b.Min.Y+y)
		ycbcrRow(out.Pix[3*y*w:3*(y+1)*w], m.Y[yo:yo+w], cbRow[:w], crRow[:w])
	}
}

// clampTab[(v+384)&1023] is v clamped to 0..255 for v in -384..639 (the
// sums ycbcrRow forms lie in -227..482).
var clampTab [1024]uint8

func init() {
	for i := range clampTab {
		clampTab[i] = clampY(int32(i - 384))
	}
}

// ycbcrRow converts one row: jdcolor.c's ycc_rgb_convert with its tables.
func ycbcrRow(d, yRow, cbRow, crRow []uint8) {
	n := len(yRow)
	d = d[:3*n]
	cbRow = cbRow[:n]
	crRow = crRow[:n]
	if useSIMD && n >= 16 {
		done := yccRowSIMD(d, yRow, cbRow, crRow)
		d, yRow, cbRow, crRow = d[3*done:], yRow[done:], cbRow[done:], crRow[done:]
	}
	for x, yy := range yRow {
		Y := int32(yy) + 384
		cb, cr := cbRow[x], crRow[x]
		p := d[3*x : 3*x+3 : 3*x+3]
		p[0] = clampTab[(Y+crRTab[cr])&1023]
		p[1] = clampTab[(Y+(cbGTab[cb]+crGTab[cr])>>16)&1023]
		p[2] = clampTab[(Y+cbBTab[cb])&1023]
	}
}

func clampY(v int32) uint8 {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// h2v1Fancy is jdsample.c h2v1_fancy_upsample: each output is 3/4 of the
// nearer and 1/4 of the further input, with alternating rounding biases.
// dst must hold 2*len(in) samples; len(in) > 2.
func h2v1Fancy(dst, in []uint8) {
	n := len(in)
	dst = dst[:2*n]
	dst[0] = in[0]
	dst[1] = uint8((int(in[0])*3 + int(in[1]) + 2) >> 2)
	i0 := 1
	if useSIMD {
		i0 += h2v1Interior(dst, in)
	}
	for i := i0; i < n-1; i++ {
		v := int(in[i]) * 3
		dst[2*i] = uint8((v + int(in[i-1]) + 1) >> 2)
		dst[2*i+1] = uint8((v + int(in[i+1]) + 2) >> 2)
	}
	dst[2*n-2] = uint8((int(in[n-1])*3 + int(in[n-2]) + 1) >> 2)
	dst[2*n-1] = in[n-1]
}

// h2v2Fancy is one output row of jdsample.c h2v2_fancy_upsample: near is the
// nearer chroma row, far the row above or below (the image's edge rows
// repeat). dst must hold 2*len(near) samples; len(near) > 2.
func h2v2Fancy(dst, near, far []uint8) {
	n := len(near)
	dst = dst[:2*n]
	far = far[:n]
	this := int(near[0])*3 + int(far[0])
	next := int(near[1])*3 + int(far[1])
	dst[0] = uint8((this*4 + 8) >> 4)
	dst[1] = uint8((this*3 + next + 7) >> 4)
	last := this
	this = next
	i0 := 1
	if useSIMD {
		if m := h2v2Interior(dst, near, far); m > 0 {
			i0 = 1 + m
			last = int(near[i0-1])*3 + int(far[i0-1])
			this = int(near[i0])*3 + int(far[i0])
		}
	}
	for i := i0; i < n-1; i++ {
		next = int(near[i+1])*3 + int(far[i+1])
		dst[2*i] = uint8((this*3 + last + 8) >> 4)
		dst[2*i+1] = uint8((this*3 + next + 7) >> 4)
		last, this = this, next
	}
	dst[2*n-2] = uint8((this*3 + last + 8) >> 4)
	dst[2*n-1] = uint8((this*4 + 7) >> 4)
}
