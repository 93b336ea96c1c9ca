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
// k[i*ksize : i*ksize+bounds[2i+1]].
type coeffs struct {
	ksize  int
	bounds []int
	k      []int32
}

// precomputeCoeffs mirrors precompute_coeffs and normalize_coeffs_8bpc of
// libImaging/Resample.c (Pillow 9.4): the float64 weights of each output
// sample normalised by their sum, then rounded half away from zero to
// PRECISION_BITS fixed point. in0/in1 are the box edges (float32 in PIL).
func precomputeCoeffs(inSize int, in0, in1 float32, outSize int, f Filter) coeffs {
	filter, fsupport := f.kernel()
	scale := float64(in1-in0) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := fsupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	ss := 1 / filterscale
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
		ww := 0.0
		for x := 0; x < xmax; x++ {
			v := filter((float64(x+xmin) - center + 0.5) * ss)
			w[x] = v
			ww += v
		}
		k := c.k[xx*ksize : (xx+1)*ksize]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.bounds[2*xx] = xmin
		c.bounds[2*xx+1] = xmax
	}
	return c
}

// clip8 is PIL's clip8: the accumulator shifted down by PRECISION_BITS and
// clamped to 0..255.
func clip8(ss int) uint8 {
	v := ss >> precisionBits
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
	const half = 1 << (precisionBits - 1)
	ks := c.ksize
	for yy := 0; yy < rows; yy++ {
		srow := src[(yy+rowOffset)*srcW*3 : (yy+rowOffset+1)*srcW*3]
		drow := dst[yy*dstW*3 : (yy+1)*dstW*3]
		for xx := 0; xx < dstW; xx++ {
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
			d[0] = clip8(ss0)
			d[1] = clip8(ss1)
			d[2] = clip8(ss2)
		}
	}
}

// resampleVertical fills dst (w × dstH RGB) from src (w wide), as
// ImagingResampleVertical_8bpc. acc is scratch of at least w*3 ints. Integer
// sums are exact, so accumulating row by row gives PIL's per-pixel sums.
func resampleVertical(dst []uint8, w, dstH int, src []uint8, c coeffs, acc []int) {
	const half = 1 << (precisionBits - 1)
	rowLen := w * 3
	acc = acc[:rowLen]
	for yy := 0; yy < dstH; yy++ {
		ymin, n := c.bounds[2*yy], c.bounds[2*yy+1]
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
			drow[i] = clip8(s)
		}
	}
}

// Resize returns img resized to w × h with filter f, bit-exact with Pillow
// 9.4's Image.resize((w, h), f) (reducing_gap=None, no box) on an RGB image:
// libImaging's separable fixed-point resampler (horizontal pass over only the
// rows the vertical pass needs, then the vertical pass; a pass is skipped when
// its dimension is unchanged), and for Nearest the affine scaling path PIL
// takes instead. It panics if w or h is not positive or f is not a valid
// filter (programmer errors); the input is not modified.
func Resize(img *RGB, w, h int, f Filter) *RGB {
	out := &RGB{}
	ResizeInto(out, img, w, h, f, nil)
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
	c       coeffs
}

const coeffCacheSize = 8

func (r *Resizer) coeffs(in, out int, f Filter) coeffs {
	if r == nil {
		return precomputeCoeffs(in, 0, float32(in), out, f)
	}
	for i := range r.cache {
		if e := &r.cache[i]; e.in == in && e.out == out && e.f == f {
			return e.c
		}
	}
	c := precomputeCoeffs(in, 0, float32(in), out, f)
	if len(r.cache) >= coeffCacheSize {
		copy(r.cache, r.cache[1:])
		r.cache = r.cache[:len(r.cache)-1]
	}
	r.cache = append(r.cache, cachedCoeffs{in: in, out: out, f: f, c: c})
	return c
}

// Resize is the package-level Resize, reusing r's scratch. dst.Pix is reused
// when large enough.
func (r *Resizer) Resize(dst, img *RGB, w, h int, f Filter) {
	ResizeInto(dst, img, w, h, f, r)
}

// ResizeInto resizes img into dst (reusing dst.Pix when it is large enough);
// r may be nil.
func ResizeInto(dst, img *RGB, w, h int, f Filter, r *Resizer) {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("imageproc: resize to %dx%d", w, h))
	}
	if !f.Valid() {
		panic("imageproc: invalid filter " + f.String())
	}
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
	needH := w != img.W
	needV := h != img.H
	ch := r.coeffs(img.W, w, f)
	cv := r.coeffs(img.H, h, f)
	var scratch *Resizer
	if r != nil {
		scratch = r
	} else {
		scratch = &Resizer{}
	}
	if needH && !needV {
		resampleHorizontal(dst.Pix, w, img.Pix, img.W, 0, h, ch)
		return
	}
	src, srcW := img.Pix, img.W
	boundsV := cv.bounds
	if needH {
		// Only rows ybox_first .. ybox_last-1 feed the vertical pass.
		first := cv.bounds[0]
		last := cv.bounds[2*h-2] + cv.bounds[2*h-1]
		rows := last - first
		scratch.tmp = grow(scratch.tmp, w*rows*3)
		resampleHorizontal(scratch.tmp, w, img.Pix, img.W, first, rows, ch)
		shifted := make([]int, len(cv.bounds))
		copy(shifted, cv.bounds)
		for i := 0; i < h; i++ {
			shifted[2*i] -= first
		}
		boundsV = shifted
		src, srcW = scratch.tmp, w
	}
	scratch.acc = growInt(scratch.acc, srcW*3)
	resampleVertical(dst.Pix, srcW, h, src, coeffs{ksize: cv.ksize, bounds: boundsV, k: cv.k}, scratch.acc)
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
