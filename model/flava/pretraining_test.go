package flava

import (
	"errors"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// pretrainCall is one FlavaForPreTraining call of a manifest, parsed from
// its "call" string: model(key=value, ...), each value an input tensor name
// or True/False.
type pretrainCall struct {
	args map[string]string
}

var callArg = regexp.MustCompile(`(\w+)\s*=\s*(\w+)`)

func parsePretrainCall(call string) (pretrainCall, bool) {
	call = strings.TrimSpace(call)
	if !strings.HasPrefix(call, "model(") || !strings.HasSuffix(call, ")") {
		return pretrainCall{}, false
	}
	c := pretrainCall{args: map[string]string{}}
	for _, m := range callArg.FindAllStringSubmatch(call[len("model("):len(call)-1], -1) {
		c.args[m[1]] = m[2]
	}
	return c, true
}

// input builds the PretrainingInput the call describes, failing the test on
// an argument it does not know (so a new kind of case cannot pass silently).
func (c pretrainCall) input(t *testing.T, f *ptFixture) PretrainingInput {
	t.Helper()
	var in PretrainingInput
	for k, v := range c.args {
		switch k {
		case "input_ids":
			in.InputIDs = f.inInt(t, v)
		case "input_ids_masked":
			in.InputIDsMasked = f.inInt(t, v)
		case "pixel_values":
			in.PixelValues = f.inFloat(t, v)
		case "codebook_pixel_values":
			in.CodebookPixelValues = f.inFloat(t, v)
		case "attention_mask":
			in.AttentionMask = f.inInt(t, v)
		case "token_type_ids":
			in.TokenTypeIDs = f.inInt(t, v)
		case "bool_masked_pos":
			in.BoolMaskedPos = f.inBool(t, v)
		case "mlm_labels":
			in.MLMLabels = f.inInt(t, v)
		case "mim_labels":
			in.MIMLabels = f.inInt(t, v)
		case "itm_labels":
			in.ITMLabels = f.inInt(t, v)
		case "return_loss", "skip_unmasked_multimodal_encoder":
			if v != "True" && v != "False" {
				t.Fatalf("%s=%s: want True or False", k, v)
			}
			b := v == "True"
			if k == "return_loss" {
				in.ReturnLoss = &b
			} else {
				in.SkipUnmaskedMultimodalEncoder = &b
			}
		default:
			t.Fatalf("call argument %s=%s is not supported by the test", k, v)
		}
	}
	return in
}

// cloneInput deep-copies every tensor of in, to check Forward leaves them
// alone.
func cloneInput(in PretrainingInput) PretrainingInput {
	c := in
	cf := func(t *tensor.Tensor) *tensor.Tensor {
		if t == nil {
			return nil
		}
		return t.Clone()
	}
	ci := func(t *tensor.Int64) *tensor.Int64 {
		if t == nil {
			return nil
		}
		return t.Clone()
	}
	c.InputIDs, c.InputIDsMasked = ci(in.InputIDs), ci(in.InputIDsMasked)
	c.PixelValues, c.CodebookPixelValues = cf(in.PixelValues), cf(in.CodebookPixelValues)
	c.AttentionMask, c.TokenTypeIDs = ci(in.AttentionMask), ci(in.TokenTypeIDs)
	c.MLMLabels, c.MIMLabels, c.ITMLabels = ci(in.MLMLabels), ci(in.MIMLabels), ci(in.ITMLabels)
	if in.BoolMaskedPos != nil {
		c.BoolMaskedPos = in.BoolMaskedPos.Clone()
	}
	return c
}

func sameInput(t *testing.T, a, b PretrainingInput) {
	t.Helper()
	fl := [][2]*tensor.Tensor{{a.PixelValues, b.PixelValues}, {a.CodebookPixelValues, b.CodebookPixelValues}}
	for _, p := range fl {
		if (p[0] == nil) != (p[1] == nil) || (p[0] != nil && !ptSameFloat(p[0], p[1])) {
			t.Error("Forward modified a float input")
		}
	}
	in := [][2]*tensor.Int64{{a.InputIDs, b.InputIDs}, {a.InputIDsMasked, b.InputIDsMasked}, {a.AttentionMask, b.AttentionMask},
		{a.TokenTypeIDs, b.TokenTypeIDs}, {a.MLMLabels, b.MLMLabels}, {a.MIMLabels, b.MIMLabels}, {a.ITMLabels, b.ITMLabels}}
	for _, p := range in {
		if (p[0] == nil) != (p[1] == nil) || (p[0] != nil && !ptSameInt(p[0], p[1])) {
			t.Error("Forward modified an integer input (labels?)")
		}
	}
	if (a.BoolMaskedPos == nil) != (b.BoolMaskedPos == nil) || (a.BoolMaskedPos != nil && !ptSameBool(a.BoolMaskedPos, b.BoolMaskedPos)) {
		t.Error("Forward modified bool_masked_pos")
	}
}

func lossTensor(p *float32) *tensor.Tensor {
	if p == nil {
		return nil
	}
	return ptScalar(float64(*p))
}

// pretrainField returns the output tensor a manifest field names, and
// whether the field is known.
func pretrainField(out *PretrainingOutput, field string) (*tensor.Tensor, bool) {
	switch field {
	case "loss":
		return lossTensor(out.Loss), true
	case "loss_info.mim":
		return lossTensor(out.LossInfo.MIM), true
	case "loss_info.mlm":
		return lossTensor(out.LossInfo.MLM), true
	case "loss_info.itm":
		return lossTensor(out.LossInfo.ITM), true
	case "loss_info.global_contrastive":
		return lossTensor(out.LossInfo.GlobalContrastive), true
	case "loss_info.mmm_image":
		return lossTensor(out.LossInfo.MMMImage), true
	case "loss_info.mmm_text":
		return lossTensor(out.LossInfo.MMMText), true
	case "mim_logits":
		return out.MIMLogits, true
	case "mlm_logits":
		return out.MLMLogits, true
	case "itm_logits":
		return out.ITMLogits, true
	case "contrastive_logits_per_image":
		return out.ContrastiveLogitsPerImage, true
	case "contrastive_logits_per_text":
		return out.ContrastiveLogitsPerText, true
	case "mmm_image_logits":
		return out.MMMImageLogits, true
	case "mmm_text_logits":
		return out.MMMTextLogits, true
	case "image_embeddings":
		return out.ImageEmbeddings, true
	case "text_embeddings":
		return out.TextEmbeddings, true
	case "multimodal_masked_embeddings":
		return out.MultimodalMaskedEmbeddings, true
	}
	return nil, false
}

var lossInfoFields = []string{"mim", "mlm", "itm", "global_contrastive", "mmm_image", "mmm_text"}

// pretrainLoaders are the checkpoint formats every case runs against.
var pretrainLoaders = []struct{ name, file string }{
	{"safetensors", "model.safetensors"},
	{"bin", "pytorch_model.bin"},
}

// TestPretrainingMatchesReference checks every pretrain_* tensor of every
// fixture manifest against FlavaForPreTraining loaded from model.safetensors
// and from pytorch_model.bin. Calls are parsed from the manifest, so a new
// case folder or a new call needs no code change; a tensor the test cannot
// produce fails.
func TestPretrainingMatchesReference(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "manifest.json", "config.json", "model.safetensors", "pytorch_model.bin", "inputs.safetensors", "expected.safetensors") {
		f := ptOpenFixture(t, dir)
		// Group the pretrain_* tensors by case.
		cases := map[string][]string{}
		for _, name := range f.names("pretrain_") {
			c, _, ok := strings.Cut(name, ".")
			if !ok {
				t.Errorf("%s: tensor %s has no case.field form", dir, name)
				continue
			}
			cases[c] = append(cases[c], name)
		}
		if len(cases) == 0 {
			t.Errorf("%s: no pretrain_* tensors", dir)
			continue
		}
		caseNames := make([]string, 0, len(cases))
		for c := range cases {
			caseNames = append(caseNames, c)
		}
		sort.Strings(caseNames)
		for _, ld := range pretrainLoaders {
			t.Run(filepath.Base(dir)+"/"+ld.name, func(t *testing.T) {
				m, err := LoadForPreTraining(filepath.Join(dir, ld.file))
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if len(m.Source.Unused) > 0 {
					t.Errorf("unused tensors: %v", m.Source.Unused)
				}
				for _, c := range caseNames {
					names := cases[c]
					call := f.tensors[names[0]].Call
					for _, n := range names[1:] {
						if f.tensors[n].Call != call {
							t.Fatalf("%s: tensors of case %s come from different calls", dir, c)
						}
					}
					pc, ok := parsePretrainCall(call)
					if !ok {
						t.Errorf("%s: case %s: cannot parse call %q", dir, c, call)
						continue
					}
					in := pc.input(t, f)
					orig := cloneInput(in)
					out, err := m.Forward(in)
					if err != nil {
						t.Errorf("%s: %v", c, err)
						continue
					}
					sameInput(t, in, orig)
					listed := map[string]bool{}
					for _, name := range names {
						field := strings.TrimPrefix(name, c+".")
						listed[field] = true
						got, known := pretrainField(out, field)
						if !known {
							t.Errorf("%s: no producer for %s", dir, name)
							continue
						}
						f.checkFloat(t, name, got)
					}
					// Losses transformers did not compute must be absent here too.
					if listed["loss"] {
						for _, l := range lossInfoFields {
							if got, _ := pretrainField(out, "loss_info."+l); got != nil && !listed["loss_info."+l] {
								t.Errorf("%s: loss_info.%s = %v, but transformers computed none", c, l, got.Data)
							}
						}
					}
				}
			})
		}
	}
}

