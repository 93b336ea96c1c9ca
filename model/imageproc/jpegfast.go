package imageproc

import (
	"encoding/binary"
	"image"
	"sync"
)

// A baseline JPEG decoder that reproduces libjpeg-turbo's sample values
// (the decoder PIL and torchvision use): Huffman-coded sequential DCT
// (SOF0/SOF1), 8-bit, one component or three (Y, Cb, Cr with 4:4:4, 4:2:2,
// 4:2:0 or 4:4:0 sampling) in one interleaved scan, with restart
// intervals. Coefficients are kept as libjpeg's 16-bit JCOEF and inverse
// transformed with jidctint.c's accurate integer IDCT (JDCT_ISLOW,
// CONST_BITS 13, PASS1_BITS 2, the sample range-limit table of jdmaster.c),
// so the planes equal libjpeg-turbo's; chroma upsampling and colour
// conversion then run through ycbcrToRGB as for image/jpeg's planes.
//
// Anything else — progressive or arithmetic coding, 12-bit samples, CMYK,
// Adobe or RGB-labelled files, other samplings, several scans, and any
// irregularity (bad Huffman code, coefficient index past 63, data running
// out, unexpected markers) — makes decodeJPEGBaseline report false, and
// Decode falls back to image/jpeg, which decides as before whether the
// file is an error. The work is one pass over the entropy-coded data and
// one IDCT per block, bounded by the declared size that Decode has already
// checked.

const lookBits = 9

// huffTable is one Huffman table: a lookahead table for codes of up to
// lookBits bits (entry = length<<8 | symbol, 0 when longer) and the
// canonical-code limits for the rest.
type huffTable struct {
	look    [1 << lookBits]uint16
	maxcode [17]int32 // largest code of each length, -1 if none
	valptr  [17]int32 // index in vals of the first code of each length
	mincode [17]int32
	vals    [256]uint8
	defined bool
	// fast: for AC tables, codes whose length plus coefficient bits fit in
	// lookBits: int32(value)<<16 | run<<4 | total length; 0 if none.
	fast [1 << lookBits]int32
}

// build fills the table from a DHT's 16 counts and symbols; false if the
// counts describe no valid prefix code.
func (t *huffTable) build(counts []uint8, syms []uint8) bool {
	*t = huffTable{}
	copy(t.vals[:], syms)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		t.valptr[l] = k
		t.mincode[l] = code
		for i := int32(0); i < n; i++ {
			if code >= 1<<l-1 {
				return false // over-subscribed, or the all-ones code jdhuff.c refuses
			}
			if l <= lookBits {
				shift := lookBits - l
				base := int(code) << shift
				for j := 0; j < 1<<shift; j++ {
					t.look[base+j] = uint16(l)<<8 | uint16(syms[k+i])
				}
			}
			code++
		}
		k += n
		t.maxcode[l] = code - 1
		if n == 0 {
			t.maxcode[l] = -1
		}
		code <<= 1
	}
	for i, e := range t.look {
		l, rs := uint(e>>8), int(e&0xff)
		r, sz := rs>>4, uint(rs&15)
		if l == 0 || sz == 0 || l+sz > lookBits {
			continue
		}
		v := int32(i>>(lookBits-l-sz)) & (1<<sz - 1)
		if v < 1<<(sz-1) {
			v += -1<<sz + 1
		}
		t.fast[i] = v<<16 | int32(r)<<4 | int32(l+sz)
	}
	t.defined = true
	return true
}

type jpegComp struct {
	id, h, v, tq int
	td, ta       int
	bw, bh       int // plane size in blocks
	plane        []uint8
	stride       int
	pred         int32
}

