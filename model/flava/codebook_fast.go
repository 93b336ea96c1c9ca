package flava

import (
	"sync"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// This file is the codebook's allocation-free path, the one Forward,
// CodebookIndices and CodebookProbs run: the same modules in the same order
// as the Forward methods in codebook.go (which stay as the plain reference),
// with every feature map in Workspace buffers. Images are the parallel unit:
// a batch is split over the kernel pool, each chunk pushing one image at a
// time through the whole network with its own buffers (so im2col, ReLU,
// pooling and the residual sums run on both cores, not only the GEMMs); a
// single image gets its parallelism from the convolutions' GEMMs.

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
	for i := lo; i < hi; i++ {
		var dst []float32
		if s.logits != nil {
			dst = s.logits[i*vocab*hw : (i+1)*vocab*hw]
		} else {
			dst = grow(&bufs.logits, vocab*hw)
		}
		cb.image(bufs, px.Data[i*c*h*w:(i+1)*c*h*w], h, w, dst)
		if s.ids != nil {
			argmaxPlanes(s.ids[i*hw:(i+1)*hw], dst, vocab, hw)
		}
	}
}

// image is FlavaImageCodebook.forward for one C×H×W image into dst
// (vocab×h×w): input conv, the groups, output ReLU and conv.
func (cb *ImageCodebook) image(b *codebookBufs, px []float32, h, w int, dst []float32) {
	x := grow(&b.x, cb.Input.Out*h*w)
	cb.Input.into(x, px, h, w, false)
	ch := cb.Input.Out
	for _, g := range cb.Groups {
		for _, blk := range g.Blocks {
			out := blk.ResPath.Conv4.Out
			y := grow(&b.y, out*h*w)
			blk.into(b, y, x, h, w)
			b.x, b.y = b.y, b.x
			x, ch = y, out
		}
		if g.UsePool {
			y := grow(&b.y, ch*(h/2)*(w/2))
			kernels.MaxPool2D(y, x, ch, h, w, 2, 2)
			b.x, b.y = b.y, b.x
			x, h, w = y, h/2, w/2
		}
	}
	cb.Output.into(dst, x, h, w, true) // output.relu fused into output.conv
}

// into is FlavaImageCodebookBlock.forward for one image:
// dst = id_path(x) + post_gain·res_path(x), res_path being
// ReLU → conv_1 → ReLU → conv_2 → ReLU → conv_3 → ReLU → conv_4. Each ReLU is
// fused into the next convolution's input read (Conv2DParams.ReLUInput), so
// x is not copied and no feature map takes an extra pass.
func (blk *CodebookBlock) into(b *codebookBufs, dst, x []float32, h, w int) {
	r := blk.ResPath
	hid := r.Conv1.Out
	t := grow(&b.t, hid*h*w)
	u := grow(&b.h, max(hid, r.Conv4.Out)*h*w)[:hid*h*w]
	r.Conv1.into(u, x, h, w, true)
	r.Conv2.into(t, u, h, w, true)
	r.Conv3.into(u, t, h, w, true)
	r.Conv4.into(dst, u, h, w, true)
	kernels.Scale(dst, blk.PostGain)
	id := x
	if blk.IDPath != nil {
		id = grow(&b.h, max(hid, r.Conv4.Out)*h*w)[:blk.IDPath.Out*h*w]
		blk.IDPath.into(id, x, h, w, false)
	}
	kernels.Add(dst, id, dst)
}

// into convolves one In×h×w image x (ReLU(x) when relu is set; x is not
// changed) into dst (Out×h'×w').
func (c *CodebookConv2d) into(dst, x []float32, h, w int, relu bool) {
	p := kernels.Conv2DParams{
		Batch: 1, InC: c.In, InH: h, InW: w,
		OutC: c.Out, KH: c.Kernel, KW: c.Kernel, PadH: c.Padding, PadW: c.Padding,
		ReLUInput: relu,
	}
	kernels.Conv2D(dst[:c.Out*p.OutH()*p.OutW()], x, p, c.Weight.Data, c.Bias.Data)
}

// argmaxPlanes writes into dst (hw values) the argmax over c planes of hw
// values each (first maximum on ties; NaN counts as the maximum, as in
// torch.argmax).
func argmaxPlanes(dst []int64, planes []float32, c, hw int) {
	for p := 0; p < hw; p++ {
		best, at := planes[p], 0
		if best == best {
			for ch := 1; ch < c; ch++ {
				v := planes[ch*hw+p]
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
