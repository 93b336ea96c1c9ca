package pretrained

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/imageproc"
)

// TestTransformers5FolderKeepsImageSettings loads a model folder laid out as
// transformers 5's FlavaProcessor.save_pretrained writes it
// (processor_config.json, image settings nested under "image_processor", no
// preprocessor_config.json) with non-default settings: they must be used,
// and a key flavabeam does not read must be reported, not dropped silently.
func TestTransformers5FolderKeepsImageSettings(t *testing.T) {
	dir := fixtures.ModelDir(t, fixtures.Dirs(t, "config.json", "model.safetensors")[0], "")
	const cfg = `{"processor_class": "FlavaProcessor", "image_processor": {
		"image_processor_type": "FlavaImageProcessor", "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
		"resample": 2, "size": {"height": 224, "width": 224}, "some_future_key": true}}`
	if err := os.WriteFile(filepath.Join(dir, "processor_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, backend := range imageproc.Backends {
		b, err := Load(context.Background(), dir, Options{ImageBackend: backend})
		if err != nil {
			t.Fatal(err)
		}
		got := b.Images.Config()
		if !slices.Equal(got.ImageMean, []float64{0.5, 0.5, 0.5}) || !slices.Equal(got.ImageStd, []float64{0.5, 0.5, 0.5}) {
			t.Errorf("mean/std %v/%v, want 0.5 from processor_config.json", got.ImageMean, got.ImageStd)
		}
		if got.Resample == nil || *got.Resample != imageproc.Bilinear {
			t.Errorf("resample %v, want BILINEAR", got.Resample)
		}
		if got.Backend != backend {
			t.Errorf("backend %q, want %q", got.Backend, backend)
		}
		if !slices.ContainsFunc(b.Warnings, func(w string) bool { return strings.Contains(w, "some_future_key") }) {
			t.Errorf("warnings %q do not report the unknown key", b.Warnings)
		}
		b.Close()
	}
	// A preprocessor_config.json left beside it from an older save loses to
	// processor_config.json.
	if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(`{"image_mean": [0.1, 0.1, 0.1]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Load(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if m := b.Images.Config().ImageMean; !slices.Equal(m, []float64{0.5, 0.5, 0.5}) {
		t.Errorf("mean %v: preprocessor_config.json won over processor_config.json", m)
	}
}
