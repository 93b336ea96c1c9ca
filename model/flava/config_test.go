package flava

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/internal/fuzzguard"
)

// TestConfigDiffEqualsFull parses each fixture's config.json (a diff against
// the defaults, as transformers writes it) and config.full.json (every key):
// both must give the same Config.
func TestConfigDiffEqualsFull(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "config.json", "config.full.json") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			diff, err := LoadConfig(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			full, err := LoadConfig(filepath.Join(dir, "config.full.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(diff, full) {
				a, _ := json.Marshal(diff)
				b, _ := json.Marshal(full)
				t.Fatalf("config.json and config.full.json differ:\n%s\n%s", a, b)
			}
			dirCfg, err := LoadConfig(dir)
			if err != nil || !reflect.DeepEqual(dirCfg, diff) {
				t.Fatalf("LoadConfig(dir) = %v, %v", dirCfg, err)
			}
			// The sub-configs come out of the full config the same way.
			raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			if ic, err := ParseImageConfig(raw); err != nil || !reflect.DeepEqual(ic, diff.ImageConfig) {
				t.Errorf("ParseImageConfig = %+v, %v", ic, err)
			}
			if tc, err := ParseTextConfig(raw); err != nil || !reflect.DeepEqual(tc, diff.TextConfig) {
				t.Errorf("ParseTextConfig = %+v, %v", tc, err)
			}
			if mc, err := ParseMultimodalConfig(raw); err != nil || !reflect.DeepEqual(mc, diff.MultimodalConfig) {
				t.Errorf("ParseMultimodalConfig = %+v, %v", mc, err)
			}
			if cb, err := os.ReadFile(filepath.Join(dir, "codebook_config.json")); err == nil {
				cc, err := ParseCodebookConfig(cb)
				if err != nil {
					t.Fatal(err)
				}
				want := diff.ImageCodebookConfig
				want.ModelType = cc.ModelType
				if !reflect.DeepEqual(cc, want) {
					t.Errorf("codebook_config.json = %+v, want %+v", cc, want)
				}
			}
		})
	}
}

