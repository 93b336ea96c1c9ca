package flava

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// NewRandomForPreTraining builds FlavaForPreTraining of the given
// configuration with deterministic random weights: the FlavaModel part exactly
// as NewRandom(cfg, seed) makes it, the heads drawn like transformers'
// _init_weights (normal with initializer_range, layernorms 1 and 0, biases 0),
// and, when init_codebook is set, the image codebook with He-normal
// convolutions (std √(2/fan_in), zero biases) so its logits spread over the
// vocabulary. Demos, tests and benchmarks use it; the numbers mean nothing.
func NewRandomForPreTraining(cfg Config, seed uint64) (*ForPreTraining, error) {
	fp, err := NewForPreTraining(cfg)
	if err != nil {
		return nil, err
	}
	m, err := NewRandom(cfg, seed)
	if err != nil {
		return nil, err
	}
	fp.Flava = m
	rng := rand.New(rand.NewPCG(seed^0x5bd1e995, seed+1))
	std := fp.Config.InitializerRange
	heads := struct {
		MIM      *MaskedPredictionHead `st:"mim_head"`
		MLM      *MaskedPredictionHead `st:"mlm_head"`
		ITM      *ITMHead              `st:"itm_head"`
		MMMImage *MaskedPredictionHead `st:"mmm_image_head"`
		MMMText  *MaskedPredictionHead `st:"mmm_text_head"`
	}{fp.MIMHead, fp.MLMHead, fp.ITMHead, fp.MMMImageHead, fp.MMMTextHead}
	visitTensors(&heads, "", func(name string, t *tensor.Tensor) {
		lower := strings.ToLower(name)
		switch {
		case strings.Contains(lower, "layernorm") && strings.HasSuffix(name, ".weight"):
			for i := range t.Data {
				t.Data[i] = 1
			}
		case strings.HasSuffix(name, "bias"):
			clear(t.Data)
		default:
			for i := range t.Data {
				t.Data[i] = float32(rng.NormFloat64() * std)
			}
		}
	})
	if cb := fp.ImageCodebook; cb != nil {
		for _, c := range cb.convs() {
			s := math.Sqrt(2 / float64(c.In*c.Kernel*c.Kernel))
			for i := range c.Weight.Data {
				c.Weight.Data[i] = float32(rng.NormFloat64() * s)
			}
			clear(c.Bias.Data)
		}
	}
	return fp, nil
}

// convs lists every convolution of the codebook.
func (cb *ImageCodebook) convs() []*CodebookConv2d {
	convs := []*CodebookConv2d{cb.Input, cb.Output}
	for _, g := range cb.Groups {
		for _, b := range g.Blocks {
			convs = append(convs, b.ResPath.Conv1, b.ResPath.Conv2, b.ResPath.Conv3, b.ResPath.Conv4)
			if b.IDPath != nil {
				convs = append(convs, b.IDPath)
			}
		}
	}
	return convs
}

// NumParameters counts the float32 weights of the model, its heads and its
// codebook (tied tensors once).
func (m *ForPreTraining) NumParameters() int64 {
	seen := map[*float32]bool{}
	var n int64
	add := func(t *tensor.Tensor) {
		if len(t.Data) == 0 || seen[&t.Data[0]] {
			return
		}
		seen[&t.Data[0]] = true
		n += int64(len(t.Data))
	}
	visitTensors(m, "", func(_ string, t *tensor.Tensor) { add(t) })
	if m.ImageCodebook != nil {
		for _, c := range m.ImageCodebook.convs() {
			add(c.Weight)
			add(c.Bias)
		}
	}
	return n
}
