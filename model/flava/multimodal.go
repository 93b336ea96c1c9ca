package flava

import (
	"github.com/flavabeam/flavabeam/model/tensor"
)

// MultimodalInput is the input of MultimodalModel.Forward
// (FlavaMultimodalModel.forward).
type MultimodalInput struct {
	// HiddenStates is B×S×hidden: the concatenated, projected unimodal states.
	HiddenStates *tensor.Tensor
	// AttentionMask is nil (all ones) or B×S' with S' = S+1 when the model
	// uses its CLS token (the CLS position comes first), else S; 1 = attend.
	AttentionMask *tensor.Tensor
	// OutputHiddenStates fills MultimodalOutput.HiddenStates.
	OutputHiddenStates bool
}

// MultimodalOutput is BaseModelOutputWithPooling of FlavaMultimodalModel.
type MultimodalOutput struct {
	LastHiddenState *tensor.Tensor   // B×S'×hidden, after the final LayerNorm
	PooledOutput    *tensor.Tensor   // B×hidden
	HiddenStates    []*tensor.Tensor // input (+CLS) + each layer's output, when asked
}

// MultimodalModel is FlavaMultimodalModel.
type MultimodalModel struct {
	CLSToken  *tensor.Tensor `st:"cls_token"` // nil when use_cls_token=false
	Encoder   Encoder        `st:"encoder"`
	Layernorm LayerNorm      `st:"layernorm"`
	Pooler    *Pooler        `st:"pooler"`

	Config MultimodalConfig
	// Source says where the weights came from (zero for NewX / NewRandom).
	Source LoadInfo
}

// NewMultimodalModel builds a FlavaMultimodalModel with zero weights shaped by
// cfg.
func NewMultimodalModel(cfg MultimodalConfig) (*MultimodalModel, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := cfg.HiddenSize
	m := &MultimodalModel{
		Encoder: newEncoder(encoderSpec{h, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize,
			cfg.HiddenAct, cfg.LayerNormEps, cfg.HasQKVBias()}),
		Layernorm: newLayerNorm(h, cfg.LayerNormEps),
		Pooler:    &Pooler{Dense: newLinear(h, h, true)},
		Config:    cfg,
	}
	if cfg.HasCLSToken() {
		m.CLSToken = tensor.New(1, 1, h)
	}
	return m, nil
}

// Forward runs FlavaMultimodalModel.forward. Scratch memory comes from a
// reused Workspace; the returned output's tensors are the only allocations.
func (m *MultimodalModel) Forward(in MultimodalInput) (*MultimodalOutput, error) {
	ws := getWorkspace()
	defer putWorkspace(ws)
	out := &MultimodalOutput{}
	if err := m.forward(&ws.multimodal, out, in); err != nil {
		return nil, err
	}
	return out, nil
}

// ForwardInto is Forward without allocation in steady state: scratch comes
// from ws, and the results are written into out's tensors, which are reused
// when they already have the needed capacity (and replaced by new tensors
// otherwise, e.g. on the first call). HiddenStates is set to nil unless asked
// for. On error out is left partly written.
func (m *MultimodalModel) ForwardInto(ws *Workspace, out *MultimodalOutput, in MultimodalInput) error {
	return m.forward(&ws.multimodal, out, in)
}

func (m *MultimodalModel) forward(s *encoderScratch, out *MultimodalOutput, in MultimodalInput) error {
	x := in.HiddenStates
	hidden := m.Config.HiddenSize
	if x == nil {
		return inputErr("multimodal hidden_states is nil")
	}
	if len(x.Shape) != 3 || !validShape(x.Shape, len(x.Data)) || x.Shape[0] <= 0 || x.Shape[1] <= 0 || x.Shape[2] != hidden {
		return inputErr("multimodal hidden_states has shape %v, want non-empty B×S×%d", x.Shape, hidden)
	}
	batch, seq := x.Shape[0], x.Shape[1]
	if m.CLSToken != nil {
		seq++
	}
	var ext []float32
	if am := in.AttentionMask; am != nil {
		if len(am.Shape) != 2 || am.Shape[0] != batch || am.Shape[1] != seq || len(am.Data) != batch*seq {
			return inputErr("multimodal attention_mask has shape %v, want [%d %d]", am.Shape, batch, seq)
		}
		ext = grow(&s.mask, batch*seq)
		extendedMaskFloat32(ext, am.Data)
	}
	h := grow(&s.x, batch*seq*hidden)
	if m.CLSToken != nil {
		// torch.cat((cls_tokens, hidden_states), dim=1)
		for b := 0; b < batch; b++ {
			row := h[b*seq*hidden:]
			copy(row[:hidden], m.CLSToken.Data)
			copy(row[hidden:seq*hidden], x.Data[b*(seq-1)*hidden:(b+1)*(seq-1)*hidden])
		}
	} else {
		copy(h, x.Data)
	}
	var states []*tensor.Tensor
	if !in.OutputHiddenStates {
		out.HiddenStates = nil
	} else {
		states = reuseStates(&out.HiddenStates, len(m.Encoder.Layer)+1, batch, seq, hidden)
		copy(states[0].Data, h)
	}
	m.Encoder.forward(s, h, batch, seq, ext, states)
	last := reuse3(&out.LastHiddenState, batch, seq, hidden)
	m.Layernorm.into(last.Data, h, batch*seq)
	if m.Pooler != nil {
		m.Pooler.into(s, reuse2(&out.PooledOutput, batch, hidden).Data, last.Data, batch, seq)
	} else {
		out.PooledOutput = nil
	}
	return nil
}
