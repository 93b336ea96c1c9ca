package flava

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// manifestTensor is one entry of a fixture's manifest.json "tensors".
type manifestTensor struct {
	File  string  `json:"file"`
	Shape []int   `json:"shape"`
	DType string  `json:"dtype"`
	Call  string  `json:"call"`
	Atol  float64 `json:"atol"`
	Rtol  float64 `json:"rtol"`
}

type manifest struct {
	Tensors map[string]manifestTensor `json:"tensors"`
}

// notOurs reports expected tensors produced by other parts of the package
// (the image codebook and the pretraining heads), checked by their own tests.
func notOurs(name string) bool {
	return strings.HasPrefix(name, "codebook") || strings.HasPrefix(name, "pretrain")
}

// parsedCall is a manifest "call" string such as
// "flava.image_model(pixel_values=pixel_values_interp, interpolate_pos_encoding=True)".
type parsedCall struct {
	fn   string
	args map[string]string // parameter name -> value expression
}

// positional parameter order of the HF methods the fixtures call.
var signatures = map[string][]string{
	"flava.image_model":        {"pixel_values", "bool_masked_pos", "interpolate_pos_encoding"},
	"flava.text_model":         {"input_ids", "attention_mask", "token_type_ids"},
	"flava.multimodal_model":   {"hidden_states", "attention_mask"},
	"flava":                    {"input_ids", "pixel_values", "attention_mask", "token_type_ids", "bool_masked_pos"},
	"flava.get_image_features": {"pixel_values", "bool_masked_pos", "interpolate_pos_encoding"},
	"flava.get_text_features":  {"input_ids", "attention_mask", "token_type_ids"},
}

func parseCall(call string) (parsedCall, error) {
	open := strings.IndexByte(call, '(')
	end := strings.IndexByte(call, ')')
	if open < 0 || end < open {
		return parsedCall{}, fmt.Errorf("call %q: no argument list", call)
	}
	pc := parsedCall{fn: strings.TrimSpace(call[:open]), args: map[string]string{}}
	sig, ok := signatures[pc.fn]
	if !ok {
		return parsedCall{}, fmt.Errorf("call %q: unknown function %q", call, pc.fn)
	}
	for i, a := range strings.Split(call[open+1:end], ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if k, v, ok := strings.Cut(a, "="); ok {
			pc.args[strings.TrimSpace(k)] = strings.TrimSpace(v)
			continue
		}
		if i >= len(sig) {
			return parsedCall{}, fmt.Errorf("call %q: too many positional arguments", call)
		}
		pc.args[sig[i]] = a
	}
	for k := range pc.args {
		known := k == "output_hidden_states" || k == "skip_multimodal_encoder"
		for _, s := range sig {
			known = known || k == s
		}
		if !known {
			return parsedCall{}, fmt.Errorf("call %q: unknown argument %q", call, k)
		}
	}
	return pc, nil
}

// fixtureData gives tensors by name from inputs.safetensors and
// expected.safetensors.
type fixtureData struct {
	inputs, expected *checkpoint.StateDict
}

func (f *fixtureData) sd(name string) *checkpoint.StateDict {
	if f.inputs.Has(name) {
		return f.inputs
	}
	return f.expected
}

func (f *fixtureData) float(t *testing.T, name string) *tensor.Tensor {
	t.Helper()
	x, err := f.sd(name).Float32(name)
	if err != nil {
		t.Fatalf("fixture tensor %s: %v", name, err)
	}
	return x
}

func (f *fixtureData) int64(t *testing.T, name string) *tensor.Int64 {
	t.Helper()
	x, err := f.sd(name).Int64(name)
	if err != nil {
		t.Fatalf("fixture tensor %s: %v", name, err)
	}
	return x
}

func (f *fixtureData) boolean(t *testing.T, name string) *tensor.Bool {
	t.Helper()
	x, err := f.sd(name).Bool(name)
	if err != nil {
		t.Fatalf("fixture tensor %s: %v", name, err)
	}
	return x
}

func flag(t *testing.T, pc parsedCall, name string) bool {
	switch v, ok := pc.args[name]; {
	case !ok || v == "False":
		return false
	case v == "True":
		return true
	default:
		t.Fatalf("argument %s=%q is not a boolean", name, v)
		return false
	}
}

// optInt64 and friends read an optional tensor argument.
func (f *fixtureData) optInt64(t *testing.T, pc parsedCall, name string) *tensor.Int64 {
	if v, ok := pc.args[name]; ok && v != "None" {
		return f.int64(t, v)
	}
	return nil
}

func (f *fixtureData) optFloat(t *testing.T, pc parsedCall, name string) *tensor.Tensor {
	if v, ok := pc.args[name]; ok && v != "None" {
		return f.float(t, v)
	}
	return nil
}

func (f *fixtureData) optBool(t *testing.T, pc parsedCall, name string) *tensor.Bool {
	if v, ok := pc.args[name]; ok && v != "None" {
		return f.boolean(t, v)
	}
	return nil
}

