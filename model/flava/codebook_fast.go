package flava

import (
	"sync"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// This file is the codebook's allocation-free path, the one Forward,
// CodebookIndices and CodebookProbs run: the same modules in the same order
// as the Forward methods in codebook.go (which stay as the plain NCHW
// reference), with every feature map in Workspace buffers and kept NHWC
// (pixel-major): the NCHW pixels are transposed in, every convolution runs
// through kernels.Conv2DNHWC with weights packed once per ImageCodebook
// (codebookPacked), pooling is kernels.MaxPool2DNHWC, and the output
// convolution writes pixel-major logits, so the argmax over the vocabulary
// reads contiguous rows; logits are transposed to NCHW only when asked for.
//
// Images are the parallel unit: a batch is split over the kernel pool, each
// chunk pushing one image at a time through the whole network with its own
// buffers; a convolution called while the other cores are busy runs on its
// caller's core, and one that finds a core idle (batch 1, or the last image
// of an odd batch) spreads its output pixels and channels over it.

// codebookPacked holds the codebook's convolution weights packed for
// kernels.Conv2DNHWC (float32) or kernels.Conv2DNHWCBF16 (bf16, after
// SetPrecision(PrecisionBF16)), built on the first fast-path call at that
// precision (under mu, so concurrent first callers wait for one packing).
// A float32 packed copy takes as much memory again as the codebook's
// convolution weights (~215 MB for flava-image-codebook), a bf16 one half
// that; SetPrecision drops the copy of the other precision. The weights
// must not change after the first call.
type codebookPacked struct {
	mu   sync.Mutex
	bf16 bool // SetPrecision(PrecisionBF16) was called
	w    map[*CodebookConv2d]*kernels.ConvWeights
	wb   map[*CodebookConv2d]*kernels.ConvWeightsBF16
}

// codebookWeights are the packed weights one forward pass runs on: bf16
// when wb is not nil, else float32.
type codebookWeights struct {
	w  map[*CodebookConv2d]*kernels.ConvWeights
	wb map[*CodebookConv2d]*kernels.ConvWeightsBF16
}

// packed returns the packed weights of every convolution of cb at its
// precision, packing them on first use.
func (cb *ImageCodebook) packed() codebookWeights {
	pk := &cb.nhwc
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if pk.bf16 {
		if pk.wb == nil {
			m := make(map[*CodebookConv2d]*kernels.ConvWeightsBF16)
			for _, c := range cb.convs() {
				m[c] = kernels.PackConvWeightsBF16(c.Weight.Data, c.params(1, 1, false))
			}
			pk.wb = m
		}
		return codebookWeights{wb: pk.wb}
	}
	if pk.w == nil {
		m := make(map[*CodebookConv2d]*kernels.ConvWeights)
		for _, c := range cb.convs() {
			m[c] = kernels.PackConvWeights(c.Weight.Data, c.params(1, 1, false))
		}
		pk.w = m
	}
	return codebookWeights{w: pk.w}
}

// SetPrecision sets the arithmetic of the codebook's convolutions:
// PrecisionF32 (the default, the precision the parity fixtures are checked
// at) or PrecisionBF16, which rounds the convolution weights and the
// feature maps entering each convolution to bfloat16 and accumulates in
// float32 (bias, residual sums, pooling and the argmax stay float32). bf16
// is refused with ErrBF16Unsupported on a CPU without native bf16
// products. It changes the codebook only: Model.SetPrecision and
// ForPreTraining.SetPrecision leave the codebook at its own precision.
// The packed copy of the previous precision is dropped; the new one is
// packed on the next forward pass. Call it when no forward pass is
// running. BENCHMARKS.md has the speed and the token-id agreement with
// float32 it was measured at.
func (cb *ImageCodebook) SetPrecision(p Precision) error {
	if err := checkPrecision(p); err != nil {
		return err
	}
	pk := &cb.nhwc
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if bf := p == PrecisionBF16; bf != pk.bf16 {
		pk.bf16 = bf
		pk.w, pk.wb = nil, nil
	}
	return nil
}

// Precision returns the codebook's precision (SetPrecision).
func (cb *ImageCodebook) Precision() Precision {
	cb.nhwc.mu.Lock()
	defer cb.nhwc.mu.Unlock()
	if cb.nhwc.bf16 {
		return PrecisionBF16
	}
	return PrecisionF32
}

// conv runs c on one image: dst = conv(x) (ReLU(x) when p.ReLUInput), or,
// with res, dst = res + gain·conv(x).
func (cw codebookWeights) conv(c *CodebookConv2d, dst, x []float32, p kernels.Conv2DParams, gain float32, res []float32) {
	dst = dst[:c.Out*p.OutH()*p.OutW()]
	switch {
	case cw.wb != nil && res != nil:
		kernels.Conv2DNHWCAddScaledBF16(dst, x, p, cw.wb[c], c.Bias.Data, gain, res)
	case cw.wb != nil:
		kernels.Conv2DNHWCBF16(dst, x, p, cw.wb[c], c.Bias.Data)
	case res != nil:
		kernels.Conv2DNHWCAddScaled(dst, x, p, cw.w[c], c.Bias.Data, gain, res)
	default:
		kernels.Conv2DNHWC(dst, x, p, cw.w[c], c.Bias.Data)
	}
}

// codebookScratch is the codebook's part of a Workspace.
type codebookScratch struct {
	mu   sync.Mutex
	free []*codebookBufs // one set per image in flight

	// the call in progress, read by the pool chunks
	cb     *ImageCodebook
	pixels *tensor.Tensor
	logits []float32 // B×vocab×h×w, or nil to keep only the argmax
	ids    []int64   // B×h×w argmax, or nil
	run    func(lo, hi int)
}

// codebookBufs are one image's feature maps: x and y alternate as block
// input and output, h and t hold the residual path.
type codebookBufs struct {
	x, y, h, t, logits []float32
	id                 []float32 // id_path's output where it is a convolution
	px                 []float32 // the image transposed to H×W×C
}

func (s *codebookScratch) get() *codebookBufs {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b
	}
	return new(codebookBufs)
}