type baselineDecoder struct {
	data   []byte
	pos    int
	acc    uint64 // bit buffer, MSB first
	nbits  uint
	pad    int  // zero bytes fed in at a marker or the end of data
	marker bool // the entropy-coded segment ended at a marker
	bad    bool // an irregularity: give up

	quant   [4][64]int32 // natural order, as libjpeg's ISLOW_MULT_TYPE (16-bit)
	qdef    [4]bool
	dc, ac  [4]huffTable
	comps   [3]jpegComp
	ncomp   int
	w, h    int
	restart int
	jfif    bool
	adobe   bool
	sof     bool
	buf     *[]uint8 // the planes' storage, from planePool
}

// planePool recycles the component planes between decodes (see
// releasePlanes).
var planePool sync.Pool

// releasePlanes returns the planes of an image decodeJPEGBaseline made to
// the pool; the image must not be used afterwards.
func releasePlanes(buf *[]uint8) {
	if buf != nil {
		planePool.Put(buf)
	}
}

// jpegNatural maps zig-zag positions to natural order.
var jpegNatural = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// rangeLimit is jdmaster.c's post-IDCT table read at (x & 1023): x+128
// clamped for the values a valid file gives, wrapping as libjpeg does
// beyond.
var rangeLimit [1024]uint8

func init() {
	for i := range rangeLimit {
		u := (i + 128) & 1023
		switch {
		case u < 256:
			rangeLimit[i] = uint8(u)
		case u < 640:
			rangeLimit[i] = 255
		default:
			rangeLimit[i] = 0
		}
	}
}

// decodeJPEGBaseline decodes data when it is a baseline JPEG this decoder
// reproduces exactly (see above) of the size w × h Decode checked; ok is
// false otherwise, and the caller falls back to image/jpeg. The image's
// planes live in planes, which the caller hands to releasePlanes when done
// with the image.
func decodeJPEGBaseline(data []byte, w, h int) (img image.Image, planes *[]uint8, ok bool) {
	d := &baselineDecoder{data: data, w: w, h: h}
	if !d.parse() {
		releasePlanes(d.buf)
		return nil, nil, false
	}
	if d.ncomp == 1 {
		c := &d.comps[0]
		return &image.Gray{Pix: c.plane, Stride: c.stride, Rect: image.Rect(0, 0, w, h)}, d.buf, true
	}
	ratio := image.YCbCrSubsampleRatio444
	switch [2]int{d.comps[0].h, d.comps[0].v} {
	case [2]int{2, 1}:
		ratio = image.YCbCrSubsampleRatio422
	case [2]int{2, 2}:
		ratio = image.YCbCrSubsampleRatio420
	case [2]int{1, 2}:
		ratio = image.YCbCrSubsampleRatio440
	}
	return &image.YCbCr{
		Y: d.comps[0].plane, Cb: d.comps[1].plane, Cr: d.comps[2].plane,
		YStride: d.comps[0].stride, CStride: d.comps[1].stride,
		SubsampleRatio: ratio, Rect: image.Rect(0, 0, w, h),
	}, d.buf, true
}