// loadedModels are the models under test for one checkpoint file: the full
// FlavaModel and the three encoders loaded on their own.
type loadedModels struct {
	model      *Model
	image      *ImageModel
	text       *TextModel
	multimodal *MultimodalModel
}

func loadAll(t *testing.T, path string) *loadedModels {
	t.Helper()
	var lm loadedModels
	var err error
	if lm.model, err = LoadModel(path); err != nil {
		t.Fatalf("LoadModel(%s): %v", path, err)
	}
	if lm.image, err = LoadImageModel(path); err != nil {
		t.Fatalf("LoadImageModel(%s): %v", path, err)
	}
	if lm.text, err = LoadTextModel(path); err != nil {
		t.Fatalf("LoadTextModel(%s): %v", path, err)
	}
	if lm.multimodal, err = LoadMultimodalModel(path); err != nil {
		t.Fatalf("LoadMultimodalModel(%s): %v", path, err)
	}
	for _, info := range []LoadInfo{lm.model.Source, lm.image.Source, lm.text.Source, lm.multimodal.Source} {
		if len(info.Unused) > 0 {
			t.Errorf("%s: prefix %q left tensors unused: %v", path, info.Prefix, info.Unused)
		}
	}
	t.Cleanup(func() {
		lm.model.Source.Close()
		lm.image.Source.Close()
		lm.text.Source.Close()
		lm.multimodal.Source.Close()
	})
	return &lm
}

// run executes one manifest call and returns its outputs under HF's names.
func (lm *loadedModels) run(t *testing.T, fx *fixtureData, pc parsedCall) (map[string]*tensor.Tensor, error) {
	out := map[string]*tensor.Tensor{}
	addHidden := func(prefix string, hs []*tensor.Tensor) {
		for i, h := range hs {
			out[fmt.Sprintf("%shidden_states.%d", prefix, i)] = h
		}
	}
	imageIn := func() ImageInput {
		return ImageInput{PixelValues: fx.optFloat(t, pc, "pixel_values"), BoolMaskedPos: fx.optBool(t, pc, "bool_masked_pos"),
			InterpolatePosEncoding: flag(t, pc, "interpolate_pos_encoding"), OutputHiddenStates: flag(t, pc, "output_hidden_states")}
	}
	textIn := func() TextInput {
		return TextInput{InputIDs: fx.optInt64(t, pc, "input_ids"), AttentionMask: fx.optInt64(t, pc, "attention_mask"),
			TokenTypeIDs: fx.optInt64(t, pc, "token_type_ids"), OutputHiddenStates: flag(t, pc, "output_hidden_states")}
	}
	switch pc.fn {
	case "flava.image_model":
		o, err := lm.image.Forward(imageIn())
		if err != nil {
			return nil, err
		}
		out["last_hidden_state"], out["pooler_output"] = o.LastHiddenState, o.PooledOutput
		addHidden("", o.HiddenStates)
	case "flava.text_model":
		o, err := lm.text.Forward(textIn())
		if err != nil {
			return nil, err
		}
		out["last_hidden_state"], out["pooler_output"] = o.LastHiddenState, o.PooledOutput
		addHidden("", o.HiddenStates)
	case "flava.multimodal_model":
		o, err := lm.multimodal.Forward(MultimodalInput{HiddenStates: fx.optFloat(t, pc, "hidden_states"),
			AttentionMask: fx.optFloat(t, pc, "attention_mask"), OutputHiddenStates: flag(t, pc, "output_hidden_states")})
		if err != nil {
			return nil, err
		}
		out["last_hidden_state"], out["pooler_output"] = o.LastHiddenState, o.PooledOutput
		addHidden("", o.HiddenStates)
	case "flava":
		in := ModelInput{PixelValues: fx.optFloat(t, pc, "pixel_values"), BoolMaskedPos: fx.optBool(t, pc, "bool_masked_pos"),
			InputIDs: fx.optInt64(t, pc, "input_ids"), AttentionMask: fx.optInt64(t, pc, "attention_mask"),
			TokenTypeIDs: fx.optInt64(t, pc, "token_type_ids"), SkipMultimodalEncoder: flag(t, pc, "skip_multimodal_encoder"),
			OutputHiddenStates: true} // FlavaModel always asks its encoders for hidden states
		o, err := lm.model.Forward(in)
		if err != nil {
			return nil, err
		}
		out["image_embeddings"], out["text_embeddings"], out["multimodal_embeddings"] = o.ImageEmbeddings, o.TextEmbeddings, o.MultimodalEmbeddings
		if o.ImageOutput != nil {
			out["image_output.last_hidden_state"], out["image_output.pooler_output"] = o.ImageOutput.LastHiddenState, o.ImageOutput.PooledOutput
			addHidden("image_output.", o.ImageOutput.HiddenStates)
		}
		if o.TextOutput != nil {
			out["text_output.last_hidden_state"], out["text_output.pooler_output"] = o.TextOutput.LastHiddenState, o.TextOutput.PooledOutput
			addHidden("text_output.", o.TextOutput.HiddenStates)
		}
		if o.MultimodalOutput != nil {
			out["multimodal_output.last_hidden_state"], out["multimodal_output.pooler_output"] = o.MultimodalOutput.LastHiddenState, o.MultimodalOutput.PooledOutput
		}
		if o.MultimodalInput != nil {
			out["multimodal_model.input_hidden_states"] = o.MultimodalInput.HiddenStates
			out["multimodal_model.input_attention_mask"] = o.MultimodalInput.AttentionMask
		}
	case "flava.get_image_features":
		f, err := lm.model.GetImageFeatures(imageIn())
		if err != nil {
			return nil, err
		}
		out[""] = f
	case "flava.get_text_features":
		f, err := lm.model.GetTextFeatures(textIn())
		if err != nil {
			return nil, err
		}
		out[""] = f
	default:
		return nil, fmt.Errorf("no runner for %q", pc.fn)
	}
	return out, nil
}