func (s *codebookScratch) put(b *codebookBufs) {
	s.mu.Lock()
	s.free = append(s.free, b)
	s.mu.Unlock()
}

// outSize is the logits' spatial size for an h×w input: three 2×2 pools.
func (cb *ImageCodebook) outSize(h, w int) (int, int) {
	for _, g := range cb.Groups {
		if g.UsePool {
			h, w = h/2, w/2
		}
	}
	return h, w
}

// ForwardInto is Forward without allocation in steady state: scratch comes
// from ws and the logits are written into out, whose storage is reused when
// it is large enough (out is reshaped to B×vocab×h×w).
func (cb *ImageCodebook) ForwardInto(ws *Workspace, out *tensor.Tensor, pixels *tensor.Tensor) error {
	if err := cb.checkPixels(pixels); err != nil {
		return err
	}
	n := pixels.Shape[0]
	h, w := cb.outSize(pixels.Shape[2], pixels.Shape[3])
	size := n * cb.cfg.VocabSize * h * w
	if cap(out.Data) < size {
		out.Data = make([]float32, size)
	}
	out.Data = out.Data[:size]
	if len(out.Shape) != 4 {
		out.Shape = make([]int, 4)
	}
	out.Shape[0], out.Shape[1], out.Shape[2], out.Shape[3] = n, cb.cfg.VocabSize, h, w
	cb.forward(&ws.codebook, pixels, out.Data, nil)
	return nil
}

// CodebookIndicesInto is CodebookIndices without allocation in steady state:
// the B×h×w token ids are written into ids (storage reused when large
// enough); each image's logits stay in ws.
func (cb *ImageCodebook) CodebookIndicesInto(ws *Workspace, ids *tensor.Int64, pixels *tensor.Tensor) error {
	if err := cb.checkPixels(pixels); err != nil {
		return err
	}
	n := pixels.Shape[0]
	h, w := cb.outSize(pixels.Shape[2], pixels.Shape[3])
	size := n * h * w
	if cap(ids.Data) < size {
		ids.Data = make([]int64, size)
	}
	ids.Data = ids.Data[:size]
	if len(ids.Shape) != 3 {
		ids.Shape = make([]int, 3)
	}
	ids.Shape[0], ids.Shape[1], ids.Shape[2] = n, h, w
	cb.forward(&ws.codebook, pixels, nil, ids.Data)
	return nil
}

// forward runs validated pixels through the codebook, writing logits
// (B×vocab×h×w) when logits is not nil and the argmax over the vocabulary
// (B×h×w) when ids is not nil.
func (cb *ImageCodebook) forward(s *codebookScratch, pixels *tensor.Tensor, logits []float32, ids []int64) {
	if s.run == nil {
		s.run = s.images // one method value per Workspace, not per call
	}
	s.cb, s.pixels, s.logits, s.ids = cb, pixels, logits, ids
	kernels.ParallelFor(pixels.Shape[0], 1, s.run)
	s.cb, s.pixels, s.logits, s.ids = nil, nil, nil, nil
}

