package processor

import (
	"math"
	"slices"
	"testing"

	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/model/tokenizer"
)

var mlmCaptions = []string{
	"A man riding a wave on top of a surfboard.",
	"Two dogs playing in the snow near an old red barn",
	"[MASK] is a special token and so is [UNK] here",
	"A plate of food with broccoli, rice and grilled chicken.",
	"",
	"a close-up of a cat's face with green eyes",
}

// mlmBatch tokenizes n rows (cycling mlmCaptions) to max_length 32.
func mlmBatch(t *testing.T, tok *tokenizer.Tokenizer, n int) *tensor.Int64 {
	t.Helper()
	texts := make([]string, n)
	for i := range texts {
		texts[i] = mlmCaptions[i%len(mlmCaptions)]
	}
	p, err := New(tok, imageproc.Config{}, Options{Text: tokenizer.EncodeOptions{MaxLength: 32}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := p.Process(Request{Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	return in.InputIDs
}

// within5Sigma reports whether count is within 5 standard deviations of a
// Binomial(n, p) mean.
func within5Sigma(count, n int, p float64) bool {
	mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
	return math.Abs(float64(count)-mean) <= 5*sd
}

// TestMLMProportions checks DataCollatorForLanguageModeling's distribution
// over a large sample: 15% of eligible tokens selected, and of those 80%
// [MASK], 10% random, 10% kept; specials and padding never selected.
func TestMLMProportions(t *testing.T) {
	tok := bertUncased(t)
	ids := mlmBatch(t, tok, 6000)
	c, err := NewMLMCollator(tok, MLMConfig{})
	if err != nil {
		t.Fatal(err)
	}
	masked, labels := c.Mask(ids, NewRand(42))
	if err := checkMLMInvariants(tok, ids, masked, labels); err != nil {
		t.Fatal(err)
	}
	eligible, selected, toMask, random, kept := 0, 0, 0, 0, 0
	randSum := 0.0
	for i, id := range ids.Data {
		if !tok.IsSpecial(int32(id)) {
			eligible++
		}
		if labels.Data[i] == IgnoreIndex {
			continue
		}
		selected++
		switch m := masked.Data[i]; {
		case m == int64(tok.MaskID()):
			toMask++
		case m == id:
			kept++
		default:
			random++
			if m < 0 || m >= int64(tok.VocabSize()) {
				t.Fatalf("random token %d outside [0, %d)", m, tok.VocabSize())
			}
			randSum += float64(m)
		}
	}
	t.Logf("eligible %d selected %d: mask %d random %d kept %d", eligible, selected, toMask, random, kept)
	if eligible < 30000 {
		t.Fatalf("sample too small: %d eligible tokens", eligible)
	}
	for _, c := range []struct {
		name     string
		count, n int
		p        float64
	}{
		{"selected", selected, eligible, 0.15},
		{"[MASK]", toMask, selected, 0.8},
		{"random", random, selected, 0.1},
		{"kept", kept, selected, 0.1},
	} {
		if !within5Sigma(c.count, c.n, c.p) {
			t.Errorf("%s: %d of %d, want %.2f ± 5σ", c.name, c.count, c.n, c.p)
		}
	}
	// Random ids are uniform over the vocabulary: mean (V-1)/2, sd V/√12.
	v := float64(tok.VocabSize())
	if mean, sd := randSum/float64(random), v/math.Sqrt(12)/math.Sqrt(float64(random)); math.Abs(mean-(v-1)/2) > 5*sd {
		t.Errorf("random ids average %.0f, want %.0f ± %.0f", mean, (v-1)/2, 5*sd)
	}
}

func TestMLMDeterministicPerSeed(t *testing.T) {
	tok := bertUncased(t)
	ids := mlmBatch(t, tok, 64)
	c, _ := NewMLMCollator(tok, MLMConfig{})
	a, la := c.Mask(ids, NewRand(5))
	b, lb := c.Mask(ids, NewRand(5))
	if !slices.Equal(a.Data, b.Data) || !slices.Equal(la.Data, lb.Data) {
		t.Error("same seed, different masks")
	}
	d, _ := c.Mask(ids, NewRand(6))
	if slices.Equal(a.Data, d.Data) {
		t.Error("different seeds, same masks")
	}
	// Through the Processor: Request.Seed decides.
	p, _ := New(tok, imageproc.Config{}, Options{MLM: true})
	r := Request{Texts: mlmCaptions, Seed: 9}
	x, _ := p.Process(r)
	y, _ := p.Process(r)
	if !slices.Equal(x.InputIDsMasked.Data, y.InputIDsMasked.Data) || !slices.Equal(x.MLMLabels.Data, y.MLMLabels.Data) {
		t.Error("Process with one seed is not deterministic")
	}
}

func TestMLMConfigs(t *testing.T) {
	tok := bertUncased(t)
	ids := mlmBatch(t, tok, 60)
	zero := 0.0
	// Everything eligible selected and kept.
	c, err := NewMLMCollator(tok, MLMConfig{Probability: 1, MaskReplaceProb: &zero, RandomReplaceProb: &zero})
	if err != nil {
		t.Fatal(err)
	}
	masked, labels := c.Mask(ids, NewRand(1))
	if !slices.Equal(masked.Data, ids.Data) {
		t.Error("keep-only collator changed inputs")
	}
	for i, id := range ids.Data {
		if special := tok.IsSpecial(int32(id)); special != (labels.Data[i] == IgnoreIndex) {
			t.Fatalf("position %d (id %d, special %v) label %d", i, id, special, labels.Data[i])
		}
	}
	// Everything selected goes to [MASK].
	one := 1.0
	c, _ = NewMLMCollator(tok, MLMConfig{Probability: 1, MaskReplaceProb: &one, RandomReplaceProb: &zero})
	masked, _ = c.Mask(ids, NewRand(1))
	for i, id := range ids.Data {
		if !tok.IsSpecial(int32(id)) && masked.Data[i] != int64(tok.MaskID()) {
			t.Fatalf("position %d not masked", i)
		}
	}
	for _, bad := range []MLMConfig{{Probability: -0.1}, {Probability: 1.5}, {MaskReplaceProb: &one, RandomReplaceProb: &one}, {RandomReplaceProb: func() *float64 { v := -1.0; return &v }()}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("MLMConfig %+v validated", bad)
		}
	}
}
