package imageproc

import (
	"fmt"
	"math"
)

// Filter is a resampling filter, numbered as PIL's Image.Resampling (and as
// the "resample" keys of a Hugging Face preprocessor_config.json).
type Filter int

// Resampling filters, with PIL's numbers.
const (
	Nearest  Filter = 0
	Lanczos  Filter = 1
	Bilinear Filter = 2
	Bicubic  Filter = 3
	Box      Filter = 4
	Hamming  Filter = 5
)

// String returns PIL's name for the filter.
func (f Filter) String() string {
	switch f {
	case Nearest:
		return "NEAREST"
	case Lanczos:
		return "LANCZOS"
	case Bilinear:
		return "BILINEAR"
	case Bicubic:
		return "BICUBIC"
	case Box:
		return "BOX"
	case Hamming:
		return "HAMMING"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// Valid reports whether f is one of the six PIL filters.
func (f Filter) Valid() bool { return f >= Nearest && f <= Hamming }

// The filter kernels of libImaging/Resample.c, evaluated in float64 exactly as
// there (same operation order, so the same doubles).

func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func bilinearFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

func hammingFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x == 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	x *= math.Pi
	return math.Sin(x) / x * (0.54 + 0.46*math.Cos(x))
}

func bicubicFilter(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

func sincFilter(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

func lanczosFilter(x float64) float64 {
	if -3 <= x && x < 3 {
		return sincFilter(x) * sincFilter(x/3)
	}
	return 0
}

// kernel returns the filter function and its support (in input pixels at
// scale 1).
func (f Filter) kernel() (func(float64) float64, float64) {
	switch f {
	case Box:
		return boxFilter, 0.5
	case Bilinear:
		return bilinearFilter, 1
	case Hamming:
		return hammingFilter, 1
	case Bicubic:
		return bicubicFilter, 2
	case Lanczos:
		return lanczosFilter, 3
	}
	panic("imageproc: no convolution kernel for filter " + f.String())
}

// precisionBits is PIL's PRECISION_BITS for 8-bit images: 32 - 8 - 2.
const precisionBits = 32 - 8 - 2

// coeffs are the fixed-point weights of one resampling pass: output sample i
// reads inputs bounds[2i] .. bounds[2i]+bounds[2i+1]-1 with weights
// k[i*ksize : i*ksize+bounds[2i+1]], in fixed point with prec fraction bits.
type coeffs struct {
	ksize  int
	bounds []int
	k      []int32
	prec   uint
	simd   *simdCoeffs // kernel layout; nil without the kernels or when int32 sums could overflow
}

// quantization is how float weights become fixed point.
type quantization int

const (
	// quantPIL: PRECISION_BITS = 22 for every axis (Pillow's Resample.c).
	quantPIL quantization = iota
	// quantInt16: torch's uint8 antialiased kernel (UpSampleKernel,
	// Pillow-SIMD derived): int16 weights with a per-axis precision.
	quantInt16
)

// precomputeCoeffs mirrors precompute_coeffs and normalize_coeffs_8bpc of
// libImaging/Resample.c: the float64 weights of each output sample
// normalised by their sum, then rounded half away from zero to fixed point.
// in0/in1 are the box edges (float32 in PIL). With quantInt16 the same
// normalised weights are quantised as torch's
// _compute_indices_int16_weights_aa does: precision p is where
// int(0.5 + wmax·2^(p+1)) first reaches 2^15 (wmax the largest weight of the
// axis), at most 21, and each weight is int16(w·2^p ± 0.5).
func precomputeCoeffs(inSize int, in0, in1 float32, outSize int, f Filter, q quantization) coeffs {
	filter, fsupport := f.kernel()
	scale := float64(in1-in0) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := fsupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize), prec: precisionBits}
	w := make([]float64, outSize*ksize)
	ss := 1 / filterscale
	wmax := 0.0
	for xx := 0; xx < outSize; xx++ {
		center := float64(in0) + (float64(xx)+0.5)*scale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		if xmax > ksize { // cannot happen for finite inputs; keeps indexing safe
			xmax = ksize
		}
		if xmax < 0 {
			xmax = 0
		}
		row := w[xx*ksize : xx*ksize+xmax]
		ww := 0.0
		for x := range row {
			v := filter((float64(x+xmin) - center + 0.5) * ss)
			row[x] = v
			ww += v
		}
		for x := range row {
			if ww != 0 {
				row[x] /= ww
			}
			wmax = max(wmax, row[x])
		}
		c.bounds[2*xx] = xmin
		c.bounds[2*xx+1] = xmax
	}
	if q == quantInt16 {
		c.prec = 0
		for c.prec < 22 && int(0.5+wmax*float64(int(1)<<(c.prec+1))) < 1<<15 {
			c.prec++
		}
	}
	one := float64(int(1) << c.prec)
	for xx := 0; xx < outSize; xx++ {
		n := c.bounds[2*xx+1]
		for x, v := range w[xx*ksize : xx*ksize+n] {
			if v < 0 {
				c.k[xx*ksize+x] = int32(-0.5 + v*one)
			} else {
				c.k[xx*ksize+x] = int32(0.5 + v*one)
			}
		}
	}
	if haveSIMD {
		c.simd = simdLayout(c)
	}
	return c
}

// clip8 is PIL's clip8: the accumulator shifted down by prec bits and
// clamped to 0..255.
func clip8(ss int, prec uint) uint8 {
	v := ss >> prec
	if uint(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// resampleHorizontal fills dst (dstW × rows RGB) from rows rowOffset.. of src
// (srcW wide), as ImagingResampleHorizontal_8bpc.
func resampleHorizontal(dst []uint8, dstW int, src []uint8, srcW, rowOffset, rows int, c coeffs) {
	fast := useSIMD && c.simd != nil
	for yy := 0; yy < rows; yy++ {
		start := (yy + rowOffset) * srcW * 3
		srow := src[start : start+srcW*3]
		drow := dst[yy*dstW*3 : (yy+1)*dstW*3]
		x0 := 0
		if fast {
			// The kernel's loads run past the pixels it weights (with
			// weight 0); on the last rows they must stay inside src.
			if avail := len(src) - start; c.simd.hMax <= avail {
				x0 = dstW
			} else {
				for x0 < dstW && c.simd.hRead[x0] <= avail {
					x0++
				}
			}
			if x0 > 0 {
				resampleRowH(drow, srow, x0, c.simd, c.prec)
			}
		}
		resampleRowHGo(drow, srow, x0, dstW, c)
	}
}

// resampleRowHGo computes outputs x0..x1-1 of one row of the horizontal
// pass.
func resampleRowHGo(drow, srow []uint8, x0, x1 int, c coeffs) {
	half := 1 << (c.prec - 1)
	ks := c.ksize
	for xx := x0; xx < x1; xx++ {
		xmin, n := c.bounds[2*xx], c.bounds[2*xx+1]
		k := c.k[xx*ks : xx*ks+n]
		s := srow[xmin*3 : (xmin+n)*3]
		ss0, ss1, ss2 := half, half, half
		for len(k) >= 2 && len(s) >= 6 {
			w0, w1 := int(k[0]), int(k[1])
			ss0 += int(s[0])*w0 + int(s[3])*w1
			ss1 += int(s[1])*w0 + int(s[4])*w1
			ss2 += int(s[2])*w0 + int(s[5])*w1
			k, s = k[2:], s[6:]
		}
		if len(k) == 1 && len(s) >= 3 {
			w0 := int(k[0])
			ss0 += int(s[0]) * w0
			ss1 += int(s[1]) * w0
			ss2 += int(s[2]) * w0
		}
		d := drow[xx*3 : xx*3+3 : xx*3+3]
		d[0] = clip8(ss0, c.prec)
		d[1] = clip8(ss1, c.prec)
		d[2] = clip8(ss2, c.prec)
	}
}

// resampleVertical fills dst (w × dstH RGB) from src (w wide), as
// ImagingResampleVertical_8bpc; src's row 0 is the image's row first (the
// bounds are in image rows). acc is scratch of at least w*3 ints. Integer
// sums are exact, so accumulating row by row gives PIL's per-pixel sums.
func resampleVertical(dst []uint8, w, dstH int, src []uint8, first int, c coeffs, acc []int) {
	half := 1 << (c.prec - 1)
	rowLen := w * 3
	if useSIMD && c.simd != nil && rowLen >= 16 {
		for yy := 0; yy < dstH; yy++ {
			ymin, n := c.bounds[2*yy]-first, c.bounds[2*yy+1]
			drow := dst[yy*rowLen : (yy+1)*rowLen]
			if n == 0 {
				for i := range drow {
					drow[i] = clip8(half, c.prec)
				}
				continue
			}
			resampleRowV(drow, src[ymin*rowLen:(ymin+n)*rowLen], rowLen, yy, c.simd, c.prec)
		}
		return
	}
	acc = acc[:rowLen]
	for yy := 0; yy < dstH; yy++ {
		ymin, n := c.bounds[2*yy]-first, c.bounds[2*yy+1]
		k := c.k[yy*c.ksize : yy*c.ksize+n]
		for i := range acc {
			acc[i] = half
		}
		for y, wt := range k {
			row := src[(ymin+y)*rowLen : (ymin+y+1)*rowLen]
			row = row[:len(acc)]
			wi := int(wt)
			for i, p := range row {
				acc[i] += int(p) * wi
			}
		}
		drow := dst[yy*rowLen : (yy+1)*rowLen]
		drow = drow[:len(acc)]
		for i, s := range acc {
			drow[i] = clip8(s, c.prec)
		}
	}
}

// Resize returns img resized to w × h with filter f, bit-exact with Pillow
// 12.3 and older (9.4 tested): Image.resize((w, h), f) with
// reducing_gap=None, no box, on an RGB image. It is ResizeWith with
// BackendPILLegacy; see ResizeWith for the other backends. It panics if w or
// h is not positive or f is not a valid filter (programmer errors); the
// input is not modified.
func Resize(img *RGB, w, h int, f Filter) *RGB {
	out := &RGB{}
	ResizeWith(out, img, w, h, f, BackendPILLegacy, nil)
	return out
}

// Resizer holds scratch buffers and cached coefficients so that repeated
// resizes allocate nothing beyond their outputs. A Resizer is not safe for
// concurrent use; the zero value is ready.
type Resizer struct {
	tmp   []uint8
	acc   []int
	cache []cachedCoeffs
}

type cachedCoeffs struct {
	in, out int
	f       Filter
	q       quantization
	c       coeffs
}

const coeffCacheSize = 8

func (r *Resizer) coeffs(in, out int, f Filter, q quantization) coeffs {
	if r == nil {
		return precomputeCoeffs(in, 0, float32(in), out, f, q)
	}
	for i := range r.cache {
		if e := &r.cache[i]; e.in == in && e.out == out && e.f == f && e.q == q {
			return e.c
		}
	}
	c := precomputeCoeffs(in, 0, float32(in), out, f, q)
	if len(r.cache) >= coeffCacheSize {
		copy(r.cache, r.cache[1:])
		r.cache = r.cache[:len(r.cache)-1]
	}
	r.cache = append(r.cache, cachedCoeffs{in: in, out: out, f: f, q: q, c: c})
	return c
}

// Resize is the package-level Resize (Pillow 12.3 and older), reusing r's
// scratch. dst.Pix is reused when large enough.
func (r *Resizer) Resize(dst, img *RGB, w, h int, f Filter) {
	ResizeWith(dst, img, w, h, f, BackendPILLegacy, r)
}

// ResizeInto resizes img into dst as Resize does (Pillow 12.3 and older),
// reusing dst.Pix when it is large enough; r may be nil.
func ResizeInto(dst, img *RGB, w, h int, f Filter, r *Resizer) {
	ResizeWith(dst, img, w, h, f, BackendPILLegacy, r)
}

// SupportsFilter reports whether backend b resizes with filter f.
// BackendTorchvision reproduces torch's antialiased uint8 kernel, which
// exists for Bilinear, Bicubic and Lanczos only.
func (b Backend) SupportsFilter(f Filter) bool {
	if !f.Valid() {
		return false
	}
	if b.orDefault() == BackendTorchvision {
		return f == Bilinear || f == Bicubic || f == Lanczos
	}
	return true
}

// ResizeWith resizes img into dst (reusing dst.Pix when it is large enough)
// bit-exact with backend b's resize of a uint8 RGB image; r may be nil.
//
//   - BackendPILLegacy (Pillow ≤ 12.3): libImaging's separable fixed-point
//     resampler with 22-bit weights, horizontal pass first (over only the
//     rows the vertical pass reads), then vertical; a pass is skipped when
//     its dimension is unchanged. Nearest takes PIL's affine scaling path.
//   - BackendPIL (Pillow ≥ 13): the same passes and weights, but the
//     vertical pass runs first, over every column, when
//     (in_h − h) > 0 and (in_h − h) > 2·(in_w − w).
//   - BackendTorchvision (torch's uint8 antialiased interpolate): the same
//     filter taps and normalised weights, quantised to int16 with a
//     per-axis precision (see precomputeCoeffs), horizontal pass always
//     first. Only Bilinear, Bicubic and Lanczos (SupportsFilter).
//
// It panics if w or h is not positive or the filter is not supported by
// the backend (programmer errors: Config.Validate refuses such configs).
func ResizeWith(dst, img *RGB, w, h int, f Filter, b Backend, r *Resizer) {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("imageproc: resize to %dx%d", w, h))
	}
	if !b.SupportsFilter(f) {
		panic("imageproc: backend " + b.String() + " has no filter " + f.String())
	}
	b = b.orDefault()
	img.check()
	dst.W, dst.H = w, h
	dst.Pix = grow(dst.Pix, w*h*3)
	if w == img.W && h == img.H {
		copy(dst.Pix, img.Pix)
		return
	}
	if f == Nearest {
		scaleAffineNearest(dst, img)
		return
	}
	q := quantPIL
	if b == BackendTorchvision {
		q = quantInt16
	}
	needH := w != img.W
	needV := h != img.H
	ch := r.coeffs(img.W, w, f, q)
	cv := r.coeffs(img.H, h, f, q)
	scratch := r
	if scratch == nil {
		scratch = &Resizer{}
	}
	if needH && !needV {
		resampleHorizontal(dst.Pix, w, img.Pix, img.W, 0, h, ch)
		return
	}
	if b == BackendPIL && needH && img.H-h > 0 && img.H-h > 2*(img.W-w) {
		// Pillow 13: vertical first over the whole width, then horizontal.
		scratch.tmp = grow(scratch.tmp, img.W*h*3)
		scratch.acc = growInt(scratch.acc, img.W*3)
		resampleVertical(scratch.tmp, img.W, h, img.Pix, 0, cv, scratch.acc)
		resampleHorizontal(dst.Pix, w, scratch.tmp, img.W, 0, h, ch)
		return
	}
	src, srcW, first := img.Pix, img.W, 0
	if needH {
		// Only rows ybox_first .. ybox_last-1 feed the vertical pass.
		first = cv.bounds[0]
		last := cv.bounds[2*h-2] + cv.bounds[2*h-1]
		rows := last - first
		scratch.tmp = grow(scratch.tmp, w*rows*3)
		resampleHorizontal(scratch.tmp, w, img.Pix, img.W, first, rows, ch)
		src, srcW = scratch.tmp, w
	}
	scratch.acc = growInt(scratch.acc, srcW*3)
	resampleVertical(dst.Pix, srcW, h, src, first, cv, scratch.acc)
}

// scaleAffineNearest mirrors PIL's NEAREST resize, which _imaging.c routes to
// ImagingTransformAffine → ImagingScaleAffine: source coordinates start at
// a0*0.5 and advance by a0 = in/out (float64), truncated; outside pixels are 0.
func scaleAffineNearest(dst, img *RGB) {
	a0 := float64(float32(img.W)) / float64(dst.W)
	a4 := float64(float32(img.H)) / float64(dst.H)
	xin := make([]int, dst.W)
	xo := a0 * 0.5
	for x := range xin {
		xin[x] = coord(xo)
		xo += a0
	}
	yo := a4 * 0.5
	for y := 0; y < dst.H; y++ {
		yi := coord(yo)
		yo += a4
		out := dst.Pix[y*dst.W*3 : (y+1)*dst.W*3]
		if yi < 0 || yi >= img.H {
			clear(out)
			continue
		}
		in := img.Pix[yi*img.W*3 : (yi+1)*img.W*3]
		for x, xi := range xin {
			if xi < 0 || xi >= img.W {
				out[3*x], out[3*x+1], out[3*x+2] = 0, 0, 0
				continue
			}
			copy(out[3*x:3*x+3], in[3*xi:3*xi+3])
		}
	}
}

func coord(v float64) int {
	if v < 0 {
		return -1
	}
	return int(v)
}

func grow(b []uint8, n int) []uint8 {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]uint8, n)
}

func growInt(b []int, n int) []int {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]int, n)
}