// pick finds the output an expected tensor names: its name after the group
// ("image_model_interp.pooler_output" -> "pooler_output"), its full name, or
// the single result of a features call.
func pick(outs map[string]*tensor.Tensor, name string) *tensor.Tensor {
	_, rest, _ := strings.Cut(name, ".")
	for _, k := range []string{rest, name, ""} {
		if x, ok := outs[k]; ok && x != nil {
			return x
		}
	}
	return nil
}

// TestModelMatchesReference runs, for every fixture folder and for both
// checkpoint formats, every encoder / FlavaModel call its manifest lists and
// compares each expected tensor with the manifest's tolerance.
func TestModelMatchesReference(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "manifest.json", "model.safetensors", "expected.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			var man manifest
			if err := json.Unmarshal(raw, &man); err != nil {
				t.Fatalf("manifest.json: %v", err)
			}
			var fx fixtureData
			if fx.inputs, err = checkpoint.OpenSafetensors(filepath.Join(dir, "inputs.safetensors")); err != nil {
				t.Fatal(err)
			}
			defer fx.inputs.Close()
			if fx.expected, err = checkpoint.OpenSafetensors(filepath.Join(dir, "expected.safetensors")); err != nil {
				t.Fatal(err)
			}
			defer fx.expected.Close()
			var names []string
			for name, mt := range man.Tensors {
				if mt.File == "expected.safetensors" && !notOurs(name) {
					names = append(names, name)
				}
			}
			sort.Strings(names)
			if len(names) == 0 {
				t.Fatal("manifest lists no encoder / FlavaModel tensors")
			}
			for _, weights := range []string{"model.safetensors", "pytorch_model.bin"} {
				path := filepath.Join(dir, weights)
				if _, err := os.Stat(path); err != nil {
					t.Logf("%s: absent, not compared", weights)
					continue
				}
				t.Run(weights, func(t *testing.T) {
					compareAll(t, loadAll(t, path), &fx, man, names)
				})
			}
		})
	}
}

func compareAll(t *testing.T, lm *loadedModels, fx *fixtureData, man manifest, names []string) {
	results := map[string]map[string]*tensor.Tensor{}
	compared := 0
	worst, worstName := 0.0, "" // largest |diff| / (atol + rtol*|want|)
	for _, name := range names {
		mt := man.Tensors[name]
		outs, ok := results[mt.Call]
		if !ok {
			pc, err := parseCall(mt.Call)
			if err != nil {
				t.Errorf("%s: cannot produce: %v", name, err)
				continue
			}
			if outs, err = lm.run(t, fx, pc); err != nil {
				t.Errorf("%s: %s failed: %v", name, mt.Call, err)
				continue
			}
			results[mt.Call] = outs
		}
		got := pick(outs, name)
		if got == nil {
			t.Errorf("%s: %s gives no such output", name, mt.Call)
			continue
		}
		if !tensor.SameShape(got.Shape, mt.Shape) {
			t.Errorf("%s: shape %v, want %v", name, got.Shape, mt.Shape)
			continue
		}
		want := fx.float(t, name)
		atol, rtol := mt.Atol, mt.Rtol
		if mt.DType != "F32" {
			atol, rtol = 0, 0 // integer/bool tensors: exact
		}
		if ok, at := tensor.AllClose(got.Data, want.Data, atol, rtol); !ok {
			worst, wi := tensor.MaxAbsDiff(got.Data, want.Data)
			t.Errorf("%s: element %d = %g, want %g (atol %g rtol %g); max |diff| %g at %d",
				name, at, got.Data[at], want.Data[at], atol, rtol, worst, wi)
			continue
		}
		for i, g := range got.Data {
			w := float64(want.Data[i])
			if r := math.Abs(float64(g)-w) / (atol + rtol*math.Abs(w)); r > worst {
				worst, worstName = r, name
			}
		}
		compared++
	}
	t.Logf("compared %d tensors (%d calls) within tolerance; worst |diff| is %.3f of its tolerance (%s)", compared, len(results), worst, worstName)
	if compared != len(names) {
		t.Errorf("%d of %d expected tensors matched", compared, len(names))
	}
}
