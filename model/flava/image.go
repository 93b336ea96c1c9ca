package flava

import (
	"errors"
	"fmt"
	"math"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// ErrInput is wrapped by the errors Forward methods return for bad caller
// inputs: wrong shapes, ids out of range, mismatched batch sizes.
var ErrInput = errors.New("flava: bad input")

// validShape reports whether every dimension is non-negative and the shape
// holds exactly n values, without panicking on hostile shapes.
func validShape(shape []int, n int) bool {
	total := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && total > math.MaxInt/d) {
			return false
		}
		total *= d
	}
	return total == n
}

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// PatchEmbeddings is HF's PatchEmbeddings: a Conv2d with kernel = stride =
// patch size, flattened to one token per patch.
type PatchEmbeddings struct {
	Projection Conv `st:"projection"`

	ImageSize, PatchSize int
}

// Conv is torch.nn.Conv2d's parameters (OIHW weight, bias).
type Conv struct {
	Weight *tensor.Tensor `st:"weight"`
	Bias   *tensor.Tensor `st:"bias"`
}

// Forward maps B×C×H×W pixels to B×(gh·gw)×hidden patch tokens.
func (p *PatchEmbeddings) Forward(pix *tensor.Tensor) (tokens []float32, gh, gw int) {
	b, c, h, w := pix.Shape[0], pix.Shape[1], pix.Shape[2], pix.Shape[3]
	hidden := p.Projection.Weight.Shape[0]
	prm := kernels.Conv2DParams{Batch: b, InC: c, InH: h, InW: w, OutC: hidden,
		KH: p.PatchSize, KW: p.PatchSize, StrideH: p.PatchSize, StrideW: p.PatchSize}
	gh, gw = prm.OutH(), prm.OutW()
	n := gh * gw
	conv := make([]float32, b*hidden*n)
	kernels.Conv2D(conv, pix.Data, prm, p.Projection.Weight.Data, p.Projection.Bias.Data)
	// .flatten(2).transpose(1, 2): B×hidden×N -> B×N×hidden
	tokens = make([]float32, b*n*hidden)
	for bi := 0; bi < b; bi++ {
		src := conv[bi*hidden*n:]
		dst := tokens[bi*n*hidden:]
		for d := 0; d < hidden; d++ {
			for t := 0; t < n; t++ {
				dst[t*hidden+d] = src[d*n+t]
			}
		}
	}
	return tokens, gh, gw
}

// ImageEmbeddings is FlavaImageEmbeddings: patch embeddings, optional mask
// token substitution, CLS token, position embeddings (optionally
// interpolated).
type ImageEmbeddings struct {
	CLSToken           *tensor.Tensor  `st:"cls_token"`
	MaskToken          *tensor.Tensor  `st:"mask_token"` // nil when mask_token=false
	PatchEmbeddings    PatchEmbeddings `st:"patch_embeddings"`
	PositionEmbeddings *tensor.Tensor  `st:"position_embeddings"`
}

// checkMaskedPos validates bool_masked_pos against batch images of n patches.
func (e *ImageEmbeddings) checkMaskedPos(b *tensor.Bool, batch, n int) error {
	if e.MaskToken == nil {
		return inputErr("bool_masked_pos given but the model has no mask token (mask_token=false)")
	}
	m := b.Shape
	ok := (len(m) == 2 && m[0] == batch && m[1] == n) || (len(m) == 3 && m[0] == batch && m[1]*m[2] == n)
	if !ok || len(b.Data) != batch*n {
		return inputErr("bool_masked_pos has shape %v, want [%d %d]", m, batch, n)
	}
	return nil
}

