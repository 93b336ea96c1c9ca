package flava

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// codebookLayout is one way of getting the same codebook weights.
type codebookLayout struct {
	name string
	load func(t *testing.T, dir string) *ImageCodebook
}

func codebookLayouts() []codebookLayout {
	return []codebookLayout{
		{"standalone codebook.safetensors", func(t *testing.T, dir string) *ImageCodebook {
			cb, err := LoadImageCodebookFiles(filepath.Join(dir, "codebook.safetensors"), filepath.Join(dir, "codebook_config.json"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cb.Close() })
			return cb
		}},
		{"model.safetensors image_codebook.", func(t *testing.T, dir string) *ImageCodebook {
			return loadPretrainingCodebook(t, dir, "model.safetensors")
		}},
		{"LoadImageCodebook(FlavaForPreTraining dir)", func(t *testing.T, dir string) *ImageCodebook {
			cb, err := LoadImageCodebook(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cb.Close() })
			return cb
		}},
		{"pytorch_model.bin image_codebook.", func(t *testing.T, dir string) *ImageCodebook {
			return loadPretrainingCodebook(t, dir, "pytorch_model.bin")
		}},
	}
}

func loadPretrainingCodebook(t *testing.T, dir, weights string) *ImageCodebook {
	t.Helper()
	sd, err := checkpoint.Open(filepath.Join(dir, weights))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sd.Close() })
	cfg, err := readCodebookConfig(dir, filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := CodebookPrefix(sd); !ok || p != CodebookPrefixPretraining {
		t.Fatalf("CodebookPrefix = %q, %v", p, ok)
	}
	cb, err := NewImageCodebookFromStateDict(sd, CodebookPrefixPretraining, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

// TestCodebookMatchesReference checks every codebook.* tensor of every
// fixture manifest, for each checkpoint layout.
func TestCodebookMatchesReference(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "manifest.json", "codebook.safetensors", "codebook_config.json", "inputs.safetensors", "expected.safetensors") {
		f := ptOpenFixture(t, dir)
		names := f.names("codebook.")
		if len(names) == 0 {
			t.Errorf("%s: no codebook.* tensors in the manifest", dir)
			continue
		}
		for _, layout := range codebookLayouts() {
			t.Run(filepath.Base(dir)+"/"+layout.name, func(t *testing.T) {
				cb := layout.load(t, dir)
				px := f.inFloat(t, "codebook_pixel_values")
				pxCopy := px.Clone()
				logits, err := cb.Forward(px)
				if err != nil {
					t.Fatal(err)
				}
				idx, err := cb.CodebookIndices(px)
				if err != nil {
					t.Fatal(err)
				}
				probs, err := cb.CodebookProbs(px)
				if err != nil {
					t.Fatal(err)
				}
				if !ptSameFloat(px, pxCopy) {
					t.Fatal("codebook modified its input")
				}
				for _, name := range names {
					switch name {
					case "codebook.indices":
						f.checkInt(t, name, idx)
					default:
						f.checkFloat(t, name, codebookDerived(name, logits, probs))
					}
				}
			})
		}
	}
}

// codebookDerived computes the manifest's codebook.* float tensors from the
// logits and probabilities; nil for a name it does not know (which fails).
func codebookDerived(name string, logits, probs *tensor.Tensor) *tensor.Tensor {
	n, c, h, w := logits.Shape[0], logits.Shape[1], logits.Shape[2], logits.Shape[3]
	hw := h * w
	reduce := func(fn func(col []float64) float64) *tensor.Tensor {
		out := tensor.New(n, h, w)
		col := make([]float64, c)
		for b := 0; b < n; b++ {
			for p := 0; p < hw; p++ {
				for ch := 0; ch < c; ch++ {
					col[ch] = float64(logits.Data[(b*c+ch)*hw+p])
				}
				out.Data[b*hw+p] = float32(fn(col))
			}
		}
		return out
	}
	slice := func(t *tensor.Tensor, k int) *tensor.Tensor {
		out := tensor.New(n, k, h, w)
		for b := 0; b < n; b++ {
			copy(out.Data[b*k*hw:(b+1)*k*hw], t.Data[b*c*hw:b*c*hw+k*hw])
		}
		return out
	}
	switch name {
	case "codebook.logits":
		return logits
	case "codebook.probs":
		return probs
	case "codebook.logits_slice":
		return slice(logits, min(256, c))
	case "codebook.probs_slice":
		return slice(probs, min(256, c))
	case "codebook.logits_max":
		return reduce(func(col []float64) float64 {
			m := math.Inf(-1)
			for _, v := range col {
				m = math.Max(m, v)
			}
			return m
		})
	case "codebook.logits_sum":
		return reduce(func(col []float64) float64 {
			s := 0.0
			for _, v := range col {
				s += v
			}
			return s
		})
	case "codebook.logits_logsumexp":
		return reduce(func(col []float64) float64 {
			m := math.Inf(-1)
			for _, v := range col {
				m = math.Max(m, v)
			}
			s := 0.0
			for _, v := range col {
				s += math.Exp(v - m)
			}
			return m + math.Log(s)
		})
	case "codebook.top1_minus_top2":
		return reduce(func(col []float64) float64 {
			a, b := math.Inf(-1), math.Inf(-1)
			for _, v := range col {
				if v > a {
					a, b = v, a
				} else if v > b {
					b = v
				}
			}
			return a - b
		})
	}
	return nil
}

func TestCodebookRejectsBadInput(t *testing.T) {
	cb, err := NewImageCodebook(CodebookConfig{HiddenSize: 4, InputChannels: 3, NumGroups: 4, NumBlocksPerGroup: 1, VocabSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*tensor.Tensor{
		nil,
		tensor.New(3, 16, 16),
		tensor.New(1, 2, 16, 16),
		tensor.New(1, 3, 7, 16),
		tensor.New(0, 3, 16, 16),
		{Shape: []int{1, 3, 8, 8}, Data: make([]float32, 10)},
	} {
		if _, err := cb.Forward(x); !errors.Is(err, ErrInput) {
			t.Errorf("Forward(%v): err = %v, want ErrInput", x, err)
		}
	}
	if _, err := cb.Forward(tensor.New(2, 3, 8, 8)); err != nil {
		t.Errorf("8x8 input: %v", err)
	}
}

func TestCodebookBindReportsEveryProblem(t *testing.T) {
	dir := fixtures.Dirs(t, "codebook.safetensors", "codebook_config.json")[0]
	sd, err := checkpoint.OpenSafetensors(filepath.Join(dir, "codebook.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	arch, err := readCodebookConfig(dir, filepath.Join(dir, "codebook_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	// One block fewer per group than the checkpoint has: extra tensors.
	// One more: missing tensors. Another hidden size: mismatched shapes.
	for _, mod := range []func(a *CodebookConfig){
		func(a *CodebookConfig) { a.NumBlocksPerGroup++ },
		func(a *CodebookConfig) { a.HiddenSize += 4 },
		func(a *CodebookConfig) { a.VocabSize++ },
	} {
		a := arch
		mod(&a)
		_, err := NewImageCodebookFromStateDict(sd, "", a)
		var be *checkpoint.BindError
		if !errors.As(err, &be) || !errors.Is(err, checkpoint.ErrBind) {
			t.Errorf("arch %+v: err = %v, want a *checkpoint.BindError", a, err)
		}
	}
	if arch.NumBlocksPerGroup > 1 {
		a := arch
		a.NumBlocksPerGroup--
		if _, err := NewImageCodebookFromStateDict(sd, "", a); !errors.Is(err, checkpoint.ErrBind) {
			t.Errorf("fewer blocks: err = %v, want ErrBind for unexpected tensors", err)
		}
	}
}
