package processor

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/model/tokenizer"
)

// IgnoreIndex marks label positions the MLM loss ignores (PyTorch's -100).
const IgnoreIndex = -100

// ErrConfig reports a bad Options or MLMConfig field.
var ErrConfig = errors.New("processor: invalid configuration")

// MLMConfig are DataCollatorForLanguageModeling's parameters. The zero value
// is transformers' default: 15% of tokens selected, of those 80% → [MASK],
// 10% → a random token, 10% unchanged.
type MLMConfig struct {
	// Probability selects each non-special, non-padding token. Default 0.15
	// (when 0).
	Probability float64
	// MaskReplaceProb is the share of selected tokens replaced by [MASK].
	// Default (nil) 0.8.
	MaskReplaceProb *float64
	// RandomReplaceProb is the share of selected tokens replaced by a random
	// token id drawn uniformly from [0, VocabSize). Default (nil) 0.1. The
	// remaining 1 - MaskReplaceProb - RandomReplaceProb keep their token.
	RandomReplaceProb *float64
}

func (c MLMConfig) resolved() (p, maskP, randP float64) {
	p, maskP, randP = c.Probability, 0.8, 0.1
	if p == 0 {
		p = 0.15
	}
	if c.MaskReplaceProb != nil {
		maskP = *c.MaskReplaceProb
	}
	if c.RandomReplaceProb != nil {
		randP = *c.RandomReplaceProb
	}
	return
}

// Validate reports the first bad field.
func (c MLMConfig) Validate() error {
	p, maskP, randP := c.resolved()
	switch {
	case !(p > 0 && p <= 1):
		return fmt.Errorf("%w: MLMConfig.Probability = %v, want (0, 1]", ErrConfig, c.Probability)
	case !(maskP >= 0 && maskP <= 1):
		return fmt.Errorf("%w: MLMConfig.MaskReplaceProb = %v, want [0, 1]", ErrConfig, maskP)
	case !(randP >= 0 && randP <= 1):
		return fmt.Errorf("%w: MLMConfig.RandomReplaceProb = %v, want [0, 1]", ErrConfig, randP)
	case maskP+randP > 1+1e-12:
		return fmt.Errorf("%w: MLMConfig.MaskReplaceProb + RandomReplaceProb = %v > 1", ErrConfig, maskP+randP)
	}
	return nil
}

// MLMCollator masks token ids like DataCollatorForLanguageModeling(mlm=True).
// It is immutable and safe for concurrent use; randomness comes from the
// *rand.Rand passed to each call.
type MLMCollator struct {
	tok                *tokenizer.Tokenizer
	p, maskP, randCond float64 // randCond = P(random | selected, not [MASK])
	vocab              int
}

// NewMLMCollator validates cfg and binds it to tok's special tokens and
// vocabulary size.
func NewMLMCollator(tok *tokenizer.Tokenizer, cfg MLMConfig) (*MLMCollator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, maskP, randP := cfg.resolved()
	c := &MLMCollator{tok: tok, p: p, maskP: maskP, vocab: tok.VocabSize()}
	if maskP < 1 {
		c.randCond = randP / (1 - maskP)
	}
	return c, nil
}

// mlmPCGStream is the second PCG seed word, fixed so a uint64 seed alone
// determines the masks.
const mlmPCGStream = 0x4d4c4d // "MLM"

// NewRand returns the generator Mask draws from for a seed.
func NewRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, mlmPCGStream)) }

// MaskRow writes the masked copy of ids into masked and the labels into
// labels (all three of one length): each token that is neither special
// ([CLS], [SEP], [PAD], [UNK], [MASK]) nor padding is selected with
// probability Probability; a selected token's label is its id and its input
// becomes [MASK] (MaskReplaceProb), a random id (RandomReplaceProb) or stays;
// unselected labels are IgnoreIndex. It returns the number selected.
func (c *MLMCollator) MaskRow(masked, labels, ids []int64, rng *rand.Rand) int {
	if len(masked) != len(ids) || len(labels) != len(ids) {
		panic("processor: MaskRow buffers of different lengths")
	}
	pad, mask := int64(c.tok.PadID()), int64(c.tok.MaskID())
	n := 0
	for i, id := range ids {
		masked[i], labels[i] = id, IgnoreIndex
		if id == pad || id < -1<<31 || id >= 1<<31 || c.tok.IsSpecial(int32(id)) {
			continue
		}
		// Same draws as the torch code: one Bernoulli(p) per position for
		// selection, then Bernoulli(maskP), then Bernoulli(randCond).
		if rng.Float64() >= c.p {
			continue
		}
		n++
		labels[i] = id
		switch {
		case rng.Float64() < c.maskP:
			masked[i] = mask
		case rng.Float64() < c.randCond:
			masked[i] = int64(rng.IntN(c.vocab))
		}
	}
	return n
}

// Mask returns the masked inputs and labels of a (B, L) id tensor.
func (c *MLMCollator) Mask(ids *tensor.Int64, rng *rand.Rand) (masked, labels *tensor.Int64) {
	masked = &tensor.Int64{Shape: append([]int(nil), ids.Shape...), Data: make([]int64, len(ids.Data))}
	labels = &tensor.Int64{Shape: append([]int(nil), ids.Shape...), Data: make([]int64, len(ids.Data))}
	c.MaskRow(masked.Data, labels.Data, ids.Data, rng)
	return masked, labels
}