// images runs images [lo, hi) of the call in progress, one at a time.
func (s *codebookScratch) images(lo, hi int) {
	bufs := s.get()
	defer s.put(bufs)
	cb, px := s.cb, s.pixels
	c, h, w := px.Shape[1], px.Shape[2], px.Shape[3]
	oh, ow := cb.outSize(h, w)
	vocab, hw := cb.cfg.VocabSize, oh*ow
	packed := cb.packed()
	for i := lo; i < hi; i++ {
		logits := grow(&bufs.logits, hw*vocab) // pixel-major: hw × vocab
		cb.image(bufs, packed, px.Data[i*c*h*w:(i+1)*c*h*w], c, h, w, logits)
		if s.ids != nil {
			argmaxRows(s.ids[i*hw:(i+1)*hw], logits, vocab)
		}
		if s.logits != nil {
			kernels.NHWCToNCHW(s.logits[i*vocab*hw:(i+1)*vocab*hw], logits, 1, oh, ow, vocab)
		}
	}
}

// image is FlavaImageCodebook.forward for one C×H×W image into dst
// (h×w×vocab, pixel-major): input conv, the groups, output ReLU and conv.
func (cb *ImageCodebook) image(b *codebookBufs, packed codebookWeights, px []float32, c, h, w int, dst []float32) {
	in := grow(&b.px, c*h*w)
	kernels.NCHWToNHWC(in, px, 1, c, h, w)
	x := grow(&b.x, cb.Input.Out*h*w)
	cb.Input.intoNHWC(packed, x, in, h, w, false)
	ch := cb.Input.Out
	for _, g := range cb.Groups {
		for _, blk := range g.Blocks {
			out := blk.ResPath.Conv4.Out
			y := grow(&b.y, out*h*w)
			blk.intoNHWC(packed, b, y, x, h, w)
			b.x, b.y = b.y, b.x
			x, ch = y, out
		}
		if g.UsePool {
			y := grow(&b.y, ch*(h/2)*(w/2))
			kernels.MaxPool2DNHWC(y, x, 1, h, w, ch, 2, 2)
			b.x, b.y = b.y, b.x
			x, h, w = y, h/2, w/2
		}
	}
	cb.Output.intoNHWC(packed, dst, x, h, w, true) // output.relu fused into output.conv
}

// intoNHWC is FlavaImageCodebookBlock.forward for one h×w×In image:
// dst = id_path(x) + post_gain·res_path(x), res_path being
// ReLU → conv_1 → ReLU → conv_2 → ReLU → conv_3 → ReLU → conv_4. Each ReLU is
// fused into the next convolution's input read (Conv2DParams.ReLUInput), so
// x is not changed, and the scale and residual sum into conv_4's output
// (kernels.Conv2DNHWCAddScaled, bit-identical to the separate passes), so
// no feature map takes an extra pass.
func (blk *CodebookBlock) intoNHWC(packed codebookWeights, b *codebookBufs, dst, x []float32, h, w int) {
	r := blk.ResPath
	hid := r.Conv1.Out
	t := grow(&b.t, hid*h*w)
	u := grow(&b.h, hid*h*w)
	id := x
	if blk.IDPath != nil {
		id = grow(&b.id, blk.IDPath.Out*h*w)
		blk.IDPath.intoNHWC(packed, id, x, h, w, false)
	}
	r.Conv1.intoNHWC(packed, u, x, h, w, true)
	r.Conv2.intoNHWC(packed, t, u, h, w, true)
	r.Conv3.intoNHWC(packed, u, t, h, w, true)
	c := r.Conv4
	p := c.params(h, w, true)
	packed.conv(c, dst, u, p, blk.PostGain, id)
}

// intoNHWC convolves one h×w×In image x (ReLU(x) when relu is set; x is not
// changed) into dst (h'×w'×Out).
func (c *CodebookConv2d) intoNHWC(packed codebookWeights, dst, x []float32, h, w int, relu bool) {
	p := c.params(h, w, relu)
	packed.conv(c, dst, x, p, 0, nil)
}

// params describes c over one h×w image (ReLU of the input when relu).
func (c *CodebookConv2d) params(h, w int, relu bool) kernels.Conv2DParams {
	return kernels.Conv2DParams{
		Batch: 1, InC: c.In, InH: h, InW: w,
		OutC: c.Out, KH: c.Kernel, KW: c.Kernel, PadH: c.Padding, PadW: c.Padding,
		ReLUInput: relu,
	}
}

// argmaxRows writes into dst the argmax of each of len(dst) rows of c
// values in rows (first maximum on ties; NaN counts as the maximum, as in
// torch.argmax).
func argmaxRows(dst []int64, rows []float32, c int) {
	for p := range dst {
		row := rows[p*c : (p+1)*c]
		best, at := row[0], 0
		if best == best {
			for ch := 1; ch < c; ch++ {
				v := row[ch]
				if v != v {
					at = ch
					break
				}
				if v > best {
					best, at = v, ch
				}
			}
		}
		dst[p] = int64(at)
	}
}
