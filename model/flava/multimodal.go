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

// Forward runs FlavaMultimodalModel.forward.
func (m *MultimodalModel) Forward(in MultimodalInput) (*MultimodalOutput, error) {
	x := in.HiddenStates
	hidden := m.Config.HiddenSize
	if x == nil {
		return nil, inputErr("multimodal hidden_states is nil")
	}
	if len(x.Shape) != 3 || !validShape(x.Shape, len(x.Data)) || x.Shape[0] <= 0 || x.Shape[1] <= 0 || x.Shape[2] != hidden {
		return nil, inputErr("multimodal hidden_states has shape %v, want non-empty B×S×%d", x.Shape, hidden)
	}
	batch, seq := x.Shape[0], x.Shape[1]
	var h []float32
	if m.CLSToken != nil {
		// torch.cat((cls_tokens, hidden_states), dim=1)
		h = make([]float32, batch*(seq+1)*hidden)
		for b := 0; b < batch; b++ {
			row := h[b*(seq+1)*hidden:]
			copy(row[:hidden], m.CLSToken.Data)
			copy(row[hidden:(seq+1)*hidden], x.Data[b*seq*hidden:(b+1)*seq*hidden])
		}
		seq++
	} else {
		h = append([]float32(nil), x.Data...) // hidden_states[0] must not alias the caller's tensor
	}
	mask := make([]float32, batch*seq)
	if in.AttentionMask == nil {
		for i := range mask {
			mask[i] = 1
		}
	} else {
		am := in.AttentionMask
		if len(am.Shape) != 2 || am.Shape[0] != batch || am.Shape[1] != seq || len(am.Data) != batch*seq {
			return nil, inputErr("multimodal attention_mask has shape %v, want [%d %d]", am.Shape, batch, seq)
		}
		copy(mask, am.Data)
	}
	last, all := m.Encoder.Forward(h, batch, seq, extendedMask(mask), in.OutputHiddenStates)
	seqOut := m.Layernorm.Forward(last, batch*seq)
	out := &MultimodalOutput{
		LastHiddenState: tensor.FromData(seqOut, batch, seq, hidden),
		HiddenStates:    asTensors(all, batch, seq, hidden),
	}
	if m.Pooler != nil {
		out.PooledOutput = tensor.FromData(m.Pooler.Forward(seqOut, batch, seq), batch, hidden)
	}
	return out, nil
}
