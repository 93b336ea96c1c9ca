package flava

import (
	"errors"
	"math"
	"testing"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// tinyConfig is a small architecture for tests that need no checkpoint.
func tinyConfig() Config {
	enc := func(layers int) (int, int, int, int) { return 16, layers, 2, 24 }
	var c Config
	c.ImageConfig.HiddenSize, c.ImageConfig.NumHiddenLayers, c.ImageConfig.NumAttentionHeads, c.ImageConfig.IntermediateSize = enc(1)
	c.ImageConfig.ImageSize, c.ImageConfig.PatchSize = 16, 4
	c.TextConfig.HiddenSize, c.TextConfig.NumHiddenLayers, c.TextConfig.NumAttentionHeads, c.TextConfig.IntermediateSize = enc(1)
	c.TextConfig.VocabSize, c.TextConfig.MaxPositionEmbeddings = 50, 8
	c.MultimodalConfig.HiddenSize, c.MultimodalConfig.NumHiddenLayers, c.MultimodalConfig.NumAttentionHeads, c.MultimodalConfig.IntermediateSize = enc(1)
	c.ProjectionDim = 8
	return c
}

func TestForwardRejectsBadInputs(t *testing.T) {
	m, err := NewRandom(tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	pix := tensor.New(2, 3, 16, 16)
	ids := &tensor.Int64{Shape: []int{2, 4}, Data: []int64{1, 2, 3, 0, 4, 5, 6, 7}}
	imageCases := map[string]ImageInput{
		"nil pixels":       {},
		"3-D pixels":       {PixelValues: tensor.New(3, 16, 16)},
		"short data":       {PixelValues: &tensor.Tensor{Shape: []int{1, 3, 16, 16}, Data: make([]float32, 10)}},
		"wrong channels":   {PixelValues: tensor.New(1, 1, 16, 16)},
		"wrong size":       {PixelValues: tensor.New(1, 3, 20, 16)},
		"tiny interp":      {PixelValues: tensor.New(1, 3, 2, 16), InterpolatePosEncoding: true},
		"empty batch":      {PixelValues: tensor.New(0, 3, 16, 16)},
		"negative dim":     {PixelValues: &tensor.Tensor{Shape: []int{-1, 3, 16, -16}, Data: make([]float32, 16*16*3)}},
		"mask shape":       {PixelValues: pix, BoolMaskedPos: tensor.NewBool(2, 15)},
		"mask batch":       {PixelValues: pix, BoolMaskedPos: tensor.NewBool(1, 16)},
		"mask data length": {PixelValues: pix, BoolMaskedPos: &tensor.Bool{Shape: []int{2, 16}, Data: make([]bool, 3)}},
	}
	for name, in := range imageCases {
		if _, err := m.ImageModel.Forward(in); !errors.Is(err, ErrInput) {
			t.Errorf("image %s: err = %v, want ErrInput", name, err)
		}
	}
	textCases := map[string]TextInput{
		"nil ids":          {},
		"1-D ids":          {InputIDs: &tensor.Int64{Shape: []int{4}, Data: make([]int64, 4)}},
		"id too large":     {InputIDs: &tensor.Int64{Shape: []int{1, 2}, Data: []int64{1, 50}}},
		"negative id":      {InputIDs: &tensor.Int64{Shape: []int{1, 2}, Data: []int64{-1, 2}}},
		"too long":         {InputIDs: tensor.NewInt64(1, 9)},
		"negative dims":    {InputIDs: &tensor.Int64{Shape: []int{-2, -2}, Data: make([]int64, 4)}},
		"mask shape":       {InputIDs: ids, AttentionMask: tensor.NewInt64(2, 3)},
		"token type shape": {InputIDs: ids, TokenTypeIDs: tensor.NewInt64(1, 4)},
		"token type value": {InputIDs: ids, TokenTypeIDs: &tensor.Int64{Shape: []int{2, 4}, Data: []int64{0, 0, 0, 0, 0, 0, 2, 0}}},
	}
	for name, in := range textCases {
		if _, err := m.TextModel.Forward(in); !errors.Is(err, ErrInput) {
			t.Errorf("text %s: err = %v, want ErrInput", name, err)
		}
	}
	mmCases := map[string]MultimodalInput{
		"nil":         {},
		"wrong width": {HiddenStates: tensor.New(2, 5, 15)},
		"negative":    {HiddenStates: &tensor.Tensor{Shape: []int{-2, -5, 16}, Data: make([]float32, 160)}},
		"mask length": {HiddenStates: tensor.New(2, 5, 16), AttentionMask: tensor.New(2, 5)}, // CLS needs 6
	}
	for name, in := range mmCases {
		if _, err := m.MultimodalModel.Forward(in); !errors.Is(err, ErrInput) {
			t.Errorf("multimodal %s: err = %v, want ErrInput", name, err)
		}
	}
	if _, err := m.Forward(ModelInput{PixelValues: tensor.New(3, 3, 16, 16), InputIDs: ids}); !errors.Is(err, ErrInput) {
		t.Errorf("mismatched batches: err = %v, want ErrInput", err)
	}
	noMask := tinyConfig()
	noMask.ImageConfig.MaskToken = new(bool)
	m2, err := NewRandom(noMask, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.ImageModel.Forward(ImageInput{PixelValues: pix, BoolMaskedPos: tensor.NewBool(2, 16)}); !errors.Is(err, ErrInput) {
		t.Errorf("bool_masked_pos without mask token: err = %v, want ErrInput", err)
	}
}

// TestForwardLeavesInputsAlone checks that no Forward writes to the caller's
// tensors, and that outputs have the documented shapes.
func TestForwardLeavesInputsAlone(t *testing.T) {
	m, err := NewRandom(tinyConfig(), 7)
	if err != nil {
		t.Fatal(err)
	}
	pix := tensor.New(2, 3, 16, 16)
	for i := range pix.Data {
		pix.Data[i] = float32(math.Sin(float64(i)))
	}
	ids := &tensor.Int64{Shape: []int{2, 4}, Data: []int64{1, 2, 3, 0, 4, 5, 6, 7}}
	mask := &tensor.Int64{Shape: []int{2, 4}, Data: []int64{1, 1, 1, 0, 1, 1, 1, 1}}
	bmp := tensor.NewBool(2, 16)
	bmp.Data[3], bmp.Data[20] = true, true
	pix0, ids0, mask0, bmp0 := pix.Clone(), ids.Clone(), mask.Clone(), bmp.Clone()
	out, err := m.Forward(ModelInput{PixelValues: pix, InputIDs: ids, AttentionMask: mask, BoolMaskedPos: bmp, OutputHiddenStates: true})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tensor.MaxAbsDiff(pix.Data, pix0.Data); d != 0 {
		t.Error("pixel values modified")
	}
	for i := range ids.Data {
		if ids.Data[i] != ids0.Data[i] || mask.Data[i] != mask0.Data[i] {
			t.Fatal("ids or mask modified")
		}
	}
	for i := range bmp.Data {
		if bmp.Data[i] != bmp0.Data[i] {
			t.Fatal("bool_masked_pos modified")
		}
	}
	shapes := []struct {
		name string
		got  *tensor.Tensor
		want []int
	}{
		{"image embeddings", out.ImageEmbeddings, []int{2, 17, 16}},
		{"image pooled", out.ImageOutput.PooledOutput, []int{2, 16}},
		{"text embeddings", out.TextEmbeddings, []int{2, 4, 16}},
		{"multimodal embeddings", out.MultimodalEmbeddings, []int{2, 22, 16}},
		{"multimodal mask", out.MultimodalInput.AttentionMask, []int{2, 22}},
	}
	for _, s := range shapes {
		if s.got == nil || !tensor.SameShape(s.got.Shape, s.want) {
			t.Errorf("%s: %v, want %v", s.name, s.got, s.want)
		}
	}
	if len(out.ImageOutput.HiddenStates) != 2 || len(out.TextOutput.HiddenStates) != 2 {
		t.Errorf("hidden states: %d image, %d text; want 2 each", len(out.ImageOutput.HiddenStates), len(out.TextOutput.HiddenStates))
	}
	skip, err := m.Forward(ModelInput{PixelValues: pix, InputIDs: ids, SkipMultimodalEncoder: true})
	if err != nil || skip.MultimodalEmbeddings != nil || skip.ImageEmbeddings == nil {
		t.Errorf("skip_multimodal_encoder: %+v, %v", skip, err)
	}
	// NewRandom is deterministic.
	m2, _ := NewRandom(tinyConfig(), 7)
	out2, err := m2.Forward(ModelInput{PixelValues: pix, InputIDs: ids, AttentionMask: mask, BoolMaskedPos: bmp})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tensor.MaxAbsDiff(out.MultimodalEmbeddings.Data, out2.MultimodalEmbeddings.Data); d != 0 {
		t.Errorf("NewRandom with one seed gave different models (diff %g)", d)
	}
}
