package pretrained

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
)

// folderWithConfig is a folder holding the tiny fixture's weights (linked)
// and a config.json of the fixture's config.json with the given keys
// replaced (a nil value deletes the key).
func folderWithConfig(t *testing.T, from string, set map[string]any) string {
	t.Helper()
	tiny := filepath.Join(fixtures.Root(t), "tiny")
	raw, err := os.ReadFile(filepath.Join(tiny, from))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	dir := t.TempDir()
	raw, _ = json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644)
	fixtures.Place(t, filepath.Join(tiny, "model.safetensors"), filepath.Join(dir, "model.safetensors"))
	return dir
}

func TestIdentifyReadsModelTypeAndArchitectures(t *testing.T) {
	tiny := filepath.Join(fixtures.Root(t), "tiny")
	processorOnly := t.TempDir()
	os.WriteFile(filepath.Join(processorOnly, "processor_config.json"), []byte(`{"image_processor": {}}`), 0o644)
	fixtures.Place(t, filepath.Join(fixtures.Root(t), "tokenizer", "vocab.txt"), filepath.Join(processorOnly, "vocab.txt"))
	for _, c := range []struct {
		name      string
		dir       string
		kind      Kind
		codebook  bool
		model, cb bool // CheckModel and CheckCodebook pass
	}{
		// config.json nests a codebook config whose model_type is
		// flava_image_codebook: the kind must still be FlavaForPreTraining.
		{"pretraining", fixtures.ModelDir(t, tiny, ""), KindForPreTraining, true, true, true},
		{"pretraining, full config", folderWithConfig(t, "config.full.json", nil), KindForPreTraining, true, true, true},
		{"flava model", folderWithConfig(t, "config.json", map[string]any{"architectures": []string{"FlavaModel"}}), KindModel, true, true, false},
		{"no architectures", folderWithConfig(t, "config.json", map[string]any{"architectures": nil}), KindModel, true, true, false},
		{"codebook", fixtures.CodebookDir(t, false), KindCodebook, true, false, true},
		{"codebook without weights", func() string {
			d := t.TempDir()
			fixtures.Place(t, filepath.Join(tiny, "codebook_config.json"), filepath.Join(d, "config.json"))
			return d
		}(), KindCodebook, false, false, false},
		{"image model", folderWithConfig(t, "config.json", map[string]any{"architectures": []string{"FlavaImageModel"}, "model_type": "flava_image_model"}), KindImageModel, true, false, false},
		{"processor", processorOnly, KindProcessor, false, false, false},
	} {
		f, err := Identify(c.dir)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if f.Kind != c.kind || f.CodebookWeights != c.codebook {
			t.Errorf("%s: kind %s, codebook weights %v; want %s, %v", c.name, f.Kind, f.CodebookWeights, c.kind, c.codebook)
		}
		if err := f.CheckModel(); (err == nil) != c.model || (err != nil && !errors.Is(err, ErrSource)) {
			t.Errorf("%s: CheckModel: %v", c.name, err)
		}
		if err := f.CheckCodebook(); (err == nil) != c.cb {
			t.Errorf("%s: CheckCodebook: %v", c.name, err)
		}
	}
	if f, _ := Identify(processorOnly); strings.Join(f.Processor, ",") != "processor_config.json,vocab.txt" {
		t.Errorf("processor files %v", f.Processor)
	}

	for _, c := range []struct {
		name, dir, want string
	}{
		{"bert", folderWithConfig(t, "config.json", map[string]any{"architectures": []string{"BertModel"}, "model_type": "bert"}), "neither names a FLAVA class"},
		{"mismatch", folderWithConfig(t, "config.json", map[string]any{"model_type": "flava_image_codebook"}), "does not match"},
		{"empty folder", t.TempDir(), "no config.json"},
		{"file", filepath.Join(tiny, "config.json"), "is a file"},
	} {
		if _, err := Identify(c.dir); !errors.Is(err, ErrNotFlava) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrNotFlava saying %q", c.name, err, c.want)
		}
	}
}
