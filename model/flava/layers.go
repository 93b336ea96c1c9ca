package flava

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// Linear is torch.nn.Linear: Weight is out×in (state-dict layout), Bias has
// out values or is nil (qkv_bias=false).
//
// A Linear made by this package's constructors (NewModel, NewRandom, the
// loaders, ...) packs its weight into kernels.PackedWeights on its first
// product and reuses that copy afterwards (see "Packed weights" in the
// package doc); the results are bit-identical to the unpacked product.
type Linear struct {
	Weight *tensor.Tensor `st:"weight"`
	Bias   *tensor.Tensor `st:"bias"`

	// pack holds the packed weight; nil (a Linear built as a literal)
	// means always unpacked. A pointer, so that the Linear values embedded
	// in the module structs share it and stay copyable.
	pack *linearPack
}

// linearPack is a Linear's lazily packed weight. Concurrent forwards may
// race to pack it: the first one packs under mu, the others wait for it;
// afterwards the fast path is one atomic load.
type linearPack struct {
	mu   sync.Mutex
	off  atomic.Bool                // float32 packing turned off (SetPackedWeights(false))
	bf16 atomic.Bool                // bf16 products (SetPrecision(PrecisionBF16))
	cur  atomic.Pointer[packedFrom] // nil until first use or after a change
}

// packedFrom remembers which weight tensor and backing array were packed, so
// that a Weight replaced by a new tensor (as tests and the binder do) is
// packed again instead of serving stale panels. Exactly one of pw (float32)
// and pb (bf16) is set.
type packedFrom struct {
	src  *tensor.Tensor
	data *float32
	pw   *kernels.PackedWeights
	pb   *kernels.PackedWeightsBF16
}

func newLinear(in, out int, bias bool) Linear {
	l := Linear{Weight: tensor.New(out, in), pack: &linearPack{}}
	if bias {
		l.Bias = tensor.New(out)
	}
	return l
}

func (l *Linear) in() int  { return l.Weight.Shape[1] }
func (l *Linear) out() int { return l.Weight.Shape[0] }

