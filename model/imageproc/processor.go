package imageproc

import (
	"errors"
	"fmt"
	"sync"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// ErrBatchShape is returned by ProcessBytes when images of one batch come out
// with different sizes (only possible with resizing or cropping turned off).
var ErrBatchShape = errors.New("imageproc: images in a batch have different output sizes")

// Processor turns images into FLAVA's model inputs exactly as the
// transformers image processor named by Config.Backend does (default: the
// torchvision backend of transformers 5). It is safe for concurrent use.
type Processor struct {
	cfg  Config
	s    settings
	pool sync.Pool // *worker
}

// worker is per-goroutine scratch: resampler buffers and the resized and
// cropped images.
type worker struct {
	rs            Resizer
	resized, crop RGB
}

// NewProcessor validates cfg and returns a Processor; the zero Config gives
// facebook/flava-full's preprocessing.
func NewProcessor(cfg Config) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Processor{cfg: cfg, s: cfg.settings()}
	p.pool.New = func() any { return &worker{} }
	return p, nil
}

// Config returns the configuration the Processor was built with.
func (p *Processor) Config() Config { return p.cfg }

// DecodeOptions returns the decoding options the Processor applies.
func (p *Processor) DecodeOptions() DecodeOptions {
	return DecodeOptions{MaxPixels: p.s.maxPixels, MaxPixelsPerByte: p.cfg.MaxPixelsPerByte, MaxDecodeBytes: p.cfg.MaxDecodeBytes,
		IgnoreOrientation: p.cfg.IgnoreOrientation, Backend: p.s.backend, Input: p.cfg.Input}
}

// Decode decodes image bytes with the Processor's decoding options.
func (p *Processor) Decode(data []byte) (*RGB, error) {
	return Decode(data, p.DecodeOptions())
}

// PixelShape returns the (channels, height, width) of PixelValues for an
// image of w × h pixels.
func (p *Processor) PixelShape(w, h int) (int, int, int) {
	ow, oh := p.s.pixel.outputSize(w, h)
	return 3, oh, ow
}

// CodebookPixelShape returns the (channels, height, width) of
// CodebookPixelValues for an image of w × h pixels.
func (p *Processor) CodebookPixelShape(w, h int) (int, int, int) {
	ow, oh := p.s.codebook.outputSize(w, h)
	return 3, oh, ow
}

// PixelValues returns pixel_values for one image, CHW float32 (3×224×224
// with the default config).
func (p *Processor) PixelValues(img *RGB) []float32 {
	return p.PixelValuesInto(nil, img)
}

// PixelValuesInto writes pixel_values into dst (grown if too small) and
// returns it.
func (p *Processor) PixelValuesInto(dst []float32, img *RGB) []float32 {
	return p.run(&p.s.pixel, dst, img)
}

// CodebookPixelValues returns codebook_pixel_values for one image, CHW
// float32 (3×112×112 with the default config).
func (p *Processor) CodebookPixelValues(img *RGB) []float32 {
	return p.CodebookPixelValuesInto(nil, img)
}

// CodebookPixelValuesInto writes codebook_pixel_values into dst (grown if
// too small) and returns it.
func (p *Processor) CodebookPixelValuesInto(dst []float32, img *RGB) []float32 {
	return p.run(&p.s.codebook, dst, img)
}

// outputSize is the (w, h) of a path's output for a w × h input.
func (s *pathSettings) outputSize(w, h int) (int, int) {
	if s.resize {
		w, h = s.resizeTarget(w, h)
	}
	if s.crop {
		w, h = s.cropSize.Width, s.cropSize.Height
	}
	return w, h
}

// resizeTarget mirrors the PIL backend's resize: an exact height × width, or
// get_resize_output_image_size for shortest_edge (default_to_square=False).
func (s *pathSettings) resizeTarget(w, h int) (int, int) {
	if s.size.ShortestEdge == 0 {
		return s.size.Width, s.size.Height
	}
	short, long := h, w
	if w <= h {
		short, long = w, h
	}
	ns := s.size.ShortestEdge
	nl := int(float64(ns) * float64(long) / float64(short))
	nl = max(nl, 1)
	if w <= h {
		return ns, nl
	}
	return nl, ns
}

func (p *Processor) run(s *pathSettings, dst []float32, img *RGB) []float32 {
	img.check()
	wk := p.pool.Get().(*worker)
	defer p.pool.Put(wk)
	cur := img
	if s.resize {
		w, h := s.resizeTarget(img.W, img.H)
		ResizeWith(&wk.resized, img, w, h, s.filter, p.s.backend, &wk.rs)
		cur = &wk.resized
	}
	if s.crop && (cur.W != s.cropSize.Width || cur.H != s.cropSize.Height) {
		centerCrop(&wk.crop, cur, s.cropSize.Width, s.cropSize.Height)
		cur = &wk.crop
	}
	n := cur.W * cur.H * 3
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	s.toCHW(dst, cur)
	return dst
}

// toCHW converts to float32 CHW exactly as transformers' numpy steps:
// rescale float32(float64(x) * factor), normalise (x - mean) / std in
// float32, map_pixels x*float32(0.8) + float32(0.1) in float32. Each value
// depends only on the uint8 and the channel, so a 256-entry table per
// channel gives identical numbers.
func (s *pathSettings) toCHW(dst []float32, img *RGB) {
	plane := img.W * img.H
	var lut [3][256]float32
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			lut[c][v] = s.pixel(uint8(v), c)
		}
	}
	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	pix := img.Pix[:plane*3]
	for i := range r {
		p := pix[3*i : 3*i+3 : 3*i+3]
		r[i] = lut[0][p[0]]
		g[i] = lut[1][p[1]]
		b[i] = lut[2][p[2]]
	}
}

