package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/schemas"
)

// fixtureModelDir lays out a Hugging Face model directory from the tiny
// fixture: its config and weights, the fixture BERT vocabulary, and an image
// processor config at the fixture's 64×64 input size.
func fixtureModelDir(t *testing.T) string {
	t.Helper()
	return fixtures.ModelDir(t, filepath.Join(fixtures.Root(t), "tiny"), fixturePreprocessorConfig)
}

// fixturePreprocessorConfig is the image processor config of the tiny
// fixture's 64×64 input size.
const fixturePreprocessorConfig = `{"image_processor_type": "FlavaImageProcessor", "size": {"height": 64, "width": 64}, "crop_size": {"height": 64, "width": 64}}`

// TestEmbedWithModelDirectory runs the CLI with --model set to a local model
// directory: the real-weights path, no tiny-random warning, and the vectors
// of that checkpoint.
func TestEmbedWithModelDirectory(t *testing.T) {
	dir := fixtureModelDir(t)
	out := t.TempDir()
	code, _, stderr := cli(t, "embed", "--model", dir, "--vectors", "image", "--input", records, "--output", out, "--progress=0")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "MEANINGLESS") || !strings.Contains(stderr, "model "+dir) {
		t.Errorf("stderr does not name the model directory or warns as for tiny-random:\n%s", stderr)
	}
	if !strings.Contains(stderr, "records in: 24, out: 22, dead-lettered: 2") {
		t.Errorf("counts:\n%s", stderr)
	}
	embs, err := parquet.ReadFile[schemas.Embedding](filepath.Join(out, "embeddings-00000-of-00001.parquet"))
	if err != nil || len(embs) != 22 {
		t.Fatalf("%d embeddings, %v", len(embs), err)
	}
	in, err := parquet.ReadFile[schemas.ImageText](records)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]schemas.ImageText{}
	for _, r := range in {
		byID[r.ID] = r
	}
	b, err := pretrained.Load(context.Background(), dir, pretrained.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, e := range embs {
		if e.ModelID != dir || len(e.TextVector) != 0 || len(e.MultimodalVector) != 0 {
			t.Errorf("%s: model %q, %d text and %d multimodal values for --vectors image", e.ID, e.ModelID, len(e.TextVector), len(e.MultimodalVector))
		}
		rgb, err := b.Images.Decode(byID[e.ID].Image)
		if err != nil {
			t.Fatal(err)
		}
		c, h, w := b.Images.PixelShape(rgb.W, rgb.H)
		want, err := b.Scorer.ImageVectors(flava.ImageInput{PixelValues: tensor.FromData(b.Images.PixelValues(rgb), 1, c, h, w)})
		if err != nil {
			t.Fatal(err)
		}
		if d, i := tensor.MaxAbsDiff(e.ImageVector, want[0]); len(e.ImageVector) != len(want[0]) || d > 1e-5 {
			t.Errorf("%s: image vector differs from the model API by %g at %d", e.ID, d, i)
		}
	}
}