// Forward returns the B×(1+N)×hidden embeddings. pix has been validated.
func (e *ImageEmbeddings) Forward(pix *tensor.Tensor, boolMaskedPos *tensor.Bool, interpolate bool) ([]float32, int, error) {
	hidden := e.CLSToken.Shape[2]
	batch, height, width := pix.Shape[0], pix.Shape[2], pix.Shape[3]
	patches, gh, gw := e.PatchEmbeddings.Forward(pix)
	n := gh * gw
	if boolMaskedPos != nil {
		if err := e.checkMaskedPos(boolMaskedPos, batch, n); err != nil {
			return nil, 0, err
		}
		// embeddings * (1 - w) + mask_token * w, w = bool_masked_pos.unsqueeze(-1)
		for i, masked := range boolMaskedPos.Data {
			if masked {
				copy(patches[i*hidden:(i+1)*hidden], e.MaskToken.Data)
			}
		}
	}
	seq := 1 + n
	out := make([]float32, batch*seq*hidden)
	for b := 0; b < batch; b++ {
		row := out[b*seq*hidden:]
		copy(row[:hidden], e.CLSToken.Data)
		copy(row[hidden:seq*hidden], patches[b*n*hidden:(b+1)*n*hidden])
	}
	pos := e.PositionEmbeddings.Data
	if interpolate {
		var err error
		if pos, err = e.interpolatePosEncoding(&encoderScratch{}, n, gh, gw, height, width); err != nil {
			return nil, 0, err
		}
	} else if len(pos) != seq*hidden {
		return nil, 0, inputErr("%d patches but %d position embeddings (set InterpolatePosEncoding)", n, len(pos)/hidden-1)
	}
	for b := 0; b < batch; b++ {
		row := out[b*seq*hidden : (b+1)*seq*hidden]
		kernels.Add(row, row, pos)
	}
	return out, seq, nil
}

// interpolatePosEncoding is ViTEmbeddings.interpolate_pos_encoding: the
// patch position grid resized bicubically (align_corners=False, size=) to
// gh×gw, unless the patch count already matches and the image is square.
// The result may live in s.
func (e *ImageEmbeddings) interpolatePosEncoding(s *encoderScratch, numPatches, gh, gw, height, width int) ([]float32, error) {
	hidden := e.CLSToken.Shape[2]
	pos := e.PositionEmbeddings.Data
	numPositions := len(pos)/hidden - 1
	if numPatches == numPositions && height == width {
		return pos, nil
	}
	side := int(math.Sqrt(float64(numPositions)))
	for side*side > numPositions {
		side--
	}
	for (side+1)*(side+1) <= numPositions {
		side++
	}
	if side*side != numPositions {
		return nil, inputErr("cannot interpolate %d position embeddings: not a square grid", numPositions)
	}
	// (1, side, side, dim).permute(0, 3, 1, 2): one plane per hidden unit
	planes := grow(&s.planes, hidden*numPositions)
	for t := 0; t < numPositions; t++ {
		for d := 0; d < hidden; d++ {
			planes[d*numPositions+t] = pos[(1+t)*hidden+d]
		}
	}
	resized := grow(&s.resized, hidden*gh*gw)
	kernels.BicubicResize(resized, planes, hidden, side, side, gh, gw,
		float64(side)/float64(gh), float64(side)/float64(gw))
	out := grow(&s.pos, (1+gh*gw)*hidden)
	copy(out[:hidden], pos[:hidden])
	for t := 0; t < gh*gw; t++ {
		for d := 0; d < hidden; d++ {
			out[(1+t)*hidden+d] = resized[d*gh*gw+t]
		}
	}
	return out, nil
}

// ImageInput is the input of ImageModel.Forward (FlavaImageModel.forward).
type ImageInput struct {
	// PixelValues is B×C×H×W, normalised as FlavaImageProcessor does; H and
	// W must equal image_size unless InterpolatePosEncoding is set.
	PixelValues *tensor.Tensor
	// BoolMaskedPos is nil or B×N (or B×gh×gw): true replaces that patch
	// embedding by the mask token.
	BoolMaskedPos *tensor.Bool
	// InterpolatePosEncoding resizes the position embeddings to the input's
	// patch grid (any H, W ≥ patch size).
	InterpolatePosEncoding bool
	// OutputHiddenStates fills ImageOutput.HiddenStates.
	OutputHiddenStates bool
}

// ImageOutput is BaseModelOutputWithPooling of FlavaImageModel.
type ImageOutput struct {
	LastHiddenState *tensor.Tensor   // B×(1+N)×hidden, after the final LayerNorm
	PooledOutput    *tensor.Tensor   // B×hidden
	HiddenStates    []*tensor.Tensor // embeddings + each layer's output (before the final LayerNorm), when asked
}

// ImageModel is FlavaImageModel.
type ImageModel struct {
	Embeddings ImageEmbeddings `st:"embeddings"`
	Encoder    Encoder         `st:"encoder"`
	Layernorm  LayerNorm       `st:"layernorm"`
	Pooler     *Pooler         `st:"pooler"` // nil without a pooling layer

	Config ImageConfig
	// Source says where the weights came from (zero for NewX / NewRandom).
	Source LoadInfo
}