func TestPretrainingInputErrors(t *testing.T) {
	dir := fixtures.Dirs(t, "manifest.json", "config.json", "model.safetensors", "inputs.safetensors")[0]
	f := ptOpenFixture(t, dir)
	m, err := LoadForPreTraining(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	px := f.inFloat(t, "pixel_values")
	bmp := f.inBool(t, "bool_masked_pos")
	// The loss needs mim_labels: neither labels nor codebook pixels given.
	if _, err := m.Forward(PretrainingInput{PixelValues: px, BoolMaskedPos: bmp}); !errors.Is(err, ErrInput) {
		t.Errorf("no codebook pixels: err = %v, want ErrInput", err)
	}
	// Codebook labels but no bool_masked_pos.
	if _, err := m.Forward(PretrainingInput{PixelValues: px, CodebookPixelValues: f.inFloat(t, "codebook_pixel_values")}); !errors.Is(err, ErrInput) {
		t.Errorf("no bool_masked_pos: err = %v, want ErrInput", err)
	}
	// MLM labels out of the vocabulary.
	ids := f.inInt(t, "input_ids")
	bad := ids.Clone()
	for i := range bad.Data {
		bad.Data[i] = 1 << 40
	}
	if _, err := m.Forward(PretrainingInput{InputIDs: ids, MLMLabels: bad}); !errors.Is(err, ErrInput) {
		t.Errorf("labels outside the vocabulary: err = %v, want ErrInput", err)
	}
	// ITM labels of the wrong batch.
	if _, err := m.Forward(PretrainingInput{InputIDs: ids, PixelValues: px, ReturnLoss: new(bool), ITMLabels: tensor.NewInt64(5)}); !errors.Is(err, ErrInput) {
		t.Errorf("itm_labels of another batch: err = %v, want ErrInput", err)
	}
	// No model without a codebook can compute the loss from pixels alone.
	m.ImageCodebook = nil
	if _, err := m.Forward(PretrainingInput{PixelValues: px, BoolMaskedPos: bmp, CodebookPixelValues: f.inFloat(t, "codebook_pixel_values")}); !errors.Is(err, ErrInput) {
		t.Errorf("no codebook: err = %v, want ErrInput", err)
	}
}

func TestNewForPreTrainingRejectsMismatchedHiddenSizes(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(c *Config)
	}{
		{"hidden_size", func(c *Config) { c.HiddenSize = 48 }},
		{"image_config.hidden_size", func(c *Config) { c.ImageConfig.HiddenSize = 48 }},
		{"text_config.hidden_size", func(c *Config) { c.TextConfig.HiddenSize = 48 }},
	} {
		cfg := tinyConfig()
		cfg.HiddenSize = 16
		if _, err := NewForPreTraining(cfg); err != nil {
			t.Fatalf("matching sizes: %v", err)
		}
		tc.edit(&cfg)
		_, err := NewForPreTraining(cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s = 48 with multimodal 16: err %v, want ErrConfig naming the field", tc.field, err)
		}
	}
}
