package flava

import (
	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// Embedding is torch.nn.Embedding: a rows×dim lookup table.
type Embedding struct {
	Weight *tensor.Tensor `st:"weight"`
}

// TextEmbeddings is FlavaTextEmbeddings: word + token type + absolute
// position embeddings, then LayerNorm. The position_ids and token_type_ids
// buffers (non-persistent, absent from checkpoints) are implied: positions
// 0..L-1 and token type 0.
type TextEmbeddings struct {
	WordEmbeddings      Embedding `st:"word_embeddings"`
	PositionEmbeddings  Embedding `st:"position_embeddings"`
	TokenTypeEmbeddings Embedding `st:"token_type_embeddings"`
	LayerNorm           LayerNorm `st:"LayerNorm"`
}

// Forward embeds validated ids (B×L); tokenTypes may be nil (all zero).
func (e *TextEmbeddings) Forward(ids, tokenTypes []int64, batch, seq int) []float32 {
	hidden := e.WordEmbeddings.Weight.Shape[1]
	out := make([]float32, batch*seq*hidden)
	word, pos, typ := e.WordEmbeddings.Weight.Data, e.PositionEmbeddings.Weight.Data, e.TokenTypeEmbeddings.Weight.Data
	for b := 0; b < batch; b++ {
		for t := 0; t < seq; t++ {
			i := b*seq + t
			row := out[i*hidden : (i+1)*hidden]
			w := word[int(ids[i])*hidden:]
			tt := 0
			if tokenTypes != nil {
				tt = int(tokenTypes[i])
			}
			ty := typ[tt*hidden:]
			p := pos[t*hidden:]
			// embeddings = inputs_embeds + token_type_embeddings; embeddings += position_embeddings
			for d := range row {
				row[d] = (w[d] + ty[d]) + p[d]
			}
		}
	}
	return e.LayerNorm.Forward(out, batch*seq)
}

// forward is Forward into x (batch×seq×hidden), the sums staged in s.ln.
func (e *TextEmbeddings) forward(s *encoderScratch, x []float32, ids, tokenTypes []int64, batch, seq int) {
	hidden := e.WordEmbeddings.Weight.Shape[1]
	sum := grow(&s.ln, batch*seq*hidden)
	word, pos, typ := e.WordEmbeddings.Weight.Data, e.PositionEmbeddings.Weight.Data, e.TokenTypeEmbeddings.Weight.Data
	for i := 0; i < batch*seq; i++ {
		row := sum[i*hidden : (i+1)*hidden]
		tt := 0
		if tokenTypes != nil {
			tt = int(tokenTypes[i])
		}
		t := i % seq
		// embeddings = inputs_embeds + token_type_embeddings; embeddings += position_embeddings
		kernels.Add(row, word[int(ids[i])*hidden:][:hidden], typ[tt*hidden:][:hidden])
		kernels.Add(row, row, pos[t*hidden:][:hidden])
	}
	e.LayerNorm.into(x, sum, batch*seq)
}

// TextInput is the input of TextModel.Forward (FlavaTextModel.forward).
type TextInput struct {
	// InputIDs is B×L token ids in [0, vocab_size), L ≤ max_position_embeddings.
	InputIDs *tensor.Int64
	// AttentionMask is nil (all ones) or B×L: 1 = attend, 0 = padding.
	AttentionMask *tensor.Int64
	// TokenTypeIDs is nil (all zeros) or B×L segment ids in [0, type_vocab_size).
	TokenTypeIDs *tensor.Int64
	// OutputHiddenStates fills TextOutput.HiddenStates.
	OutputHiddenStates bool
}

// TextOutput is BaseModelOutputWithPooling of FlavaTextModel.
type TextOutput struct {
	LastHiddenState *tensor.Tensor   // B×L×hidden, after the final LayerNorm
	PooledOutput    *tensor.Tensor   // B×hidden
	HiddenStates    []*tensor.Tensor // embeddings + each layer's output, when asked
}

// TextModel is FlavaTextModel.
type TextModel struct {
	Embeddings TextEmbeddings `st:"embeddings"`
	Encoder    Encoder        `st:"encoder"`
	Layernorm  LayerNorm      `st:"layernorm"`
	Pooler     *Pooler        `st:"pooler"`

	Config TextConfig
	// Source says where the weights came from (zero for NewX / NewRandom).
	Source LoadInfo
}

// NewTextModel builds a FlavaTextModel with zero weights shaped by cfg.
func NewTextModel(cfg TextConfig) (*TextModel, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := cfg.HiddenSize
	return &TextModel{
		Embeddings: TextEmbeddings{
			WordEmbeddings:      Embedding{tensor.New(cfg.VocabSize, h)},
			PositionEmbeddings:  Embedding{tensor.New(cfg.MaxPositionEmbeddings, h)},
			TokenTypeEmbeddings: Embedding{tensor.New(cfg.TypeVocabSize, h)},
			LayerNorm:           newLayerNorm(h, cfg.LayerNormEps),
		},
		Encoder: newEncoder(encoderSpec{h, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize,
			cfg.HiddenAct, cfg.LayerNormEps, cfg.HasQKVBias()}),
		Layernorm: newLayerNorm(h, cfg.LayerNormEps),
		Pooler:    &Pooler{Dense: newLinear(h, h, true)},
		Config:    cfg,
	}, nil
}

// checkInput validates shapes and id ranges and returns B, L.
func (m *TextModel) checkInput(in TextInput) (int, int, error) {
	ids := in.InputIDs
	if ids == nil {
		return 0, 0, inputErr("input_ids is nil")
	}
	if len(ids.Shape) != 2 || !validShape(ids.Shape, len(ids.Data)) || ids.Shape[0] <= 0 || ids.Shape[1] <= 0 {
		return 0, 0, inputErr("input_ids has shape %v (%d values), want non-empty B×L", ids.Shape, len(ids.Data))
	}
	b, l := ids.Shape[0], ids.Shape[1]
	c := m.Config
	if l > c.MaxPositionEmbeddings {
		return 0, 0, inputErr("sequence length %d exceeds max_position_embeddings %d", l, c.MaxPositionEmbeddings)
	}
	for i, id := range ids.Data {
		if id < 0 || id >= int64(c.VocabSize) {
			return 0, 0, inputErr("input_ids[%d][%d] = %d is outside the vocabulary [0, %d)", i/l, i%l, id, c.VocabSize)
		}
	}
	for _, x := range []struct {
		name string
		t    *tensor.Int64
	}{{"attention_mask", in.AttentionMask}, {"token_type_ids", in.TokenTypeIDs}} {
		if x.t != nil && (!tensor.SameShape(x.t.Shape, ids.Shape) || !validShape(x.t.Shape, len(x.t.Data))) {
			return 0, 0, inputErr("%s has shape %v, want %v like input_ids", x.name, x.t.Shape, ids.Shape)
		}
	}
	if in.TokenTypeIDs != nil {
		for i, t := range in.TokenTypeIDs.Data {
			if t < 0 || t >= int64(c.TypeVocabSize) {
				return 0, 0, inputErr("token_type_ids[%d][%d] = %d is outside [0, %d)", i/l, i%l, t, c.TypeVocabSize)
			}
		}
	}
	return b, l, nil
}

// Forward runs FlavaTextModel.forward. Scratch memory comes from a reused
// Workspace; the returned output's tensors are the only allocations.
func (m *TextModel) Forward(in TextInput) (*TextOutput, error) {
	ws := getWorkspace()
	defer putWorkspace(ws)
	out := &TextOutput{}
	if _, err := m.forward(&ws.text, out, in); err != nil {
		return nil, err
	}
	return out, nil
}

// ForwardInto is Forward without allocation in steady state: scratch comes
// from ws, and the results are written into out's tensors, which are reused
// when they already have the needed capacity (and replaced by new tensors
// otherwise, e.g. on the first call). HiddenStates is set to nil unless asked
// for. On error out is left partly written.
func (m *TextModel) ForwardInto(ws *Workspace, out *TextOutput, in TextInput) error {
	_, err := m.forward(&ws.text, out, in)
	return err
}

// forward runs the model with scratch s and returns the last encoder
// layer's output before the final LayerNorm (HF's hidden_states[-1]); it
// lives in s.
func (m *TextModel) forward(s *encoderScratch, out *TextOutput, in TextInput) ([]float32, error) {
	batch, seq, err := m.checkInput(in)
	if err != nil {
		return nil, err
	}
	hidden := m.Config.HiddenSize
	// attention_mask defaults to ones (an all-zero additive mask: none);
	// get_extended_attention_mask
	var ext []float32
	if in.AttentionMask != nil {
		ext = grow(&s.mask, batch*seq)
		extendedMaskInt64(ext, in.AttentionMask.Data)
	}
	var types []int64
	if in.TokenTypeIDs != nil {
		types = in.TokenTypeIDs.Data
	}
	x := grow(&s.x, batch*seq*hidden)
	m.Embeddings.forward(s, x, in.InputIDs.Data, types, batch, seq)
	var states []*tensor.Tensor
	if !in.OutputHiddenStates {
		out.HiddenStates = nil
	} else {
		states = reuseStates(&out.HiddenStates, len(m.Encoder.Layer)+1, batch, seq, hidden)
		copy(states[0].Data, x)
	}
	m.Encoder.forward(s, x, batch, seq, ext, states)
	last := reuse3(&out.LastHiddenState, batch, seq, hidden)
	m.Layernorm.into(last.Data, x, batch*seq)
	if m.Pooler != nil {
		m.Pooler.into(s, reuse2(&out.PooledOutput, batch, hidden).Data, last.Data, batch, seq)
	} else {
		out.PooledOutput = nil
	}
	return x, nil
}