// NewImageModel builds a FlavaImageModel with zero weights shaped by cfg
// (defaults filled in); bind weights with checkpoint.Bind or use a loader.
func NewImageModel(cfg ImageConfig) (*ImageModel, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := cfg.HiddenSize
	m := &ImageModel{
		Embeddings: ImageEmbeddings{
			CLSToken: tensor.New(1, 1, h),
			PatchEmbeddings: PatchEmbeddings{
				Projection: Conv{Weight: tensor.New(h, cfg.NumChannels, cfg.PatchSize, cfg.PatchSize), Bias: tensor.New(h)},
				ImageSize:  cfg.ImageSize, PatchSize: cfg.PatchSize,
			},
			PositionEmbeddings: tensor.New(1, cfg.NumPatches()+1, h),
		},
		Encoder: newEncoder(encoderSpec{h, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize,
			cfg.HiddenAct, cfg.LayerNormEps, cfg.HasQKVBias()}),
		Layernorm: newLayerNorm(h, cfg.LayerNormEps),
		Pooler:    &Pooler{Dense: newLinear(h, h, true)},
		Config:    cfg,
	}
	if cfg.HasMaskToken() {
		m.Embeddings.MaskToken = tensor.New(1, 1, h)
	}
	return m, nil
}

func (m *ImageModel) checkPixels(in ImageInput) error {
	p := in.PixelValues
	if p == nil {
		return inputErr("pixel_values is nil")
	}
	if len(p.Shape) != 4 || !validShape(p.Shape, len(p.Data)) {
		return inputErr("pixel_values has shape %v (%d values), want B×C×H×W", p.Shape, len(p.Data))
	}
	c := m.Config
	if p.Shape[0] <= 0 {
		return inputErr("pixel_values has an empty batch")
	}
	if p.Shape[1] != c.NumChannels {
		return inputErr("pixel_values has %d channels, want %d", p.Shape[1], c.NumChannels)
	}
	if in.InterpolatePosEncoding {
		if p.Shape[2] < c.PatchSize || p.Shape[3] < c.PatchSize {
			return inputErr("pixel_values is %d×%d, smaller than one %d×%d patch", p.Shape[2], p.Shape[3], c.PatchSize, c.PatchSize)
		}
	} else if p.Shape[2] != c.ImageSize || p.Shape[3] != c.ImageSize {
		return inputErr("input image size (%d*%d) doesn't match model (%d*%d)", p.Shape[2], p.Shape[3], c.ImageSize, c.ImageSize)
	}
	return nil
}

// Forward runs FlavaImageModel.forward. Scratch memory comes from a reused
// Workspace; the returned output's tensors are the only allocations.
func (m *ImageModel) Forward(in ImageInput) (*ImageOutput, error) {
	ws := getWorkspace()
	defer putWorkspace(ws)
	out := &ImageOutput{}
	if _, err := m.forward(&ws.image, out, in); err != nil {
		return nil, err
	}
	return out, nil
}

// ForwardInto is Forward without allocation in steady state: scratch comes
// from ws, and the results are written into out's tensors, which are reused
// when they already have the needed capacity (and replaced by new tensors
// otherwise, e.g. on the first call). HiddenStates is set to nil unless asked
// for. On error out is left partly written.
func (m *ImageModel) ForwardInto(ws *Workspace, out *ImageOutput, in ImageInput) error {
	_, err := m.forward(&ws.image, out, in)
	return err
}

// forward runs the model with scratch s and returns the last encoder
// layer's output before the final LayerNorm (HF's hidden_states[-1], which
// FlavaModel feeds the multimodal encoder); it lives in s.
func (m *ImageModel) forward(s *encoderScratch, out *ImageOutput, in ImageInput) ([]float32, error) {
	if err := m.checkPixels(in); err != nil {
		return nil, err
	}
	batch, hidden := in.PixelValues.Shape[0], m.Config.HiddenSize
	x, seq, err := m.Embeddings.forward(s, in.PixelValues, in.BoolMaskedPos, in.InterpolatePosEncoding)
	if err != nil {
		return nil, err
	}
	var states []*tensor.Tensor
	if !in.OutputHiddenStates {
		out.HiddenStates = nil
	} else {
		states = reuseStates(&out.HiddenStates, len(m.Encoder.Layer)+1, batch, seq, hidden)
		copy(states[0].Data, x)
	}
	m.Encoder.forward(s, x, batch, seq, nil, states)
	last := reuse3(&out.LastHiddenState, batch, seq, hidden)
	m.Layernorm.into(last.Data, x, batch*seq)
	if m.Pooler != nil {
		m.Pooler.into(s, reuse2(&out.PooledOutput, batch, hidden).Data, last.Data, batch, seq)
	} else {
		out.PooledOutput = nil
	}
	return x, nil
}