// parse walks the markers, decodes the one scan and requires EOI after it.
func (d *baselineDecoder) parse() bool {
	b := d.data
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return false
	}
	p := 2
	for {
		// Markers may be preceded by fill bytes (0xff).
		if p+1 >= len(b) || b[p] != 0xff {
			return false
		}
		for p+1 < len(b) && b[p+1] == 0xff {
			p++
		}
		if p+1 >= len(b) {
			return false
		}
		m := b[p+1]
		p += 2
		if m == 0xd9 || m == 0xd8 || m == 0x01 || m >= 0xd0 && m <= 0xd7 {
			return false // EOI before a scan, or a marker out of place
		}
		if p+2 > len(b) {
			return false
		}
		n := int(binary.BigEndian.Uint16(b[p:]))
		if n < 2 || p+n > len(b) {
			return false
		}
		seg := b[p+2 : p+n]
		p += n
		switch {
		case m == 0xc0 || m == 0xc1:
			if d.sof || !d.parseSOF(seg) {
				return false
			}
		case m >= 0xc2 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			return false // progressive, lossless, hierarchical or arithmetic
		case m == 0xc4:
			if !d.parseDHT(seg) {
				return false
			}
		case m == 0xcc:
			return false // arithmetic conditioning
		case m == 0xdb:
			if !d.parseDQT(seg) {
				return false
			}
		case m == 0xdd:
			if len(seg) != 2 {
				return false
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		case m == 0xe0:
			if len(seg) >= 5 {
				d.jfif = string(seg[:5]) == "JFIF\x00" // as image/jpeg: the last APP0 decides
			}
		case m == 0xee:
			if len(seg) >= 5 && string(seg[:5]) == "Adobe" {
				d.adobe = true
			}
		case m == 0xda:
			if !d.sof || !d.parseSOS(seg) {
				return false
			}
			d.pos = p
			if !d.scan() {
				return false
			}
			// Only EOI may follow.
			q := d.pos
			for q+1 < len(b) && b[q] == 0xff && b[q+1] == 0xff {
				q++
			}
			return q+1 < len(b) && b[q] == 0xff && b[q+1] == 0xd9
		case m >= 0xe0 && m <= 0xef, m == 0xfe:
			// APPn, COM: skipped
		default:
			return false // DNL, DHP, EXP, JPGn, reserved
		}
	}
}

func (d *baselineDecoder) parseSOF(s []byte) bool {
	if len(s) < 6 || s[0] != 8 {
		return false
	}
	// The size must be what Decode checked against its limits.
	if int(binary.BigEndian.Uint16(s[1:])) != d.h || int(binary.BigEndian.Uint16(s[3:])) != d.w {
		return false
	}
	d.ncomp = int(s[5])
	if d.w <= 0 || d.h <= 0 || (d.ncomp != 1 && d.ncomp != 3) || len(s) != 6+3*d.ncomp {
		return false
	}
	for i := 0; i < d.ncomp; i++ {
		c := &d.comps[i]
		c.id = int(s[6+3*i])
		c.h, c.v = int(s[7+3*i]>>4), int(s[7+3*i]&15)
		c.tq = int(s[8+3*i])
		if c.tq > 3 || c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return false
		}
		for j := 0; j < i; j++ {
			if d.comps[j].id == c.id {
				return false
			}
		}
	}
	if d.ncomp == 1 {
		// One component: non-interleaved by definition, one block per MCU.
		d.comps[0].h, d.comps[0].v = 1, 1
	} else {
		// Y/Cb/Cr with chroma 1×1 and luma 1×1, 2×1, 2×2 or 1×2, which
		// image/jpeg returns as YCbCr.
		c0 := d.comps[0]
		if c0.h > 2 || c0.v > 2 || d.comps[1].h != 1 || d.comps[1].v != 1 || d.comps[2].h != 1 || d.comps[2].v != 1 {
			return false
		}
	}
	hmax, vmax := d.comps[0].h, d.comps[0].v
	mcux := (d.w + 8*hmax - 1) / (8 * hmax)
	mcuy := (d.h + 8*vmax - 1) / (8 * vmax)
	total := 0
	for i := 0; i < d.ncomp; i++ {
		c := &d.comps[i]
		c.bw, c.bh = mcux*c.h, mcuy*c.v
		c.stride = 8 * c.bw
		total += c.stride * 8 * c.bh
	}
	// Every sample of the planes is written by a block's IDCT, so a
	// recycled buffer needs no clearing.
	if bp, _ := planePool.Get().(*[]uint8); bp != nil && cap(*bp) >= total {
		d.buf = bp
	} else {
		b := make([]uint8, total)
		d.buf = &b
	}
	buf := (*d.buf)[:total]
	for i := 0; i < d.ncomp; i++ {
		c := &d.comps[i]
		n := c.stride * 8 * c.bh
		c.plane, buf = buf[:n:n], buf[n:]
	}
	d.sof = true
	return true
}

