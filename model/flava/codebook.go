package flava

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// codebookGroups is fixed by the architecture: transformers builds group_1 …
// group_4 whatever num_groups says; num_groups only enters post_gain.
const codebookGroups = 4

// CodebookConv2d is one torch.nn.Conv2d of the codebook (stride 1, zero
// padding, with bias): Weight is out×in×k×k (OIHW), Bias has out values.
type CodebookConv2d struct {
	Weight *tensor.Tensor `st:"weight"`
	Bias   *tensor.Tensor `st:"bias"`

	In, Out, Kernel, Padding int
}

func newCodebookConv(in, out, k, pad int) *CodebookConv2d {
	return &CodebookConv2d{
		Weight: tensor.New(out, in, k, k), Bias: tensor.New(out),
		In: in, Out: out, Kernel: k, Padding: pad,
	}
}

// Forward convolves x (B×In×H×W) into a new B×Out×H'×W' tensor.
func (c *CodebookConv2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	p := kernels.Conv2DParams{
		Batch: x.Shape[0], InC: c.In, InH: x.Shape[2], InW: x.Shape[3],
		OutC: c.Out, KH: c.Kernel, KW: c.Kernel, PadH: c.Padding, PadW: c.Padding,
	}
	out := tensor.New(p.Batch, c.Out, p.OutH(), p.OutW())
	kernels.Conv2D(out.Data, x.Data, p, c.Weight.Data, c.Bias.Data)
	return out
}

// CodebookResPath mirrors transformers' FlavaImageCodebookResPath:
// ReLU → 3×3 → ReLU → 3×3 → ReLU → 3×3 → ReLU → 1×1, narrowing to out/4
// channels inside.
type CodebookResPath struct {
	Conv1 *CodebookConv2d `st:"path.conv_1"`
	Conv2 *CodebookConv2d `st:"path.conv_2"`
	Conv3 *CodebookConv2d `st:"path.conv_3"`
	Conv4 *CodebookConv2d `st:"path.conv_4"`
}

func newCodebookResPath(in, out int) *CodebookResPath {
	hid := out / 4
	return &CodebookResPath{
		Conv1: newCodebookConv(in, hid, 3, 1),
		Conv2: newCodebookConv(hid, hid, 3, 1),
		Conv3: newCodebookConv(hid, hid, 3, 1),
		Conv4: newCodebookConv(hid, out, 1, 0),
	}
}

// Forward returns the residual branch for x; x is not modified.
func (r *CodebookResPath) Forward(x *tensor.Tensor) *tensor.Tensor {
	h := x.Clone()
	kernels.ReLU(h.Data)
	h = r.Conv1.Forward(h)
	kernels.ReLU(h.Data)
	h = r.Conv2.Forward(h)
	kernels.ReLU(h.Data)
	h = r.Conv3.Forward(h)
	kernels.ReLU(h.Data)
	return r.Conv4.Forward(h)
}

// CodebookBlock mirrors transformers' FlavaImageCodebookBlock:
// id_path(x) + post_gain·res_path(x), with id_path the identity when the
// channel count does not change and a 1×1 convolution otherwise.
type CodebookBlock struct {
	IDPath  *CodebookConv2d  `st:"id_path"` // nil: identity
	ResPath *CodebookResPath `st:"res_path"`

	// PostGain is 1/num_layers², num_layers = num_groups·num_blocks_per_group.
	PostGain float32
}

func newCodebookBlock(in, out, numLayers int) *CodebookBlock {
	b := &CodebookBlock{
		ResPath: newCodebookResPath(in, out),
		// Python computes 1/(n**2) in float64; torch multiplies a float32
		// tensor by it in float32.
		PostGain: float32(1 / math.Pow(float64(numLayers), 2)),
	}
	if in != out {
		b.IDPath = newCodebookConv(in, out, 1, 0)
	}
	return b
}

// Forward returns a new tensor; x is not modified.
func (b *CodebookBlock) Forward(x *tensor.Tensor) *tensor.Tensor {
	res := b.ResPath.Forward(x)
	kernels.Scale(res.Data, b.PostGain)
	id := x
	if b.IDPath != nil {
		id = b.IDPath.Forward(x)
	}
	kernels.Add(res.Data, id.Data, res.Data)
	return res
}

// CodebookLayerGroup mirrors transformers'
// FlavaImageCodebookLayerGroup: num_blocks_per_group blocks (state-dict names
// group.block_1, group.block_2, … — 1-based) and an optional 2×2 max-pool.
type CodebookLayerGroup struct {
	Blocks  []*CodebookBlock // bound by name in BindImageCodebook
	UsePool bool
}