func TestDefaultConfigIsFlavaFull(t *testing.T) {
	c := DefaultConfig()
	checks := []struct {
		name      string
		got, want any
	}{
		{"image hidden", c.ImageConfig.HiddenSize, 768},
		{"image layers", c.ImageConfig.NumHiddenLayers, 12},
		{"text layers", c.TextConfig.NumHiddenLayers, 12},
		{"mm layers", c.MultimodalConfig.NumHiddenLayers, 6},
		{"heads", c.MultimodalConfig.NumAttentionHeads, 12},
		{"intermediate", c.TextConfig.IntermediateSize, 3072},
		{"image size", c.ImageConfig.ImageSize, 224},
		{"patch", c.ImageConfig.PatchSize, 16},
		{"text vocab", c.TextConfig.VocabSize, 30522},
		{"type vocab", c.TextConfig.TypeVocabSize, 2},
		{"image vocab", c.ImageConfig.VocabSize, 8192},
		{"max pos", c.TextConfig.MaxPositionEmbeddings, 512},
		{"eps", c.TextConfig.LayerNormEps, 1e-12},
		{"projection", c.ProjectionDim, 768},
		{"logit scale", *c.LogitScaleInitValue, 2.6592},
		{"act", c.ImageConfig.HiddenAct, "gelu"},
		{"qkv bias", *c.ImageConfig.QKVBias, true},
		{"mask token", *c.ImageConfig.MaskToken, true},
		{"cls", *c.MultimodalConfig.UseCLSToken, true},
		{"ce ignore", *c.CEIgnoreIndex, -100},
		{"mim weight", *c.MIMWeight, 1.0},
		{"init codebook", *c.InitCodebook, true},
		{"codebook hidden", c.ImageCodebookConfig.HiddenSize, 256},
		{"codebook blocks", c.ImageCodebookConfig.NumBlocksPerGroup, 2},
		{"codebook groups", c.ImageCodebookConfig.NumGroups, 4},
		{"codebook vocab", c.ImageCodebookConfig.VocabSize, 8192},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if empty, err := ParseConfig([]byte(`{}`)); err != nil || !reflect.DeepEqual(empty, c) {
		t.Errorf("ParseConfig({}) = %+v, %v; want DefaultConfig", empty, err)
	}
	if !reflect.DeepEqual(Config{}.WithDefaults(), c) {
		t.Error("the zero Config does not mean flava-full")
	}
}

func TestParseConfigKeepsExplicitValues(t *testing.T) {
	raw, err := os.ReadFile("testdata/config_small.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	if *c.MIMWeight != 0 || *c.MLMWeight != 1 || *c.CEIgnoreIndex != -1 {
		t.Errorf("weights/ignore index: mim %v mlm %v ce %v", *c.MIMWeight, *c.MLMWeight, *c.CEIgnoreIndex)
	}
	if c.TextConfig.HasQKVBias() || c.MultimodalConfig.HasCLSToken() || !c.ImageConfig.HasQKVBias() {
		t.Error("booleans not taken from the file")
	}
	if c.ImageConfig.HiddenAct != "quick_gelu" || c.MultimodalConfig.LayerNormEps != 1e-5 || c.ImageCodebookConfig.NumBlocksPerGroup != 1 {
		t.Errorf("values lost: %+v", c)
	}
}

func TestParseConfigLegacyDicts(t *testing.T) {
	raw, err := os.ReadFile("testdata/config_legacy.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	// text_config_dict overrides text_config entirely (HF rebuilds it with defaults).
	if c.TextConfig.HiddenSize != 64 || c.TextConfig.NumAttentionHeads != 8 || c.TextConfig.VocabSize != 30522 || c.TextConfig.IntermediateSize != 128 {
		t.Errorf("text_config_dict not applied: %+v", c.TextConfig)
	}
	if c.ImageConfig.ImageSize != 96 || c.MultimodalConfig.NumHiddenLayers != 2 || c.ImageCodebookConfig.HiddenSize != 16 {
		t.Errorf("legacy dicts not applied: %+v", c)
	}
}

func TestParseSubConfigsStandalone(t *testing.T) {
	raw, err := os.ReadFile("testdata/config_image.json")
	if err != nil {
		t.Fatal(err)
	}
	ic, err := ParseImageConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	if ic.HiddenSize != 64 || ic.HasMaskToken() || ic.NumHiddenLayers != 12 || ic.NumPatches() != 9 {
		t.Errorf("image config: %+v", ic)
	}
	if _, err := ParseTextConfig(raw); !errors.Is(err, ErrConfig) {
		t.Errorf("a flava_image_model config parsed as text config: %v", err)
	}
	if _, err := ParseConfig(raw); !errors.Is(err, ErrConfig) {
		t.Errorf("a flava_image_model config parsed as FlavaConfig: %v", err)
	}
	if tc, err := ParseTextConfig([]byte(`{"model_type":"flava_text_model","vocab_size":50}`)); err != nil || tc.VocabSize != 50 {
		t.Errorf("text: %+v %v", tc, err)
	}
	if mc, err := ParseMultimodalConfig([]byte(`{"model_type":"flava_multimodal_model","use_cls_token":false}`)); err != nil || mc.HasCLSToken() {
		t.Errorf("multimodal: %+v %v", mc, err)
	}
	for _, mt := range []string{"", "flava_image_codebook"} {
		cc, err := ParseCodebookConfig([]byte(`{"model_type":"` + mt + `","vocab_size":64}`))
		if err != nil || cc.VocabSize != 64 || cc.HiddenSize != 256 {
			t.Errorf("codebook %q: %+v %v", mt, cc, err)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct{ json, field string }{
		{`{"text_config":{"hidden_size":-3}}`, "text_config.hidden_size"},
		{`{"image_config":{"hidden_size":100,"num_attention_heads":12}}`, "image_config.hidden_size"},
		{`{"multimodal_config":{"hidden_act":"tanhh"}}`, "multimodal_config.hidden_act"},
		{`{"image_config":{"image_size":100,"patch_size":16}}`, "image_config.image_size"},
		{`{"image_config":{"patch_size":-16}}`, "image_config.patch_size"},
		{`{"text_config":{"num_hidden_layers":-1}}`, "text_config.num_hidden_layers"},
		{`{"text_config":{"layer_norm_eps":-1}}`, "text_config.layer_norm_eps"},
		{`{"text_config":{"pad_token_id":40000}}`, "text_config.pad_token_id"},
		{`{"image_codebook_config":{"num_groups":-4}}`, "image_codebook_config.num_groups"},
		{`{"projection_dim":-1}`, "projection_dim"},
		{`{"text_config":{"hidden_size":"big"}}`, "hidden_size"},
		{`{"model_type":"bert"}`, "model_type"},
		{`[1,2]`, "cannot unmarshal"},
		{`{"text_config":`, "unexpected EOF"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.json))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("ParseConfig(%s) = %v, want an ErrConfig naming %s", c.json, err, c.field)
		}
	}
	if _, err := NewImageModel(ImageConfig{HiddenSize: 10, NumAttentionHeads: 3}); !errors.Is(err, ErrConfig) {
		t.Errorf("NewImageModel with 10 hidden / 3 heads: %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"config_small.json", "config_legacy.json", "config_image.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"text_config":null,"image_config_dict":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			c, err := ParseConfig(data)
			if err != nil {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("error does not wrap ErrConfig: %v", err)
				}
				return
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("ParseConfig returned a config Validate rejects: %v", err)
			}
			// A parsed config survives a round trip through JSON unchanged.
			again, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := ParseConfig(again)
			if err != nil || !reflect.DeepEqual(c, c2) {
				t.Fatalf("round trip: %v\n%+v\n%+v", err, c, c2)
			}
			for _, parse := range []func([]byte) error{
				func(b []byte) error { _, err := ParseImageConfig(b); return err },
				func(b []byte) error { _, err := ParseTextConfig(b); return err },
				func(b []byte) error { _, err := ParseMultimodalConfig(b); return err },
				func(b []byte) error { _, err := ParseCodebookConfig(b); return err },
			} {
				if err := parse(data); err != nil && !errors.Is(err, ErrConfig) {
					t.Fatalf("sub-config error does not wrap ErrConfig: %v", err)
				}
			}
		})
	})
}