func (d *baselineDecoder) parseDQT(s []byte) bool {
	for len(s) > 0 {
		pq, tq := s[0]>>4, int(s[0]&15)
		if tq > 3 || pq > 1 {
			return false
		}
		s = s[1:]
		n := 64 << pq
		if len(s) < n {
			return false
		}
		for i := 0; i < 64; i++ {
			var v int32
			if pq == 0 {
				v = int32(s[i])
			} else {
				v = int32(int16(binary.BigEndian.Uint16(s[2*i:])))
			}
			d.quant[tq][jpegNatural[i]] = v
		}
		d.qdef[tq] = true
		s = s[n:]
	}
	return true
}

func (d *baselineDecoder) parseDHT(s []byte) bool {
	for len(s) > 0 {
		if len(s) < 17 {
			return false
		}
		tc, th := s[0]>>4, int(s[0]&15)
		if tc > 1 || th > 3 {
			return false
		}
		counts := s[1:17]
		total := 0
		for _, c := range counts {
			total += int(c)
		}
		if total == 0 || total > 256 || len(s) < 17+total {
			return false
		}
		t := &d.dc[th]
		if tc == 1 {
			t = &d.ac[th]
		}
		if !t.build(counts, s[17:17+total]) {
			return false
		}
		s = s[17+total:]
	}
	return true
}