// Forward returns a new tensor; x is not modified.
func (g *CodebookLayerGroup) Forward(x *tensor.Tensor) *tensor.Tensor {
	for _, b := range g.Blocks {
		x = b.Forward(x)
	}
	if !g.UsePool {
		return x
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := tensor.New(n, c, h/2, w/2)
	kernels.MaxPool2D(out.Data, x.Data, n*c, h, w, 2, 2)
	return out
}

// ImageCodebook mirrors transformers' FlavaImageCodebook, the DALL-E
// style encoder that turns a codebook image (B×3×S×S, pixels mapped to
// [0.1, 0.9]) into B×vocab×S/8×S/8 logits whose argmax over the vocabulary
// gives the visual tokens FLAVA's masked image modelling predicts.
//
// Layout (state-dict names under "blocks."): input 7×7 convolution to
// hidden channels; group_1 … group_4 of residual blocks widening to
// 1, 2, 4, 8 × hidden channels, with a 2×2 max-pool after groups 1–3; then
// output.relu and output.conv (1×1 to vocab_size).
//
// A ImageCodebook is read-only after loading and safe for concurrent
// use.
type ImageCodebook struct {
	Input  *CodebookConv2d
	Groups [codebookGroups]*CodebookLayerGroup
	Output *CodebookConv2d // after a ReLU

	cfg    CodebookConfig // defaults filled in
	closer io.Closer      // the checkpoint a Load function opened, or nil
	nhwc   codebookPacked // weights packed for the fast path (codebook_fast.go)
}

// NewImageCodebook returns a codebook of the shape cfg describes (zero
// fields mean flava-image-codebook's defaults) with all-zero weights, to be
// filled by BindImageCodebook or by hand (tests, benchmarks).
func NewImageCodebook(cfg CodebookConfig) (*ImageCodebook, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.HiddenSize < 4 {
		// The residual path narrows to hidden_size/4 channels.
		return nil, fmt.Errorf("%w: image codebook hidden_size = %d, must be at least 4", ErrConfig, cfg.HiddenSize)
	}
	h := cfg.HiddenSize
	numLayers := cfg.NumGroups * cfg.NumBlocksPerGroup
	widths := [codebookGroups + 1]int{1 * h, 1 * h, 2 * h, 4 * h, 8 * h}
	cb := &ImageCodebook{
		Input:  newCodebookConv(cfg.InputChannels, h, 7, 3),
		Output: newCodebookConv(8*h, cfg.VocabSize, 1, 0),
		cfg:    cfg,
	}
	for g := 0; g < codebookGroups; g++ {
		grp := &CodebookLayerGroup{UsePool: g < codebookGroups-1}
		for i := 0; i < cfg.NumBlocksPerGroup; i++ {
			in := widths[g+1]
			if i == 0 {
				in = widths[g]
			}
			grp.Blocks = append(grp.Blocks, newCodebookBlock(in, widths[g+1], numLayers))
		}
		cb.Groups[g] = grp
	}
	return cb, nil
}

// Config returns the codebook's configuration, defaults filled in.
func (cb *ImageCodebook) Config() CodebookConfig { return cb.cfg }

// VocabSize is the number of visual tokens (output channels).
func (cb *ImageCodebook) VocabSize() int { return cb.cfg.VocabSize }

// InputChannels is the number of channels Forward expects.
func (cb *ImageCodebook) InputChannels() int { return cb.cfg.InputChannels }

// BindImageCodebook fills cb's weights from sd, reading names under prefix
// ("" for a standalone facebook/flava-image-codebook checkpoint,
// "image_codebook." for a FlavaForPreTraining one). The weights of F32
// checkpoints are used in place (read-only) and stay valid until sd is
// closed. Every missing or mis-shaped tensor, and every name
// under prefix+"blocks." that the architecture does not have (a sign that
// the config does not match the checkpoint), is reported in one error
// wrapping checkpoint.ErrBind.
func BindImageCodebook(sd *checkpoint.StateDict, prefix string, cb *ImageCodebook) error {
	all := &checkpoint.BindError{}
	used := map[string]bool{}
	bind := func(p string, target any) {
		res, err := checkpoint.Bind(sd, p, target, nil)
		var be *checkpoint.BindError
		if errors.As(err, &be) {
			all.Missing = append(all.Missing, be.Missing...)
			all.Mismatched = append(all.Mismatched, be.Mismatched...)
			all.Other = append(all.Other, be.Other...)
		} else if err != nil {
			all.Other = append(all.Other, err.Error())
		}
		unused := map[string]bool{}
		for _, n := range res.Unused {
			unused[n] = true
		}
		for _, n := range sd.Names() {
			if strings.HasPrefix(n, p) && !unused[n] {
				used[n] = true
			}
		}
	}
	root := prefix + "blocks."
	bind(root+"input.", cb.Input)
	bind(root+"output.conv.", cb.Output)
	for g, grp := range cb.Groups {
		for i, b := range grp.Blocks {
			bind(fmt.Sprintf("%sgroup_%d.group.block_%d.", root, g+1, i+1), b)
		}
	}
	for _, n := range sd.Names() {
		if strings.HasPrefix(n, root) && !used[n] {
			all.Other = append(all.Other, "unexpected tensor "+n)
		}
	}
	if len(all.Missing)+len(all.Mismatched)+len(all.Other) > 0 {
		sort.Strings(all.Missing)
		return all
	}
	return nil
}

// checkPixels validates a codebook input.
func (cb *ImageCodebook) checkPixels(x *tensor.Tensor) error {
	if x == nil {
		return fmt.Errorf("%w: nil pixel tensor", ErrInput)
	}
	if len(x.Shape) != 4 {
		return fmt.Errorf("%w: input shape %v is not 4-D (batch, channels, height, width)", ErrInput, x.Shape)
	}
	if x.Shape[1] != cb.cfg.InputChannels {
		return fmt.Errorf("%w: input has %d channels but the codebook was built for %d", ErrInput, x.Shape[1], cb.cfg.InputChannels)
	}
	if x.Shape[0] <= 0 || x.Shape[2] < 8 || x.Shape[3] < 8 {
		return fmt.Errorf("%w: input shape %v: need a non-empty batch and height, width >= 8 (three 2x2 max-pools)", ErrInput, x.Shape)
	}
	if len(x.Data) != tensor.NumElements(x.Shape) {
		return fmt.Errorf("%w: %d values for shape %v", ErrInput, len(x.Data), x.Shape)
	}
	return nil
}

// Forward returns the codebook logits (z_logits), B×vocab×h×w with
// h = H/8, w = W/8 (floor at each pool), for pixels B×C×H×W. pixels is not
// modified. Scratch comes from a reused Workspace (codebook_fast.go); the
// logits are the only allocation.
func (cb *ImageCodebook) Forward(pixels *tensor.Tensor) (*tensor.Tensor, error) {
	ws := getWorkspace()
	defer putWorkspace(ws)
	out := &tensor.Tensor{}
	if err := cb.ForwardInto(ws, out, pixels); err != nil {
		return nil, err
	}
	return out, nil
}

// forwardModules is Forward composed from the modules' own Forward methods,
// one new tensor per step: the plain reference the fused path is tested
// against.
func (cb *ImageCodebook) forwardModules(pixels *tensor.Tensor) *tensor.Tensor {
	x := cb.Input.Forward(pixels)
	for _, g := range cb.Groups {
		x = g.Forward(x)
	}
	kernels.ReLU(x.Data) // x is our own buffer here
	return cb.Output.Forward(x)
}

// CodebookIndices returns the visual token ids, the argmax over the
// vocabulary of Forward's logits (first maximum on ties, like torch.argmax),
// as a B×h×w tensor — transformers' get_codebook_indices, which
// FlavaForPreTraining uses as mim_labels. Only the ids are allocated.
func (cb *ImageCodebook) CodebookIndices(pixels *tensor.Tensor) (*tensor.Int64, error) {
	ws := getWorkspace()
	defer putWorkspace(ws)
	ids := &tensor.Int64{}
	if err := cb.CodebookIndicesInto(ws, ids, pixels); err != nil {
		return nil, err
	}
	return ids, nil
}

// CodebookProbs returns the softmax over the vocabulary of Forward's logits,
// B×vocab×h×w — transformers' get_codebook_probs.
func (cb *ImageCodebook) CodebookProbs(pixels *tensor.Tensor) (*tensor.Tensor, error) {
	logits, err := cb.Forward(pixels)
	if err != nil {
		return nil, err
	}
	softmaxChannels(logits)
	return logits, nil
}

// softmaxChannels replaces a B×C×H×W tensor by its softmax over dim 1, in
// place.
func softmaxChannels(t *tensor.Tensor) {
	n, c, h, w := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	hw := h * w
	kernels.ParallelFor(n*hw, 16, func(lo, hi int) {
		col := make([]float32, c)
		for i := lo; i < hi; i++ {
			b, p := i/hw, i%hw
			plane := t.Data[b*c*hw : (b+1)*c*hw]
			for ch := range col {
				col[ch] = plane[ch*hw+p]
			}
			kernels.Softmax(col, 1, c)
			for ch, v := range col {
				plane[ch*hw+p] = v
			}
		}
	})
}
