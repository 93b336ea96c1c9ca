package flava

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// allowBF16 lets this test run bf16 on CPUs without native bf16 products, on
// the plain-Go emulation (bit-identical to the native kernel, see
// kernels.TestSgemmPackedBF16MatchesReference), so that the accuracy bounds
// are checked everywhere.
func allowBF16(t *testing.T) {
	if kernels.BF16Native() {
		return
	}
	t.Log("no native bf16 on this CPU: running the Go emulation")
	bf16Emulation = true
	t.Cleanup(func() { bf16Emulation = false })
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		if aa == bb {
			return 1
		}
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

func minCosine(a, b [][]float32) float64 {
	m := 1.0
	for i := range a {
		m = min(m, cosine(a[i], b[i]))
	}
	return m
}

func maxAbsDiff2(a, b [][]float32) float64 {
	var m float64
	for i := range a {
		for j := range a[i] {
			m = max(m, math.Abs(float64(a[i][j])-float64(b[i][j])))
		}
	}
	return m
}

// bf16Outputs are what the accuracy test compares between precisions.
type bf16Outputs struct {
	image, text, mm [][]float32 // retrieval vectors; multimodal CLS of FlavaModel
	imageLast       []float32   // image encoder last_hidden_state
	perImage        [][]float32 // contrastive logits
	itmLogits       []float32
	itmProb         []float32
}

func runBF16Outputs(t *testing.T, m *ForPreTraining, px *tensor.Tensor, ids, mask, types *tensor.Int64) bf16Outputs {
	t.Helper()
	s := NewPretrainingScorer(m)
	var o bf16Outputs
	var err error
	if o.image, err = s.ImageVectors(ImageInput{PixelValues: px}); err != nil {
		t.Fatal(err)
	}
	if o.text, err = s.TextVectors(TextInput{InputIDs: ids, AttentionMask: mask, TokenTypeIDs: types}); err != nil {
		t.Fatal(err)
	}
	if o.perImage, _, err = s.ContrastiveLogits(o.image, o.text); err != nil {
		t.Fatal(err)
	}
	io, err := m.Flava.ImageModel.Forward(ImageInput{PixelValues: px})
	if err != nil {
		t.Fatal(err)
	}
	o.imageLast = io.LastHiddenState.Data
	in := ModelInput{PixelValues: px, InputIDs: ids, AttentionMask: mask, TokenTypeIDs: types}
	mo, err := m.Flava.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	mm := mo.MultimodalEmbeddings
	b, seq, h := mm.Shape[0], mm.Shape[1], mm.Shape[2]
	for i := 0; i < b; i++ {
		o.mm = append(o.mm, mm.Data[i*seq*h:i*seq*h+h])
	}
	if m.ITMHead != nil {
		l, err := s.MatchLogits(in)
		if err != nil {
			t.Fatal(err)
		}
		o.itmLogits = l.Data
		if o.itmProb, err = s.MatchProbabilities(in); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// TestBF16MatchesF32 runs every model fixture (discovered, not listed) at
// both precisions on the fixture's own inputs and bounds how far bf16 moves
// the outputs a pipeline emits: the cosine between the float32 and bf16
// image, text and multimodal (FlavaModel multimodal CLS) vectors, the
// absolute error of the contrastive logits (cosine × exp(logit_scale)), of
// the ITM logits and of the ITM match probabilities, and the image
// encoder's last_hidden_state. The bounds are those in BENCHMARKS.md's bf16
// section (measured values there); switching back to f32 must restore the
// float32 outputs bit for bit.
func TestBF16MatchesF32(t *testing.T) {
	allowBF16(t)
	// Measured worst over the three fixtures (tiny, base-shape, flags; the
	// bf16 results are the same on every CPU, native or emulated): cosine
	// 0.999995, contrastive logit 0.0125, ITM logit 3.5e-4, ITM probability
	// 1.0e-4, image last_hidden_state 0.0014. The bounds leave 3–10×.
	const (
		minCos    = 0.99995 // image, text and multimodal vectors
		maxLogit  = 0.04    // contrastive logits (cosine × exp(logit_scale) ≈ 14.3)
		maxITM    = 0.002   // ITM logits
		maxITMP   = 0.001   // ITM match probabilities
		maxHidden = 0.005   // image last_hidden_state, absolute
	)
	for _, dir := range fixtures.Dirs(t, "manifest.json", "model.safetensors", "inputs.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			inputs, err := checkpoint.OpenSafetensors(filepath.Join(dir, "inputs.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer inputs.Close()
			px, err := inputs.Float32("pixel_values")
			if err != nil {
				t.Fatal(err)
			}
			var ids [3]*tensor.Int64
			for i, n := range []string{"input_ids", "attention_mask", "token_type_ids"} {
				if ids[i], err = inputs.Int64(n); err != nil {
					t.Fatal(err)
				}
			}
			m, err := LoadForPreTraining(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			f32 := runBF16Outputs(t, m, px, ids[0], ids[1], ids[2])
			if err := m.SetPrecision(PrecisionBF16); err != nil {
				t.Fatal(err)
			}
			bf := runBF16Outputs(t, m, px, ids[0], ids[1], ids[2])
			if err := m.SetPrecision(PrecisionF32); err != nil {
				t.Fatal(err)
			}
			again := runBF16Outputs(t, m, px, ids[0], ids[1], ids[2])

			ci, ct, cm := minCosine(f32.image, bf.image), minCosine(f32.text, bf.text), minCosine(f32.mm, bf.mm)
			dl := maxAbsDiff2(f32.perImage, bf.perImage)
			dh, _ := tensor.MaxAbsDiff(f32.imageLast, bf.imageLast)
			var di, dp float64
			if f32.itmLogits != nil {
				di, _ = tensor.MaxAbsDiff(f32.itmLogits, bf.itmLogits)
				dp, _ = tensor.MaxAbsDiff(f32.itmProb, bf.itmProb)
			} else {
				t.Error("the fixture checkpoint has no itm_head: ITM not compared")
			}
			t.Logf("bf16 vs f32: min cosine image %.6f text %.6f multimodal %.6f; max |Δ| contrastive logit %.4g, ITM logit %.4g, ITM prob %.4g, image last_hidden_state %.4g",
				ci, ct, cm, dl, di, dp, dh)
			for _, c := range []struct {
				what string
				cos  float64
			}{{"image", ci}, {"text", ct}, {"multimodal", cm}} {
				if !(c.cos >= minCos) {
					t.Errorf("%s vectors: min cosine %.6f, want ≥ %v", c.what, c.cos, minCos)
				}
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"contrastive logits", dl, maxLogit}, {"ITM logits", di, maxITM}, {"ITM probabilities", dp, maxITMP}, {"image last_hidden_state", dh, maxHidden}} {
				if !(c.got <= c.want) {
					t.Errorf("%s: max |bf16 - f32| %.4g, want ≤ %v", c.what, c.got, c.want)
				}
			}
			if dh == 0 {
				t.Error("bf16 gave the float32 image outputs bit for bit: the bf16 path did not run")
			}
			if d, _ := tensor.MaxAbsDiff(f32.imageLast, again.imageLast); d != 0 {
				t.Errorf("back at f32 the image outputs differ by %g from the first f32 run", d)
			}
			if d := maxAbsDiff2(f32.mm, again.mm); d != 0 {
				t.Errorf("back at f32 the multimodal outputs differ by %g from the first f32 run", d)
			}
		})
	}
}

// TestSetPrecision checks parsing, names and the refusal without native bf16.
func TestSetPrecision(t *testing.T) {
	for s, want := range map[string]Precision{"": PrecisionF32, "f32": PrecisionF32, "FP32": PrecisionF32,
		"float32": PrecisionF32, "bf16": PrecisionBF16, " BFloat16 ": PrecisionBF16} {
		if got, err := ParsePrecision(s); err != nil || got != want {
			t.Errorf("ParsePrecision(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"fp16", "int8", "bf", "f64"} {
		if _, err := ParsePrecision(s); err == nil {
			t.Errorf("ParsePrecision(%q) accepted", s)
		}
	}
	if PrecisionF32.String() != "f32" || PrecisionBF16.String() != "bf16" {
		t.Errorf("names %q %q", PrecisionF32, PrecisionBF16)
	}
	m, err := NewRandom(tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetPrecision(Precision(7)); err == nil {
		t.Error("SetPrecision(7) accepted")
	}
	err = m.SetPrecision(PrecisionBF16)
	if kernels.BF16Native() {
		if err != nil {
			t.Fatalf("native bf16 refused: %v", err)
		}
	} else if !errors.Is(err, ErrBF16Unsupported) {
		t.Fatalf("SetPrecision(bf16) without native bf16 = %v, want ErrBF16Unsupported", err)
	}
}
