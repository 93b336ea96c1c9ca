package flava

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// rewriteCheckpoint writes dir/model.safetensors holding the tensors of src
// whose names start with from, renamed to start with to (skipping drop), and
// dir/config.json with cfg.
func rewriteCheckpoint(t *testing.T, src, from, to string, drop map[string]bool, extra []string, cfg any) string {
	t.Helper()
	sd, err := checkpoint.OpenSafetensors(src)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	var out []checkpoint.SafetensorsTensor
	for _, name := range sd.Names() {
		if !strings.HasPrefix(name, from) || drop[name] {
			continue
		}
		x, err := sd.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, checkpoint.Float32Tensor(to+strings.TrimPrefix(name, from), x))
	}
	for _, name := range extra {
		out = append(out, checkpoint.Float32Tensor(name, tensor.New(2)))
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.WriteSafetensors(f, out, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func sameOutput(t *testing.T, what string, a, b *tensor.Tensor) {
	t.Helper()
	if !tensor.SameShape(a.Shape, b.Shape) {
		t.Fatalf("%s: shapes %v and %v", what, a.Shape, b.Shape)
	}
	if d, _ := tensor.MaxAbsDiff(a.Data, b.Data); d != 0 {
		t.Fatalf("%s: outputs differ by %g", what, d)
	}
}

// TestLoadersDetectPrefixes loads the tiny fixture's weights as a
// FlavaForPreTraining checkpoint ("flava."), a FlavaModel checkpoint (no
// prefix) and standalone encoder checkpoints, and checks they give the same
// model.
func TestLoadersDetectPrefixes(t *testing.T) {
	dir := fixtures.Dirs(t, "manifest.json", "model.safetensors", "config.json")[0]
	src := filepath.Join(dir, "model.safetensors")
	ref, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Source.Close()
	if ref.Source.Prefix != "flava." {
		t.Errorf("FlavaForPreTraining prefix = %q", ref.Source.Prefix)
	}
	cfg := ref.Config
	pix := tensor.New(1, 3, cfg.ImageConfig.ImageSize, cfg.ImageConfig.ImageSize)
	for i := range pix.Data {
		pix.Data[i] = float32(i%13)/6 - 1
	}
	ids := &tensor.Int64{Shape: []int{1, 5}, Data: []int64{101, 200, 300, 400, 102}}
	want, err := ref.Forward(ModelInput{PixelValues: pix, InputIDs: ids})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("FlavaModel", func(t *testing.T) {
		m, err := LoadModel(rewriteCheckpoint(t, src, "flava.", "", nil, []string{"unexpected.tensor"}, cfg))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Source.Close()
		if m.Source.Prefix != "" || len(m.Source.Unused) != 1 || m.Source.Unused[0] != "unexpected.tensor" {
			t.Errorf("prefix %q unused %v", m.Source.Prefix, m.Source.Unused)
		}
		got, err := m.Forward(ModelInput{PixelValues: pix, InputIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		sameOutput(t, "multimodal", got.MultimodalEmbeddings, want.MultimodalEmbeddings)
		img, err := LoadImageModel(filepath.Join(m.Source.Path, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		defer img.Source.Close()
		if img.Source.Prefix != "image_model." {
			t.Errorf("image prefix in a FlavaModel checkpoint = %q", img.Source.Prefix)
		}
	})

	t.Run("standalone image", func(t *testing.T) {
		ic := cfg.ImageConfig
		ic.ModelType = ModelTypeImage
		drop := map[string]bool{"flava.image_model.pooler.dense.weight": true, "flava.image_model.pooler.dense.bias": true}
		m, err := LoadImageModel(rewriteCheckpoint(t, src, "flava.image_model.", "", drop, nil, ic))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Source.Close()
		if m.Source.Prefix != "" || m.Pooler != nil || len(m.Source.Unused) != 0 {
			t.Errorf("prefix %q pooler %v unused %v", m.Source.Prefix, m.Pooler, m.Source.Unused)
		}
		got, err := m.Forward(ImageInput{PixelValues: pix})
		if err != nil {
			t.Fatal(err)
		}
		sameOutput(t, "image", got.LastHiddenState, want.ImageEmbeddings)
		if got.PooledOutput != nil {
			t.Error("pooled output without a pooler")
		}
	})

	t.Run("standalone text and multimodal", func(t *testing.T) {
		tc := cfg.TextConfig
		tc.ModelType = ModelTypeText
		tm, err := LoadTextModel(rewriteCheckpoint(t, src, "flava.text_model.", "", nil, nil, tc))
		if err != nil {
			t.Fatal(err)
		}
		defer tm.Source.Close()
		got, err := tm.Forward(TextInput{InputIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		sameOutput(t, "text", got.LastHiddenState, want.TextEmbeddings)
		sameOutput(t, "text pooled", got.PooledOutput, want.TextOutput.PooledOutput)

		mc := cfg.MultimodalConfig
		mc.ModelType = ModelTypeMultimodal
		mm, err := LoadMultimodalModel(rewriteCheckpoint(t, src, "flava.multimodal_model.", "", nil, nil, mc))
		if err != nil {
			t.Fatal(err)
		}
		defer mm.Source.Close()
		if mm.Source.Prefix != "" {
			t.Errorf("multimodal prefix %q", mm.Source.Prefix)
		}
	})

	t.Run("missing and misshaped tensors", func(t *testing.T) {
		drop := map[string]bool{"flava.text_model.encoder.layer.0.output.dense.weight": true}
		_, err := LoadModel(rewriteCheckpoint(t, src, "flava.", "flava.", drop, nil, cfg))
		var be *checkpoint.BindError
		if !errors.Is(err, checkpoint.ErrBind) || !errors.As(err, &be) || len(be.Missing) != 1 ||
			be.Missing[0] != "flava.text_model.encoder.layer.0.output.dense.weight" {
			t.Errorf("missing tensor: %v", err)
		}
		bigger := cfg
		bigger.ProjectionDim++
		if _, err := LoadModel(rewriteCheckpoint(t, src, "flava.", "flava.", nil, nil, bigger)); !errors.As(err, &be) || len(be.Mismatched) != 4 {
			t.Errorf("projection_dim+1 should mismatch 4 tensors: %v", err)
		}
	})

	t.Run("no config or no weights", func(t *testing.T) {
		empty := t.TempDir()
		if _, err := LoadModel(empty); err == nil {
			t.Error("LoadModel of an empty directory succeeded")
		}
		onlyCfg := t.TempDir()
		raw, _ := json.Marshal(cfg)
		os.WriteFile(filepath.Join(onlyCfg, "config.json"), raw, 0o644)
		if _, err := LoadModel(onlyCfg); !errors.Is(err, checkpoint.ErrNotFound) {
			t.Errorf("LoadModel without weights: %v", err)
		}
		if _, err := LoadTextModel(rewriteCheckpoint(t, src, "flava.image_model.", "", nil, nil, cfg)); !errors.Is(err, checkpoint.ErrNotFound) {
			t.Errorf("LoadTextModel of image weights: %v", err)
		}
	})
}
