package flava

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/tensor"
)

func scoringFixtures(t *testing.T) []string {
	return fixtures.Dirs(t, "manifest.json", "config.json", "model.safetensors", "inputs.safetensors", "expected.safetensors")
}

// casesWith returns the pretrain_* cases of f that have tensor field, with
// their parsed calls, sorted by case name.
func casesWith(t *testing.T, f *ptFixture, field string) map[string]pretrainCall {
	t.Helper()
	out := map[string]pretrainCall{}
	for _, name := range f.names("pretrain_") {
		c, fl, _ := strings.Cut(name, ".")
		if fl != field {
			continue
		}
		pc, ok := parsePretrainCall(f.tensors[name].Call)
		if !ok {
			t.Fatalf("%s: cannot parse call of %s", f.dir, name)
		}
		out[c] = pc
	}
	return out
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// TestRetrievalVectorsAreContrastiveVectors checks that ImageVectors and
// TextVectors are unit vectors equal to the normalised CLS projections the
// pretraining contrastive head uses, and that their contrastive logits match
// the reference for every unfiltered (no itm_labels) case.
func TestRetrievalVectorsAreContrastiveVectors(t *testing.T) {
	for _, dir := range scoringFixtures(t) {
		f := ptOpenFixture(t, dir)
		m, err := LoadForPreTraining(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		s := NewPretrainingScorer(m)
		checked := 0
		for c, pc := range casesWith(t, f, "contrastive_logits_per_image") {
			if _, filtered := pc.args["itm_labels"]; filtered {
				continue
			}
			in := pc.input(t, f)
			imgs, err := s.ImageVectors(ImageInput{PixelValues: in.PixelValues})
			if err != nil {
				t.Fatal(err)
			}
			txts, err := s.TextVectors(TextInput{InputIDs: in.InputIDs, AttentionMask: in.AttentionMask, TokenTypeIDs: in.TokenTypeIDs})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range append(append([][]float32{}, imgs...), txts...) {
				if len(v) != s.ProjectionDim() || math.Abs(norm(v)-1) > 1e-5 {
					t.Errorf("%s: vector of length %d and norm %v", c, len(v), norm(v))
				}
			}
			// Same vectors as the parity path.
			out, err := m.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			wantImg := m.Flava.projectCLS(&m.Flava.ImageProjection, out.ImageEmbeddings)
			wantTxt := m.Flava.projectCLS(&m.Flava.TextProjection, out.TextEmbeddings)
			gotImg, _ := flatten(imgs, s.ProjectionDim(), "image")
			gotTxt, _ := flatten(txts, s.ProjectionDim(), "text")
			if d, _ := tensor.MaxAbsDiff(gotImg, wantImg); d != 0 {
				t.Errorf("%s: image vectors differ from the contrastive head's by %g", c, d)
			}
			if d, _ := tensor.MaxAbsDiff(gotTxt, wantTxt); d != 0 {
				t.Errorf("%s: text vectors differ from the contrastive head's by %g", c, d)
			}
			perImage, perText, err := s.ContrastiveLogits(imgs, txts)
			if err != nil {
				t.Fatal(err)
			}
			pi, _ := flatten(perImage, len(txts), "row")
			pt, _ := flatten(perText, len(imgs), "row")
			f.checkFloat(t, c+".contrastive_logits_per_image", tensor.FromData(pi, len(imgs), len(txts)))
			f.checkFloat(t, c+".contrastive_logits_per_text", tensor.FromData(pt, len(txts), len(imgs)))
			sim, err := Similarity(imgs, txts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range sim {
				for j := range sim[i] {
					if d := math.Abs(float64(sim[i][j]*s.LogitScale() - perImage[i][j])); d > 1e-5*math.Abs(float64(perImage[i][j]))+1e-6 {
						t.Errorf("%s: similarity·scale %v != logit %v", c, sim[i][j]*s.LogitScale(), perImage[i][j])
					}
				}
			}
			checked++
		}
		if checked == 0 {
			t.Errorf("%s: no unfiltered contrastive case to check retrieval vectors against", dir)
		}
	}
}

// TestMatchProbabilitiesAreSoftmaxOfITMLogits checks MatchLogits against
// every itm_logits of the manifests (same masked inputs as pretraining) and
// MatchProbabilities against their softmax.
func TestMatchProbabilitiesAreSoftmaxOfITMLogits(t *testing.T) {
	for _, dir := range scoringFixtures(t) {
		f := ptOpenFixture(t, dir)
		m, err := LoadForPreTraining(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		s := NewPretrainingScorer(m)
		cases := casesWith(t, f, "itm_logits")
		if len(cases) == 0 {
			t.Errorf("%s: no itm_logits", dir)
		}
		for c, pc := range cases {
			in := pc.input(t, f)
			ids := in.InputIDsMasked
			if ids == nil {
				ids = in.InputIDs
			}
			mi := ModelInput{PixelValues: in.PixelValues, BoolMaskedPos: in.BoolMaskedPos, InputIDs: ids,
				AttentionMask: in.AttentionMask, TokenTypeIDs: in.TokenTypeIDs}
			logits, err := s.MatchLogits(mi)
			if err != nil {
				t.Fatal(err)
			}
			f.checkFloat(t, c+".itm_logits", logits)
			probs, err := s.MatchProbabilities(mi)
			if err != nil {
				t.Fatal(err)
			}
			want, err := f.expected.Float32(c + ".itm_logits")
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range probs {
				a, b := float64(want.Data[2*i]), float64(want.Data[2*i+1])
				w := 1 / (1 + math.Exp(a-b))
				if math.Abs(float64(p)-w) > 1e-5 {
					t.Errorf("%s: pair %d: P(match) = %v, softmax of the reference logits %v", c, i, p, w)
				}
			}
		}
	}
	// A FlavaModel-only scorer has no ITM head.
	if _, err := NewScorer(&Model{}).MatchProbabilities(ModelInput{}); !errors.Is(err, ErrInput) {
		t.Errorf("no itm head: err = %v, want ErrInput", err)
	}
}

// fakeTokenize maps each word to a small id deterministically: enough to
// give distinct prompts distinct vectors without a vocabulary file.
func fakeTokenize(vocab int) func([]string) (TextInput, error) {
	return func(texts []string) (TextInput, error) {
		const l = 8
		ids := tensor.NewInt64(len(texts), l)
		mask := tensor.NewInt64(len(texts), l)
		for i, s := range texts {
			ids.Data[i*l], mask.Data[i*l] = 101%int64(vocab), 1
			for j, w := range strings.Fields(s) {
				if j+1 >= l {
					break
				}
				h := int64(7)
				for _, r := range w {
					h = (h*31 + int64(r)) % int64(vocab)
				}
				ids.Data[i*l+j+1], mask.Data[i*l+j+1] = h, 1
			}
		}
		return TextInput{InputIDs: ids, AttentionMask: mask}, nil
	}
}

func TestZeroShotClassifier(t *testing.T) {
	dir := scoringFixtures(t)[0]
	f := ptOpenFixture(t, dir)
	m, err := LoadForPreTraining(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := NewPretrainingScorer(m)
	labels := []string{"cat", "dog", "barn", "snow", "tree"}
	calls, prompts := 0, 0
	var seen []string
	enc := s.TextVectorFunc(fakeTokenize(m.Config.TextConfig.VocabSize))
	counting := func(p []string) ([][]float32, error) {
		calls++
		prompts += len(p)
		seen = append(seen, p...)
		return enc(p)
	}
	z, err := NewZeroShotClassifier(labels, counting, s.LogitScale(), ZeroShotConfig{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 || prompts != len(labels) {
		t.Errorf("building: %d text forwards over %d prompts, want 3 over %d", calls, prompts, len(labels))
	}
	if seen[0] != "a photo of a cat" {
		t.Errorf("first prompt %q", seen[0])
	}
	px := f.inFloat(t, "pixel_values")
	preds, err := z.Classify(s, ImageInput{PixelValues: px}, 3)
	if err != nil {
		t.Fatal(err)
	}
	again, err := z.Classify(s, ImageInput{PixelValues: px}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("classifying re-encoded the labels: %d text forwards", calls)
	}
	imgs, err := s.ImageVectors(ImageInput{PixelValues: px})
	if err != nil {
		t.Fatal(err)
	}
	labelVecs, err := enc(seen)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := z.Probabilities(imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range probs {
		var sum float64
		for _, p := range row {
			sum += float64(p)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("image %d: probabilities sum to %v", i, sum)
		}
		// Independent float64 softmax of scale·cosine.
		logits := make([]float64, len(labels))
		mx := math.Inf(-1)
		for j, lv := range labelVecs {
			var dot float64
			for k := range lv {
				dot += float64(lv[k]) * float64(imgs[i][k])
			}
			logits[j] = float64(s.LogitScale()) * dot
			mx = math.Max(mx, logits[j])
		}
		var den float64
		for _, l := range logits {
			den += math.Exp(l - mx)
		}
		for j := range logits {
			if w := math.Exp(logits[j]-mx) / den; math.Abs(w-float64(row[j])) > 1e-5 {
				t.Errorf("image %d label %d: p = %v, want %v", i, j, row[j], w)
			}
		}
		if len(preds[i]) != 3 || len(again[i]) != len(labels) {
			t.Fatalf("top-k lengths %d and %d", len(preds[i]), len(again[i]))
		}
		for k, p := range again[i] {
			if p.Label != labels[p.Index] || p.Probability != row[p.Index] {
				t.Errorf("prediction %+v does not match its label and probability", p)
			}
			if k > 0 && p.Probability > again[i][k-1].Probability {
				t.Errorf("image %d: predictions not sorted", i)
			}
			if k < 3 && p != preds[i][k] {
				t.Errorf("image %d: top-3 %v disagrees with the full ranking", i, preds[i])
			}
		}
	}
}

func TestZeroShotConfigValidate(t *testing.T) {
	for _, c := range []ZeroShotConfig{{Template: "no placeholder"}, {Template: "{} and {}"}, {BatchSize: -1}} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err = %v, want ErrConfig", c, err)
		}
	}
	if err := (ZeroShotConfig{}).Validate(); err != nil {
		t.Errorf("zero value: %v", err)
	}
	if _, err := NewZeroShotClassifierFromVectors([]string{"a"}, [][]float32{{1, 0}, {0, 1}}, 1); !errors.Is(err, ErrInput) {
		t.Errorf("label/vector count mismatch: err = %v", err)
	}
	if _, err := NewZeroShotClassifierFromVectors([]string{"a", "b"}, [][]float32{{1, 0}, {0}}, 1); !errors.Is(err, ErrInput) {
		t.Errorf("ragged vectors: err = %v", err)
	}
}

// TestMIMLabels checks the codebook tokens against codebook.indices and the
// labels against the mask, for every fixture with a codebook.
func TestMIMLabels(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "manifest.json", "codebook.safetensors", "codebook_config.json", "inputs.safetensors", "expected.safetensors") {
		f := ptOpenFixture(t, dir)
		cb, err := LoadImageCodebookFiles(filepath.Join(dir, "codebook.safetensors"), filepath.Join(dir, "codebook_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer cb.Close()
		px := f.inFloat(t, "codebook_pixel_values")
		want, err := f.expected.Int64("codebook.indices")
		if err != nil {
			t.Fatal(err)
		}
		b, hw := want.Shape[0], want.Shape[1]*want.Shape[2]
		masks := make([][]bool, b)
		for i := range masks {
			masks[i] = make([]bool, hw)
			for j := range masks[i] {
				masks[i][j] = (i+j)%3 == 0
			}
		}
		got, err := cb.MIMLabels(px, masks)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range got {
			for j := 0; j < hw; j++ {
				if l.TokenIDs[j] != want.Data[i*hw+j] {
					t.Fatalf("%s: image %d token %d = %d, want %d", dir, i, j, l.TokenIDs[j], want.Data[i*hw+j])
				}
				wl := int64(-100)
				if masks[i][j] {
					wl = want.Data[i*hw+j]
				}
				if l.Labels[j] != wl || l.Mask[j] != masks[i][j] {
					t.Fatalf("%s: image %d position %d: label %d mask %v", dir, i, j, l.Labels[j], l.Mask[j])
				}
			}
		}
		if _, err := cb.MIMLabels(px, masks[:1]); !errors.Is(err, ErrInput) {
			t.Errorf("too few masks: err = %v", err)
		}
		masks[0] = masks[0][1:]
		if _, err := cb.MIMLabels(px, masks); !errors.Is(err, ErrInput) {
			t.Errorf("short mask: err = %v", err)
		}
	}
}