// forward is FlavaImageEmbeddings.forward into s.x (batch×(1+N)×hidden),
// with the patch Conv2d computed as one matrix product per image of the
// patch matrix (a row per patch, a column per channel·row·column of the
// kernel, the OIHW weight's own order) by the flattened weight, written
// straight into token rows 1…N: no im2col per output pixel plane, no
// flatten(2).transpose(1, 2) copy. The rows are first set to position
// embedding + conv bias and the product is accumulated onto them.
// pix has been validated.
func (e *ImageEmbeddings) forward(s *encoderScratch, pix *tensor.Tensor, boolMaskedPos *tensor.Bool, interpolate bool) ([]float32, int, error) {
	hidden := e.CLSToken.Shape[2]
	batch, ch, height, width := pix.Shape[0], pix.Shape[1], pix.Shape[2], pix.Shape[3]
	ps := e.PatchEmbeddings.PatchSize
	gh, gw := height/ps, width/ps // Conv2d with kernel = stride = ps, no padding
	n := gh * gw
	seq := 1 + n
	if boolMaskedPos != nil {
		if err := e.checkMaskedPos(boolMaskedPos, batch, n); err != nil {
			return nil, 0, err
		}
	}
	pos := e.PositionEmbeddings.Data
	if interpolate {
		var err error
		if pos, err = e.interpolatePosEncoding(s, n, gh, gw, height, width); err != nil {
			return nil, 0, err
		}
	} else if len(pos) != seq*hidden {
		return nil, 0, inputErr("%d patches but %d position embeddings (set InterpolatePosEncoding)", n, len(pos)/hidden-1)
	}

	// The patch matrix: row (b, py, px) holds pixels [c][py·ps+ky][px·ps+kx]
	// in (c, ky, kx) order.
	kdim := ch * ps * ps
	patches := grow(&s.patches, batch*n*kdim)
	for b := 0; b < batch; b++ {
		img := pix.Data[b*ch*height*width:]
		for t := 0; t < n; t++ {
			py, px := t/gw, t%gw
			row := patches[(b*n+t)*kdim:]
			for c := 0; c < ch; c++ {
				for ky := 0; ky < ps; ky++ {
					src := img[(c*height+py*ps+ky)*width+px*ps:]
					copy(row[(c*ps+ky)*ps:(c*ps+ky+1)*ps], src[:ps])
				}
			}
		}
	}
	// embeddings = cat(cls_tokens, embeddings) + position_embeddings, with the
	// conv bias and then the conv product accumulated onto the patch rows.
	x := grow(&s.x, batch*seq*hidden)
	bias := e.PatchEmbeddings.Projection.Bias
	for b := 0; b < batch; b++ {
		rows := x[b*seq*hidden : (b+1)*seq*hidden]
		kernels.Add(rows[:hidden], e.CLSToken.Data, pos[:hidden])
		if bias != nil {
			for t := 1; t < seq; t++ {
				kernels.Add(rows[t*hidden:(t+1)*hidden], pos[t*hidden:(t+1)*hidden], bias.Data)
			}
		} else {
			copy(rows[hidden:], pos[hidden:seq*hidden])
		}
		kernels.Sgemm(false, true, n, hidden, kdim, 1, patches[b*n*kdim:], kdim,
			e.PatchEmbeddings.Projection.Weight.Data, kdim, 1, rows[hidden:], hidden)
	}
	if boolMaskedPos != nil {
		// embeddings * (1 - w) + mask_token * w, w = bool_masked_pos.unsqueeze(-1)
		for i, masked := range boolMaskedPos.Data {
			if masked {
				b, t := i/n, i%n
				row := x[(b*seq+1+t)*hidden : (b*seq+2+t)*hidden]
				kernels.Add(row, e.MaskToken.Data, pos[(1+t)*hidden:(2+t)*hidden])
			}
		}
	}
	return x, seq, nil
}