// packed returns the packed weight, packing it on first use: the bf16
// copy when the Linear's precision is bf16, else the float32 one, or nil
// when packing is off or not available for this Linear (float32 only: bf16
// products always run on a packed copy).
func (l *Linear) packed() *packedFrom {
	h := l.pack
	if h == nil || len(l.Weight.Data) == 0 {
		return nil
	}
	bf := h.bf16.Load()
	if !bf && h.off.Load() {
		return nil
	}
	data := &l.Weight.Data[0]
	if p := h.cur.Load(); p != nil && p.src == l.Weight && p.data == data && (p.pb != nil) == bf {
		return p
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	bf = h.bf16.Load()
	if !bf && h.off.Load() {
		return nil
	}
	if p := h.cur.Load(); p != nil && p.src == l.Weight && p.data == data && (p.pb != nil) == bf {
		return p
	}
	p := &packedFrom{src: l.Weight, data: data}
	if bf {
		p.pb = kernels.PackWeightsBF16(l.Weight.Data, l.out(), l.in())
	} else {
		p.pw = kernels.PackWeights(l.Weight.Data, l.out(), l.in())
	}
	h.cur.Store(p)
	return p
}

// setPacked turns float32 packing on (lazily, on the next product) or off,
// dropping the packed copy.
func (l *Linear) setPacked(on bool) {
	if l.pack == nil {
		return
	}
	l.pack.mu.Lock()
	l.pack.off.Store(!on)
	l.pack.cur.Store(nil)
	l.pack.mu.Unlock()
}

// setBF16 switches the Linear's products to bf16 or back to float32,
// dropping the packed copy of the other precision (the new one is packed on
// the next product).
func (l *Linear) setBF16(on bool) {
	if l.pack == nil {
		return
	}
	l.pack.mu.Lock()
	l.pack.bf16.Store(on)
	l.pack.cur.Store(nil)
	l.pack.mu.Unlock()
}

// packedBytes is the memory l's packed copy takes or would take.
func (l *Linear) packedBytes() int64 {
	return 4 * int64(l.in()) * int64((l.out()+15)/16*16)
}

// sgemm computes dst = x·Wᵀ + beta·dst (rows×out), packed when possible,
// in bf16 when the Linear's precision is bf16.
func (l *Linear) sgemm(dst, x []float32, rows int, beta float32) {
	in, out := l.in(), l.out()
	if p := l.packed(); p != nil {
		if p.pb != nil {
			kernels.SgemmPackedBF16(rows, x, in, p.pb, beta, dst, out)
			return
		}
		kernels.SgemmPacked(rows, 1, x, in, p.pw, beta, dst, out)
		return
	}
	kernels.Sgemm(false, true, rows, out, in, 1, x, in, l.Weight.Data, in, beta, dst, out)
}

// Forward returns x·Wᵀ+b for rows×in values of x, as a new rows×out slice.
func (l *Linear) Forward(x []float32, rows int) []float32 {
	dst := make([]float32, rows*l.out())
	l.into(dst, x, rows)
	return dst
}

// LayerNorm is torch.nn.LayerNorm over the last dimension.
type LayerNorm struct {
	Weight *tensor.Tensor `st:"weight"`
	Bias   *tensor.Tensor `st:"bias"`
	Eps    float32
}

func newLayerNorm(dim int, eps float64) LayerNorm {
	return LayerNorm{Weight: tensor.New(dim), Bias: tensor.New(dim), Eps: float32(eps)}
}

// Forward returns the normalised rows of x as a new slice.
func (n *LayerNorm) Forward(x []float32, rows int) []float32 {
	dim := len(n.Weight.Data)
	dst := make([]float32, rows*dim)
	kernels.LayerNorm(dst, x, rows, dim, n.Weight.Data, n.Bias.Data, n.Eps)
	return dst
}

// SelfAttention is FlavaSelfAttention: query/key/value projections and scaled
// dot-product attention over all heads, with an additive key mask.
type SelfAttention struct {
	Query Linear `st:"query"`
	Key   Linear `st:"key"`
	Value Linear `st:"value"`

	NumHeads int
}

// Forward returns the context layer (batch×seq×hidden) for hidden states x.
// mask is nil or batch×seq additive values (the extended attention mask).
func (a *SelfAttention) Forward(x []float32, batch, seq int, mask []float32) []float32 {
	rows := batch * seq
	q := a.Query.Forward(x, rows)
	k := a.Key.Forward(x, rows)
	v := a.Value.Forward(x, rows)
	width := a.Query.out()
	headDim := width / a.NumHeads
	ctx := make([]float32, rows*width)
	// attention_scores / math.sqrt(head_size), folded into the Q·Kᵀ product.
	scale := float32(1 / math.Sqrt(float64(headDim)))
	kernels.Attention(ctx, q, k, v, batch, seq, seq, a.NumHeads, headDim, mask, scale)
	return ctx
}

// SelfOutput is FlavaSelfOutput: the attention output projection (the
// residual is added in Layer, as in HF).
type SelfOutput struct {
	Dense Linear `st:"dense"`
}

// Forward projects the attention context.
func (o *SelfOutput) Forward(ctx []float32, rows int) []float32 { return o.Dense.Forward(ctx, rows) }

// Attention is FlavaAttention: SelfAttention followed by SelfOutput.
type Attention struct {
	Attention SelfAttention `st:"attention"`
	Output    SelfOutput    `st:"output"`
}

// Forward runs self-attention and the output projection.
func (a *Attention) Forward(x []float32, batch, seq int, mask []float32) []float32 {
	ctx := a.Attention.Forward(x, batch, seq, mask)
	return a.Output.Forward(ctx, batch*seq)
}

// Intermediate is FlavaIntermediate: dense then the config's activation.
type Intermediate struct {
	Dense Linear `st:"dense"`
	Act   kernels.Activation
}

// Forward returns act(dense(x)).
func (m *Intermediate) Forward(x []float32, rows int) []float32 {
	h := m.Dense.Forward(x, rows)
	m.Act.Apply(h)
	return h
}

// Output is FlavaOutput: dense plus the residual input.
type Output struct {
	Dense Linear `st:"dense"`
}

// Forward returns dense(h) + residual.
func (o *Output) Forward(h, residual []float32, rows int) []float32 {
	out := o.Dense.Forward(h, rows)
	kernels.Add(out, out, residual)
	return out
}

// Layer is FlavaLayer, a pre-LayerNorm ViT block.
type Layer struct {
	Attention       Attention    `st:"attention"`
	Intermediate    Intermediate `st:"intermediate"`
	Output          Output       `st:"output"`
	LayernormBefore LayerNorm    `st:"layernorm_before"`
	LayernormAfter  LayerNorm    `st:"layernorm_after"`
}

// Forward maps batch×seq×hidden states x to the layer output (new slice).
func (l *Layer) Forward(x []float32, batch, seq int, mask []float32) []float32 {
	rows := batch * seq
	attn := l.Attention.Forward(l.LayernormBefore.Forward(x, rows), batch, seq, mask)
	// first residual connection
	kernels.Add(attn, attn, x)
	hidden := attn
	h := l.LayernormAfter.Forward(hidden, rows)
	h = l.Intermediate.Forward(h, rows)
	// second residual connection inside Output
	return l.Output.Forward(h, hidden, rows)
}

// Encoder is FlavaEncoder: a stack of Layers.
type Encoder struct {
	Layer []*Layer `st:"layer"`
}

// encoderSpec carries what newEncoder needs from any of the three configs.
type encoderSpec struct {
	hidden, layers, heads, inter int
	act                          string
	eps                          float64
	qkvBias                      bool
}

func newEncoder(s encoderSpec) Encoder {
	e := Encoder{Layer: make([]*Layer, s.layers)}
	for i := range e.Layer {
		e.Layer[i] = &Layer{
			Attention: Attention{
				Attention: SelfAttention{
					Query:    newLinear(s.hidden, s.hidden, s.qkvBias),
					Key:      newLinear(s.hidden, s.hidden, s.qkvBias),
					Value:    newLinear(s.hidden, s.hidden, s.qkvBias),
					NumHeads: s.heads,
				},
				Output: SelfOutput{Dense: newLinear(s.hidden, s.hidden, true)},
			},
			Intermediate:    Intermediate{Dense: newLinear(s.hidden, s.inter, true), Act: kernels.Activation(s.act)},
			Output:          Output{Dense: newLinear(s.inter, s.hidden, true)},
			LayernormBefore: newLayerNorm(s.hidden, s.eps),
			LayernormAfter:  newLayerNorm(s.hidden, s.eps),
		}
	}
	return e
}

// Forward runs every layer. With keepAll it also returns the hidden states
// HF's output_hidden_states gives: the input, then each layer's output.
func (e *Encoder) Forward(x []float32, batch, seq int, mask []float32, keepAll bool) (last []float32, all [][]float32) {
	if keepAll {
		all = append(all, x)
	}
	h := x
	for _, l := range e.Layer {
		h = l.Forward(h, batch, seq, mask)
		if keepAll {
			all = append(all, h)
		}
	}
	return h, all
}

// Pooler is FlavaPooler: tanh(dense(hidden_states[:, 0])).
type Pooler struct {
	Dense Linear `st:"dense"`
}

// Forward pools batch×seq×hidden states into batch×hidden.
func (p *Pooler) Forward(x []float32, batch, seq int) []float32 {
	hidden := p.Dense.in()
	first := make([]float32, batch*hidden)
	for b := 0; b < batch; b++ {
		copy(first[b*hidden:(b+1)*hidden], x[b*seq*hidden:])
	}
	out := p.Dense.Forward(first, batch)
	for i, v := range out {
		out[i] = float32(math.Tanh(float64(v)))
	}
	return out
}

// The methods below are the fused, allocation-free path the models run: the
// same modules in the same order as the Forward methods above,
// but writing into Workspace buffers, with the residual stream updated in
// place and the bias, activation and residual additions folded into
// neighbouring passes. The Forward methods above stay as the plain,
// one-module-one-call mirror of modeling_flava.py (and the reference the
// fused path is tested against).

// into writes x·Wᵀ+b for rows×in values of x into dst (rows×out).
func (l *Linear) into(dst, x []float32, rows int) {
	if l.fused(dst, x, rows, kernels.BiasAfter) {
		return
	}
	l.sgemm(dst, x, rows, 0)
	if l.Bias != nil {
		kernels.AddBias(dst, rows, l.out(), l.Bias.Data)
	}
}

// addInto adds x·Wᵀ+b to dst (rows×out) in place: the bias first, then the
// product accumulated by the GEMM itself (beta = 1), so a residual
// connection costs no extra pass over the activations.
func (l *Linear) addInto(dst, x []float32, rows int) {
	if l.fused(dst, x, rows, kernels.BiasResidual) {
		return
	}
	if l.Bias != nil {
		kernels.AddBias(dst, rows, l.out(), l.Bias.Data)
	}
	l.sgemm(dst, x, rows, 1)
}

// fused runs the product and the bias as one kernel call (e says how; each
// thread handles the bias of its own block, so the Linear is one parallel
// section instead of two) when the weight is packed and there is a bias,
// and reports whether it did. Bit-identical to the separate calls.
func (l *Linear) fused(dst, x []float32, rows int, e kernels.Epilogue) bool {
	if l.Bias == nil {
		return false
	}
	p := l.packed()
	switch {
	case p == nil:
		return false
	case p.pb != nil:
		kernels.LinearPackedBF16Epilogue(dst, x, rows, p.pb, l.Bias.Data, e)
	default:
		kernels.LinearPackedEpilogue(dst, x, rows, p.pw, l.Bias.Data, e)
	}
	return true
}

// into writes the normalised rows of x into dst.
func (n *LayerNorm) into(dst, x []float32, rows int) {
	kernels.LayerNorm(dst, x, rows, len(n.Weight.Data), n.Weight.Data, n.Bias.Data, n.Eps)
}

// forward is FlavaSelfAttention.forward into s.ctx: the Q, K and V
// projections of x, then attention over all heads straight from their
// nn.Linear layout (no transpose_for_scores copies).
func (a *SelfAttention) forward(s *encoderScratch, x []float32, batch, seq int, mask []float32) []float32 {
	rows := batch * seq
	width := a.Query.out()
	q := grow(&s.q, rows*width)
	k := grow(&s.k, rows*width)
	v := grow(&s.v, rows*width)
	ctx := grow(&s.ctx, rows*width)
	a.Query.into(q, x, rows)
	a.Key.into(k, x, rows)
	a.Value.into(v, x, rows)
	headDim := width / a.NumHeads
	// attention_scores / math.sqrt(head_size), folded into the Q·Kᵀ product.
	scale := float32(1 / math.Sqrt(float64(headDim)))
	kernels.Attention(ctx, q, k, v, batch, seq, seq, a.NumHeads, headDim, mask, scale)
	return ctx
}

// forward is FlavaIntermediate.forward into s.inter: dense then the
// activation, with an exact GELU fused into the bias pass.
func (m *Intermediate) forward(s *encoderScratch, x []float32, rows int) []float32 {
	out := m.Dense.out()
	h := grow(&s.inter, rows*out)
	if m.Act == kernels.ActGELU && m.Dense.fused(h, x, rows, kernels.BiasGELU) {
		return h
	}
	if m.Act == kernels.ActGELU && m.Dense.Bias != nil {
		m.Dense.sgemm(h, x, rows, 0)
		kernels.AddBiasGELU(h, rows, out, m.Dense.Bias.Data)
		return h
	}
	m.Dense.into(h, x, rows)
	m.Act.Apply(h)
	return h
}

// forward is FlavaLayer.forward on the residual stream x (batch×seq×hidden),
// updated in place to the layer's output.
func (l *Layer) forward(s *encoderScratch, x []float32, batch, seq int, mask []float32) {
	rows := batch * seq
	ln := grow(&s.ln, len(x))
	// layernorm_before, self-attention
	l.LayernormBefore.into(ln, x, rows)
	ctx := l.Attention.Attention.forward(s, ln, batch, seq, mask)
	// attention output dense; first residual connection: x = dense(ctx) + x
	l.Attention.Output.Dense.addInto(x, ctx, rows)
	// layernorm_after, intermediate
	l.LayernormAfter.into(ln, x, rows)
	h := l.Intermediate.forward(s, ln, rows)
	// second residual connection inside FlavaOutput: x = dense(h) + x
	l.Output.Dense.addInto(x, h, rows)
}

// forward runs every layer on the residual stream x in place. When states
// is not nil it receives HF's output_hidden_states: states[0] must already
// hold the input; states[i+1] gets layer i's output.
func (e *Encoder) forward(s *encoderScratch, x []float32, batch, seq int, mask []float32, states []*tensor.Tensor) {
	for i, l := range e.Layer {
		l.forward(s, x, batch, seq, mask)
		if states != nil {
			copy(states[i+1].Data, x)
		}
	}
}

// into is FlavaPooler.forward into dst (batch×hidden).
func (p *Pooler) into(s *encoderScratch, dst, x []float32, batch, seq int) {
	hidden := p.Dense.in()
	first := grow(&s.first, batch*hidden)
	for b := 0; b < batch; b++ {
		copy(first[b*hidden:(b+1)*hidden], x[b*seq*hidden:])
	}
	p.Dense.into(dst, first, batch)
	for i, v := range dst {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

// extendedMaskInt64 writes transformers' extended attention mask,
// (1 - mask) * finfo(float32).min, for a 0/1 int64 mask into dst; a nil mask
// means all ones.
func extendedMaskInt64(dst []float32, mask []int64) {
	if mask == nil {
		clear(dst)
		return
	}
	for i, m := range mask[:len(dst)] {
		dst[i] = (1 - float32(m)) * -math.MaxFloat32
	}
}

// extendedMaskFloat32 is extendedMaskInt64 for a float32 mask.
func extendedMaskFloat32(dst []float32, mask []float32) {
	if mask == nil {
		clear(dst)
		return
	}
	for i, m := range mask[:len(dst)] {
		dst[i] = (1 - m) * -math.MaxFloat32
	}
}
