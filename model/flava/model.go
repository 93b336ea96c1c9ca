package flava

import (
	"reflect"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// Model is FlavaModel: the three encoders, the contrastive projections and the
// projections into the multimodal encoder.
type Model struct {
	TextModel           *TextModel       `st:"text_model"`
	ImageModel          *ImageModel      `st:"image_model"`
	MultimodalModel     *MultimodalModel `st:"multimodal_model"`
	ImageProjection     Linear           `st:"image_projection"`
	TextProjection      Linear           `st:"text_projection"`
	LogitScale          *tensor.Tensor   `st:"logit_scale"` // scalar; CLIP-style log temperature
	ImageToMMProjection Linear           `st:"image_to_mm_projection"`
	TextToMMProjection  Linear           `st:"text_to_mm_projection"`

	Config Config
	// Source says where the weights came from (zero for NewX / NewRandom).
	Source LoadInfo
}

// NewModel builds a FlavaModel with zero weights shaped by cfg (defaults
// filled in); LogitScale starts at logit_scale_init_value.
func NewModel(cfg Config) (*Model, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	img, err := NewImageModel(cfg.ImageConfig)
	if err != nil {
		return nil, err
	}
	txt, err := NewTextModel(cfg.TextConfig)
	if err != nil {
		return nil, err
	}
	mm, err := NewMultimodalModel(cfg.MultimodalConfig)
	if err != nil {
		return nil, err
	}
	ih, th, mh, p := cfg.ImageConfig.HiddenSize, cfg.TextConfig.HiddenSize, cfg.MultimodalConfig.HiddenSize, cfg.ProjectionDim
	m := &Model{
		TextModel:           txt,
		ImageModel:          img,
		MultimodalModel:     mm,
		ImageProjection:     newLinear(ih, p, true),
		TextProjection:      newLinear(th, p, true),
		LogitScale:          tensor.New(),
		ImageToMMProjection: newLinear(ih, mh, true),
		TextToMMProjection:  newLinear(th, mh, true),
		Config:              cfg,
	}
	m.LogitScale.Data[0] = float32(*cfg.LogitScaleInitValue)
	return m, nil
}

// ModelInput is the input of Model.Forward (FlavaModel.forward). Either modality
// may be absent; the multimodal encoder runs when both are present and
// SkipMultimodalEncoder is false.
type ModelInput struct {
	PixelValues            *tensor.Tensor // nil or B×C×H×W
	BoolMaskedPos          *tensor.Bool   // nil or B×N
	InterpolatePosEncoding bool           // an extension: HF's FlavaModel.forward has no such argument
	InputIDs               *tensor.Int64  // nil or B×L
	AttentionMask          *tensor.Int64  // nil (all ones) or B×L
	TokenTypeIDs           *tensor.Int64  // nil (zeros) or B×L
	SkipMultimodalEncoder  bool
	// OutputHiddenStates fills the unimodal outputs' HiddenStates (HF's
	// FlavaModel always computes them; here they are kept only on request).
	OutputHiddenStates bool
}

// ModelOutput is FlavaModelOutput. The *Embeddings fields are full sequences
// (the encoders' last_hidden_state), as transformers returns them.
type ModelOutput struct {
	ImageEmbeddings      *tensor.Tensor // B×(1+N)×image hidden, or nil
	ImageOutput          *ImageOutput
	TextEmbeddings       *tensor.Tensor // B×L×text hidden, or nil
	TextOutput           *TextOutput
	MultimodalEmbeddings *tensor.Tensor // B×(1+N+L [+1 CLS])×mm hidden, or nil
	MultimodalOutput     *MultimodalOutput
	// MultimodalInput is what was fed to the multimodal encoder: the
	// concatenated projections of the image and text encoders' last layer
	// outputs before their final LayerNorm, and the 2-D attention mask
	// (nil when no text attention mask was given).
	MultimodalInput *MultimodalInput
}

// Forward runs FlavaModel.forward. Scratch memory comes from a reused
// Workspace; the returned output's tensors are the only allocations.
func (m *Model) Forward(in ModelInput) (*ModelOutput, error) {
	ws := getWorkspace()
	defer putWorkspace(ws)
	out := &ModelOutput{}
	if err := m.ForwardInto(ws, out, in); err != nil {
		return nil, err
	}
	return out, nil
}

// ForwardInto is Forward without allocation in steady state: scratch comes
// from ws, and the results are written into out's sub-outputs and tensors,
// which are reused when present with the needed capacity (and replaced
// otherwise, e.g. on the first call). Parts a call does not compute (a
// missing modality, a skipped multimodal encoder) are set to nil. On error
// out is left partly written.
func (m *Model) ForwardInto(ws *Workspace, out *ModelOutput, in ModelInput) error {
	var imagePre, textPre []float32
	var imgSeq, txtSeq, batch int
	if in.PixelValues != nil {
		if out.ImageOutput == nil {
			out.ImageOutput = &ImageOutput{}
		}
		io := out.ImageOutput
		pre, err := m.ImageModel.forward(&ws.image, io, ImageInput{PixelValues: in.PixelValues, BoolMaskedPos: in.BoolMaskedPos,
			InterpolatePosEncoding: in.InterpolatePosEncoding, OutputHiddenStates: in.OutputHiddenStates})
		if err != nil {
			return err
		}
		out.ImageEmbeddings = io.LastHiddenState
		// Note that these states don't use the final layernorm (HF comment).
		batch, imgSeq = io.LastHiddenState.Shape[0], io.LastHiddenState.Shape[1]
		imagePre = pre
	} else {
		out.ImageOutput, out.ImageEmbeddings = nil, nil
	}
	if in.InputIDs != nil {
		if out.TextOutput == nil {
			out.TextOutput = &TextOutput{}
		}
		to := out.TextOutput
		pre, err := m.TextModel.forward(&ws.text, to, TextInput{InputIDs: in.InputIDs, AttentionMask: in.AttentionMask,
			TokenTypeIDs: in.TokenTypeIDs, OutputHiddenStates: in.OutputHiddenStates})
		if err != nil {
			return err
		}
		out.TextEmbeddings = to.LastHiddenState
		tb := to.LastHiddenState.Shape[0]
		txtSeq = to.LastHiddenState.Shape[1]
		if imagePre != nil && tb != batch {
			return inputErr("pixel_values has batch %d but input_ids has batch %d", batch, tb)
		}
		batch = tb
		textPre = pre
	} else {
		out.TextOutput, out.TextEmbeddings = nil, nil
	}
	if imagePre == nil || textPre == nil || in.SkipMultimodalEncoder {
		out.MultimodalInput, out.MultimodalOutput, out.MultimodalEmbeddings = nil, nil, nil
		return nil
	}
	// image_to_mm_projection and text_to_mm_projection over all tokens at
	// once (into the encoders' spent query buffers), then
	// torch.cat([image_mm_projection, text_mm_projection], dim=1).
	mh := m.MultimodalModel.Config.HiddenSize
	imageMM := grow(&ws.image.q, batch*imgSeq*mh)
	m.ImageToMMProjection.into(imageMM, imagePre, batch*imgSeq)
	textMM := grow(&ws.text.q, batch*txtSeq*mh)
	m.TextToMMProjection.into(textMM, textPre, batch*txtSeq)
	if out.MultimodalInput == nil {
		out.MultimodalInput = &MultimodalInput{}
	}
	mmIn := out.MultimodalInput
	seq := imgSeq + txtSeq
	cat := reuse3(&mmIn.HiddenStates, batch, seq, mh).Data
	for b := 0; b < batch; b++ {
		row := cat[b*seq*mh:]
		copy(row[:imgSeq*mh], imageMM[b*imgSeq*mh:(b+1)*imgSeq*mh])
		copy(row[imgSeq*mh:seq*mh], textMM[b*txtSeq*mh:(b+1)*txtSeq*mh])
	}
	if in.AttentionMask == nil {
		mmIn.AttentionMask = nil
	} else {
		// attention_multimodal = cat(ones(B, image tokens [+1 CLS]), attention_mask)
		head := imgSeq
		if m.MultimodalModel.CLSToken != nil {
			head++
		}
		width := head + txtSeq
		mask := reuse2(&mmIn.AttentionMask, batch, width).Data
		for b := 0; b < batch; b++ {
			row := mask[b*width : (b+1)*width]
			for j := 0; j < head; j++ {
				row[j] = 1
			}
			for j := 0; j < txtSeq; j++ {
				row[head+j] = float32(in.AttentionMask.Data[b*txtSeq+j])
			}
		}
	}
	if out.MultimodalOutput == nil {
		out.MultimodalOutput = &MultimodalOutput{}
	}
	if err := m.MultimodalModel.forward(&ws.multimodal, out.MultimodalOutput, *mmIn); err != nil {
		return err
	}
	out.MultimodalEmbeddings = out.MultimodalOutput.LastHiddenState
	return nil
}

// project applies l to every token of a B×S×in tensor.
func project(l *Linear, x *tensor.Tensor) *tensor.Tensor {
	b, s := x.Shape[0], x.Shape[1]
	return tensor.FromData(l.Forward(x.Data, b*s), b, s, l.out())
}

// GetImageFeatures is FlavaModel.get_image_features: image_projection of
// every token of the image encoder's last_hidden_state (B×(1+N)×projection).
// Token 0 is the vector the contrastive head normalises.
func (m *Model) GetImageFeatures(in ImageInput) (*tensor.Tensor, error) {
	in.OutputHiddenStates = false
	o, err := m.ImageModel.Forward(in)
	if err != nil {
		return nil, err
	}
	return project(&m.ImageProjection, o.LastHiddenState), nil
}

// GetTextFeatures is FlavaModel.get_text_features: text_projection of every
// token of the text encoder's last_hidden_state (B×L×projection).
func (m *Model) GetTextFeatures(in TextInput) (*tensor.Tensor, error) {
	in.OutputHiddenStates = false
	o, err := m.TextModel.Forward(in)
	if err != nil {
		return nil, err
	}
	return project(&m.TextProjection, o.LastHiddenState), nil
}

// SetPackedWeights turns weight packing on (the default) or off for every
// Linear of m: on, each Linear packs its weight on its next product (see
// "Packed weights" in the package doc); off, the packed copies are dropped
// and products pack their weight panels on every call, as before packing
// existed. The results are bit-identical either way. Call it when no
// forward pass is running; turning packing off and on again also repacks
// weights that were modified in place.
func (m *Model) SetPackedWeights(on bool) { setPackedWeights(m, on) }

// SetPackedWeights is Model.SetPackedWeights for the image encoder alone.
func (m *ImageModel) SetPackedWeights(on bool) { setPackedWeights(m, on) }

// SetPackedWeights is Model.SetPackedWeights for the text encoder alone.
func (m *TextModel) SetPackedWeights(on bool) { setPackedWeights(m, on) }

// SetPackedWeights is Model.SetPackedWeights for the multimodal encoder alone.
func (m *MultimodalModel) SetPackedWeights(on bool) { setPackedWeights(m, on) }

// SetPackedWeights is Model.SetPackedWeights for the FlavaModel and the
// pretraining heads (the image codebook has no Linear layers).
func (m *ForPreTraining) SetPackedWeights(on bool) { setPackedWeights(m, on) }

func setPackedWeights(v any, on bool) {
	visitLinears(reflect.ValueOf(v), func(l *Linear) { l.setPacked(on) })
}

// packedWeightBytes is the memory the packed copies of every Linear
// reachable from v take once all are packed.
func packedWeightBytes(v any) int64 {
	var n int64
	visitLinears(reflect.ValueOf(v), func(l *Linear) { n += l.packedBytes() })
	return n
}

var linearType = reflect.TypeOf(Linear{})

// visitLinears calls fn for every Linear reachable from v through exported
// `st`-tagged fields, pointers and slices (the modules the binder fills).
func visitLinears(v reflect.Value, fn func(*Linear)) {
	switch {
	case v.Type() == linearType:
		if v.CanAddr() {
			fn(v.Addr().Interface().(*Linear))
		}
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			visitLinears(v.Elem(), fn)
		}
	case v.Kind() == reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			visitLinears(v.Index(i), fn)
		}
	case v.Kind() == reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if _, ok := t.Field(i).Tag.Lookup("st"); ok && t.Field(i).IsExported() {
				visitLinears(v.Field(i), fn)
			}
		}
	}
}