func (d *baselineDecoder) parseSOS(s []byte) bool {
	if len(s) < 1 || int(s[0]) != d.ncomp || len(s) != 1+2*d.ncomp+3 {
		return false
	}
	for i := 0; i < d.ncomp; i++ {
		id, t := int(s[1+2*i]), s[2+2*i]
		if d.comps[i].id != id {
			return false // components in another order than the frame's
		}
		c := &d.comps[i]
		c.td, c.ta = int(t>>4), int(t&15)
		if c.td > 3 || c.ta > 3 || !d.dc[c.td].defined || !d.ac[c.ta].defined || !d.qdef[c.tq] {
			return false
		}
	}
	// Files image/jpeg may treat as RGB (Adobe, or components labelled R,
	// G, B without JFIF) go to image/jpeg.
	if d.ncomp == 3 && (d.adobe || (!d.jfif && d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B')) {
		return false
	}
	tail := s[1+2*d.ncomp:]
	return tail[0] == 0 && tail[1] == 63 && tail[2] == 0
}

// fill tops the bit buffer up to at least 57 bits; at a marker or the end
// of data it feeds zero bytes (as libjpeg does) and counts them in pad.
func (d *baselineDecoder) fill() {
	if !d.marker && d.pos+8 <= len(d.data) {
		x := binary.BigEndian.Uint64(d.data[d.pos:])
		if y := ^x; (y-0x0101010101010101)&^y&0x8080808080808080 == 0 { // no 0xff byte
			n := (64 - d.nbits) >> 3
			d.acc |= x >> (64 - 8*n) << (64 - d.nbits - 8*n)
			d.nbits += 8 * n
			d.pos += int(n)
			return
		}
	}
	for d.nbits <= 56 {
		var c byte
		switch {
		case d.marker || d.pos >= len(d.data):
			d.pad++
		case d.data[d.pos] != 0xff:
			c = d.data[d.pos]
			d.pos++
		case d.pos+1 < len(d.data) && d.data[d.pos+1] == 0:
			c = 0xff
			d.pos += 2
		default:
			d.marker = true
			d.pad++
		}
		d.acc |= uint64(c) << (56 - d.nbits)
		d.nbits += 8
	}
}

// overrun reports whether decoding consumed bits that were not in the
// data.
func (d *baselineDecoder) overrun() bool {
	return int(d.nbits) < 8*d.pad
}

// huffSlow decodes a code longer than lookBits bits (or reports bad).
func (d *baselineDecoder) huffSlow(t *huffTable) int {
	for l := lookBits + 1; l <= 16; l++ {
		code := int32(d.acc >> (64 - l))
		if code <= t.maxcode[l] {
			d.acc <<= uint(l)
			d.nbits -= uint(l)
			return int(t.vals[(t.valptr[l]+code-t.mincode[l])&0xff])
		}
	}
	d.bad = true
	return 0
}

// scan decodes the entropy-coded data of the single scan and the IDCT of
// every block into the component planes.
func (d *baselineDecoder) scan() bool {
	hmax, vmax := d.comps[0].h, d.comps[0].v
	mcux := (d.w + 8*hmax - 1) / (8 * hmax)
	mcuy := (d.h + 8*vmax - 1) / (8 * vmax)
	if d.ncomp == 1 {
		mcux, mcuy = d.comps[0].bw, d.comps[0].bh
	}
	var blk [64]int32
	todo := d.restart
	rst := 0
	for my := 0; my < mcuy; my++ {
		for mx := 0; mx < mcux; mx++ {
			if d.restart > 0 {
				if todo == 0 {
					if !d.restartMarker(rst) {
						return false
					}
					rst = (rst + 1) & 7
					todo = d.restart
				}
				todo--
			}
			for ci := 0; ci < d.ncomp; ci++ {
				c := &d.comps[ci]
				for by := 0; by < c.v; by++ {
					for bx := 0; bx < c.h; bx++ {
						last := d.block(&blk, c, &d.quant[c.tq])
						if d.bad {
							return false
						}
						row, col := (my*c.v+by)*8, (mx*c.h+bx)*8
						idctBlock(c.plane[row*c.stride+col:], c.stride, &blk, last)
						clearBlock(&blk, last)
					}
				}
			}
		}
		if d.overrun() {
			return false
		}
	}
	if d.overrun() {
		return false
	}
	if !d.marker {
		// Whole bytes left before the next marker are extraneous data,
		// which image/jpeg and libjpeg handle differently: let it decide.
		if d.nbits >= 8 || d.pos >= len(d.data) || d.data[d.pos] != 0xff {
			return false
		}
	}
	return true
}

// restartMarker expects RSTn after the bits of the previous interval and
// resets the decoder state.
func (d *baselineDecoder) restartMarker(n int) bool {
	if d.overrun() {
		return false
	}
	if !d.marker {
		if d.nbits >= 8 || d.pos+1 >= len(d.data) || d.data[d.pos] != 0xff {
			return false
		}
	}
	if d.pos+1 >= len(d.data) || d.data[d.pos] != 0xff || d.data[d.pos+1] != byte(0xd0+n) {
		return false
	}
	d.pos += 2
	d.acc, d.nbits, d.pad, d.marker = 0, 0, 0, false
	for i := range d.comps {
		d.comps[i].pred = 0
	}
	return true
}

// block decodes one block's coefficients into blk, dequantised (libjpeg's
// 16-bit JCOEF times its 16-bit multiplier), natural order, and returns the
// highest zig-zag index written (0: DC only). blk must be zero on entry
// except where a previous block's positions are cleared by clearBlock.
func (d *baselineDecoder) block(blk *[64]int32, c *jpegComp, q *[64]int32) int {
	acc, nbits := d.acc, d.nbits
	if nbits < 32 {
		d.fill()
		acc, nbits = d.acc, d.nbits
	}
	dct := &d.dc[c.td&3]
	var s int
	if e := dct.look[acc>>(64-lookBits)]; e != 0 {
		n := uint(e >> 8)
		acc <<= n
		nbits -= n
		s = int(e & 0xff)
	} else {
		d.acc, d.nbits = acc, nbits
		s = d.huffSlow(dct)
		acc, nbits = d.acc, d.nbits
	}
	if s > 11 {
		d.bad = true // beyond 8-bit DC differences; image/jpeg decides
		return 0
	}
	if s > 0 {
		v := int32(acc >> (64 - uint(s)))
		acc <<= uint(s)
		nbits -= uint(s)
		if v < 1<<(s-1) {
			v += -1<<s + 1
		}
		c.pred += v
	}
	blk[0] = int32(int16(c.pred)) * q[0]
	act := &d.ac[c.ta&3]
	last := 0
	for k := 1; k < 64; {
		if nbits < 32 {
			d.acc, d.nbits = acc, nbits
			d.fill()
			acc, nbits = d.acc, d.nbits
		}
		idx := acc >> (64 - lookBits)
		if f := act.fast[idx]; f != 0 {
			k += int(f>>4) & 15
			n := uint(f & 15)
			acc <<= n
			nbits -= n
			if k > 63 {
				d.bad = true
				return 0
			}
			z := jpegNatural[k&63] & 63 // k ≤ 63; the masks drop bounds checks
			blk[z] = (f >> 16) * q[z]
			last = k
			k++
			continue
		}
		var rs int
		if e := act.look[idx]; e != 0 {
			n := uint(e >> 8)
			acc <<= n
			nbits -= n
			rs = int(e & 0xff)
		} else {
			d.acc, d.nbits = acc, nbits
			rs = d.huffSlow(act)
			acc, nbits = d.acc, d.nbits
			if d.bad {
				return 0
			}
		}
		r, s := rs>>4, rs&15
		if s == 0 {
			if r == 0 {
				break // EOB
			}
			if r != 15 {
				// Not a baseline symbol: libjpeg ends the block,
				// image/jpeg reads an end-of-band run. Let it decide.
				d.bad = true
				return 0
			}
			k += 16
			continue
		}
		k += r
		if k > 63 {
			d.bad = true
			return 0
		}
		v := int32(acc >> (64 - uint(s)))
		acc <<= uint(s)
		nbits -= uint(s)
		if v < 1<<(s-1) {
			v += -1<<s + 1
		}
		z := jpegNatural[k&63] & 63
		blk[z] = int32(int16(v)) * q[z]
		last = k
		k++
	}
	d.acc, d.nbits = acc, nbits
	return last
}

// clearBlock zeroes the positions block wrote (zig-zag 0..last).
func clearBlock(blk *[64]int32, last int) {
	for _, z := range jpegNatural[:last+1] {
		blk[z] = 0
	}
}

// idctBlock is idctIslow, through the AVX2 kernel when it can run (blocks
// with more than a DC coefficient whose values keep its 32-bit lanes
// exact).
func idctBlock(out []uint8, stride int, blk *[64]int32, last int) {
	if last > 0 && useSIMD && idctSIMD(out, stride, blk) {
		return
	}
	idctIslow(out, stride, blk, last)
}

// The islow IDCT's constants (jidctint.c, CONST_BITS = 13).
const (
	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// idctIslow is libjpeg's jpeg_idct_islow on a dequantised block (block
// multiplies as libjpeg does: 16-bit multiplier × 16-bit coefficient): columns into an int workspace scaled by 2^2, rows
// descaled by 2^18 and range-limited, into 8×8 samples at out (stride).
// last is the highest zig-zag index of a nonzero coefficient; 0 takes the
// DC-only shortcut, which gives the same samples.
func idctIslow(out []uint8, stride int, blk *[64]int32, last int) {
	_ = out[7*stride+7]
	if last == 0 {
		dc := int(int32(blk[0]) << 2)
		v := rangeLimit[((dc+16)>>5)&1023]
		for y := 0; y < 8; y++ {
			r := out[y*stride : y*stride+8 : y*stride+8]
			for x := range r {
				r[x] = v
			}
		}
		return
	}
	var ws [64]int
	for x := 0; x < 8; x++ {
		if blk[8+x] == 0 && blk[16+x] == 0 && blk[24+x] == 0 && blk[32+x] == 0 &&
			blk[40+x] == 0 && blk[48+x] == 0 && blk[56+x] == 0 {
			dc := int(int32(blk[x]) << 2)
			for y := 0; y < 8; y++ {
				ws[8*y+x] = dc
			}
			continue
		}
		z2 := int(blk[16+x])
		z3 := int(blk[48+x])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 - z3*fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2 = int(blk[x])
		z3 = int(blk[32+x])
		tmp0 := (z2 + z3) << 13
		tmp1 := (z2 - z3) << 13
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp3 = int(blk[8+x])
		tmp2 = int(blk[24+x])
		tmp1 = int(blk[40+x])
		tmp0 = int(blk[56+x])
		o0, o1, o2, o3 := idctOdd(tmp0, tmp1, tmp2, tmp3)
		const r1 = 1 << 10
		ws[x] = int(int32((tmp10 + o3 + r1) >> 11))
		ws[56+x] = int(int32((tmp10 - o3 + r1) >> 11))
		ws[8+x] = int(int32((tmp11 + o2 + r1) >> 11))
		ws[48+x] = int(int32((tmp11 - o2 + r1) >> 11))
		ws[16+x] = int(int32((tmp12 + o1 + r1) >> 11))
		ws[40+x] = int(int32((tmp12 - o1 + r1) >> 11))
		ws[24+x] = int(int32((tmp13 + o0 + r1) >> 11))
		ws[32+x] = int(int32((tmp13 - o0 + r1) >> 11))
	}
	for y := 0; y < 8; y++ {
		w := ws[8*y : 8*y+8 : 8*y+8]
		o := out[y*stride : y*stride+8 : y*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := rangeLimit[((w[0]+16)>>5)&1023]
			for x := range o {
				o[x] = v
			}
			continue
		}
		z2, z3 := w[2], w[6]
		z1 := (z2 + z3) * fix0_541196100
		tmp0 := (w[0] + w[4]) << 13
		tmp3 := z1 + z2*fix0_765366865
		tmp1 := (w[0] - w[4]) << 13
		tmp2 := z1 - z3*fix1_847759065
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		o0, o1, o2, o3 := idctOdd(w[7], w[5], w[3], w[1])
		const r2 = 1 << 17
		o[0] = rangeLimit[((tmp10+o3+r2)>>18)&1023]
		o[7] = rangeLimit[((tmp10-o3+r2)>>18)&1023]
		o[1] = rangeLimit[((tmp11+o2+r2)>>18)&1023]
		o[6] = rangeLimit[((tmp11-o2+r2)>>18)&1023]
		o[2] = rangeLimit[((tmp12+o1+r2)>>18)&1023]
		o[5] = rangeLimit[((tmp12-o1+r2)>>18)&1023]
		o[3] = rangeLimit[((tmp13+o0+r2)>>18)&1023]
		o[4] = rangeLimit[((tmp13-o0+r2)>>18)&1023]
	}
}

// idctOdd is the odd part of jidctint.c's 1-D IDCT: inputs at positions 7,
// 5, 3, 1; outputs tmp0..tmp3 of the final butterfly.
func idctOdd(tmp0, tmp1, tmp2, tmp3 int) (int, int, int, int) {
	z4 := tmp1 + tmp3
	z3 := tmp0 + tmp2
	z2 := tmp1 + tmp2
	z1 := tmp0 + tmp3
	z5 := (z3 + z4) * fix1_175875602
	tmp3 *= fix1_501321110
	tmp2 *= fix3_072711026
	tmp1 *= fix2_053119869
	tmp0 *= fix0_298631336
	z4 = z4*-fix0_390180644 + z5
	z3 = z3*-fix1_961570560 + z5
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	tmp3 += z1 + z4
	tmp2 += z2 + z3
	tmp1 += z2 + z4
	tmp0 += z1 + z3
	return tmp0, tmp1, tmp2, tmp3
}