// pixel is the float pipeline for one uint8 value of channel c.
//
// PIL backends (numpy): rescale float32(float64(x) * factor), then
// (x - mean) / std in float32. Torchvision backend (torch float32 tensors):
// with both steps on, rescale is fused into normalisation as transformers'
// TorchvisionBackend does — (x - float32(mean·(1/factor))) /
// float32(std·(1/factor)) — else x·float32(factor) and (x - mean) / std.
func (s *pathSettings) pixel(v uint8, c int) float32 {
	x := float32(v)
	if s.torch {
		switch {
		case s.rescale && s.normalize:
			inv := float32(1 / s.factor)
			x = (x - float32(s.mean[c]*inv)) / float32(s.std[c]*inv)
		case s.rescale:
			x *= float32(s.factor)
		case s.normalize:
			x = (x - s.mean[c]) / s.std[c]
		}
		if s.mapPixels {
			x = float32(x*float32(1-2*0.1)) + float32(0.1)
		}
		return x
	}
	if s.rescale {
		x = float32(float64(v) * s.factor)
	}
	if s.normalize {
		x = float32(x-s.mean[c]) / s.std[c]
	}
	if s.mapPixels {
		// 1 - 2*LOGIT_LAPLACE_EPS and LOGIT_LAPLACE_EPS, as float32; the
		// explicit conversion keeps the multiply and add separately rounded.
		x = float32(x*float32(1-2*0.1)) + float32(0.1)
	}
	return x
}

// centerCrop mirrors transformers' image_transforms.center_crop: top =
// (H - h) // 2, left = (W - w) // 2 (floor division), zero padding centred
// with ceil((new - old) / 2) when the image is smaller than the crop.
func centerCrop(dst, img *RGB, w, h int) {
	dst.W, dst.H = w, h
	dst.Pix = grow(dst.Pix, w*h*3)
	clear(dst.Pix)
	top := floorDiv(img.H-h, 2)
	left := floorDiv(img.W-w, 2)
	padTop, padLeft := 0, 0
	if top < 0 || left < 0 || top+h > img.H || left+w > img.W {
		newH, newW := max(h, img.H), max(w, img.W)
		padTop = (newH - img.H + 1) / 2
		padLeft = (newW - img.W + 1) / 2
		top += padTop
		left += padLeft
	}
	// Output pixel (x, y) reads padded pixel (left+x, top+y), i.e. source
	// pixel (left+x-padLeft, top+y-padTop) when inside the source.
	for y := 0; y < h; y++ {
		sy := top + y - padTop
		if sy < 0 || sy >= img.H {
			continue
		}
		x0 := max(0, padLeft-left)
		x1 := min(w, img.W+padLeft-left)
		if x0 >= x1 {
			continue
		}
		sx0 := left + x0 - padLeft
		copy(dst.Pix[(y*w+x0)*3:(y*w+x1)*3], img.Pix[(sy*img.W+sx0)*3:])
	}
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Batch holds a batch of model inputs, as FlavaImageProcessor returns them.
type Batch struct {
	// PixelValues is (B, 3, H, W).
	PixelValues *tensor.Tensor
	// CodebookPixelValues is (B, 3, h, w); nil unless ReturnCodebookPixels.
	CodebookPixelValues *tensor.Tensor
	// BoolMaskedPos is (B, side, side); nil unless ReturnImageMask.
	BoolMaskedPos *tensor.Bool
}

// ProcessBytes decodes and preprocesses a batch of encoded images. Masks
// (when configured) come from one MaskGenerator seeded with maskSeed, one
// mask per image in order. The first failing image stops the batch; its
// index is in the error, which wraps the decoding sentinel.
func (p *Processor) ProcessBytes(images [][]byte, maskSeed uint64) (*Batch, error) {
	imgs := make([]*RGB, len(images))
	for i, b := range images {
		img, err := p.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("imageproc: image %d: %w", i, err)
		}
		imgs[i] = img
	}
	return p.Process(imgs, maskSeed)
}

// Process preprocesses decoded images into a Batch (see ProcessBytes).
func (p *Processor) Process(imgs []*RGB, maskSeed uint64) (*Batch, error) {
	out := &Batch{}
	var err error
	if out.PixelValues, err = p.stack(&p.s.pixel, imgs); err != nil {
		return nil, err
	}
	if p.cfg.ReturnCodebookPixels {
		if out.CodebookPixelValues, err = p.stack(&p.s.codebook, imgs); err != nil {
			return nil, err
		}
	}
	if p.cfg.ReturnImageMask {
		side := p.s.mask.side
		out.BoolMaskedPos = tensor.NewBool(len(imgs), side, side)
		g := p.MaskGenerator(maskSeed)
		for i := range imgs {
			g.NextInto(out.BoolMaskedPos.Data[i*side*side : (i+1)*side*side])
		}
	}
	return out, nil
}

func (p *Processor) stack(s *pathSettings, imgs []*RGB) (*tensor.Tensor, error) {
	if len(imgs) == 0 {
		ow, oh := s.outputSize(1, 1)
		return tensor.New(0, 3, oh, ow), nil
	}
	w, h := s.outputSize(imgs[0].W, imgs[0].H)
	for i, img := range imgs[1:] {
		if ow, oh := s.outputSize(img.W, img.H); ow != w || oh != h {
			return nil, fmt.Errorf("%w: image %d gives %dx%d, image 0 gives %dx%d", ErrBatchShape, i+1, ow, oh, w, h)
		}
	}
	t := tensor.New(len(imgs), 3, h, w)
	n := 3 * h * w
	for i, img := range imgs {
		p.run(s, t.Data[i*n:(i+1)*n], img)
	}
	return t, nil
}
