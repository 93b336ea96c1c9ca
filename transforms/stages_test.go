package transforms

import (
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/model/tokenizer"
	"github.com/flavabeam/flavabeam/schemas"
)

func pairRecords(t *testing.T, n int) []schemas.ImageText {
	texts := []string{"a photo of two dogs in the snow", "a cat on a red sofa", "people riding bikes", "a plate of food", "a man with a dog"}
	recs := make([]schemas.ImageText, n)
	for i := range recs {
		recs[i] = schemas.ImageText{ID: "p" + string(rune('a'+i)), Image: pngBytes(t, 48+3*i, 40+i, i+5), Text: texts[i%len(texts)]}
	}
	return recs
}

func TestScorePairsMatchesScorer(t *testing.T) {
	opts := Options{Model: tinyModelDir(t), BatchSize: 4, MaxLength: 16}
	recs := pairRecords(t, 6)
	p, s := beam.NewPipelineWithRoot()
	out, dead := ScorePairs(s, beam.CreateList(s, recs), opts)
	got, deads := collect[schemas.Score](s, out), collect[schemas.DeadLetter](s, dead)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	if d := deads(); len(d) != 0 {
		t.Fatalf("dead letters: %q", brief(d))
	}
	b := loadDirect(t, opts)
	if b.Model.ITMHead == nil {
		t.Fatal("the tiny fixture is FlavaForPreTraining: want an ITM head")
	}
	scores := byID(got(), func(s schemas.Score) string { return s.ID })
	if len(scores) != len(recs) {
		t.Fatalf("%d scores for %d records", len(scores), len(recs))
	}
	for _, r := range recs {
		d := directFor(t, b, r, 16)
		perImage, _, err := b.Scorer.ContrastiveLogits([][]float32{d.image}, [][]float32{d.text})
		if err != nil {
			t.Fatal(err)
		}
		sim, _ := flava.Similarity([][]float32{d.image}, [][]float32{d.text})
		sc := scores[r.ID]
		if sc.ContrastiveSimilarity == nil || sc.ContrastiveLogit == nil || sc.ITMProbability == nil {
			t.Fatalf("%s: a pairs score is null: %+v", r.ID, sc)
		}
		if maxDiff([]float32{*sc.ContrastiveSimilarity, *sc.ContrastiveLogit, *sc.ITMProbability}, []float32{sim[0][0], perImage[0][0], d.itm}) > tol {
			t.Errorf("%s: got sim %v logit %v itm %v, want %v %v %v", r.ID, *sc.ContrastiveSimilarity, *sc.ContrastiveLogit, *sc.ITMProbability, sim[0][0], perImage[0][0], d.itm)
		}
		if *sc.ITMProbability <= 0 || *sc.ITMProbability >= 1 {
			t.Errorf("%s: ITM probability %v outside (0, 1)", r.ID, *sc.ITMProbability)
		}
	}
}

func directClassifier(t *testing.T, b *pretrained.Bundle, labels []string, template string, maxLength int) *flava.ZeroShotClassifier {
	t.Helper()
	tok := func(texts []string) (flava.TextInput, error) {
		encs, err := b.Tokenizer.EncodeBatch(texts, nil, tokenizer.EncodeOptions{MaxLength: maxLength})
		if err != nil {
			return flava.TextInput{}, err
		}
		l := len(encs[0].IDs)
		ids, mask := tensor.NewInt64(len(encs), l), tensor.NewInt64(len(encs), l)
		for i, e := range encs {
			for j := range e.IDs {
				ids.Data[i*l+j], mask.Data[i*l+j] = int64(e.IDs[j]), int64(e.AttentionMask[j])
			}
		}
		return flava.TextInput{InputIDs: ids, AttentionMask: mask}, nil
	}
	z, err := flava.NewZeroShotClassifier(labels, b.Scorer.TextVectorFunc(tok), b.Scorer.LogitScale(), flava.ZeroShotConfig{Template: template})
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestZeroShotMatchesClassifier(t *testing.T) {
	opts := ZeroShotOptions{Options: Options{Model: tinyModelDir(t), BatchSize: 3, MaxLength: 16},
		Labels: []string{"dog", "cat", "car", "bike", "food", "tree"}, TopK: 3}
	own := []string{"snow", "sofa"}
	recs := pairRecords(t, 5)
	recs[4].Labels = own
	side := []string{"tree", "dog", "car", "dog"} // duplicates and order do not matter
	p, s := beam.NewPipelineWithRoot()
	col := beam.CreateList(s, recs)
	out, dead := ZeroShotClassify(s, col, opts)
	prepared, _ := Preprocess(s, col, PrepareOptions{Options: opts.Options})
	sideOut, sideDead := ZeroShot(s, prepared, opts, beam.CreateList(s, side))
	got, deads := collect[schemas.Score](s, out), collect[schemas.DeadLetter](s, beam.Flatten(s, dead, sideDead))
	gotSide := collect[schemas.Score](s, sideOut)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	if d := deads(); len(d) != 0 {
		t.Fatalf("dead letters: %q", brief(d))
	}
	b := loadDirect(t, opts.Options)
	byLabels := map[string]*flava.ZeroShotClassifier{
		"opts": directClassifier(t, b, opts.Labels, flava.DefaultZeroShotTemplate, 16),
		"own":  directClassifier(t, b, own, flava.DefaultZeroShotTemplate, 16),
		"side": directClassifier(t, b, []string{"car", "dog", "tree"}, flava.DefaultZeroShotTemplate, 16),
	}
	check := func(name string, scores []schemas.Score, which func(r schemas.ImageText) string) {
		m := byID(scores, func(s schemas.Score) string { return s.ID })
		if len(m) != len(recs) {
			t.Fatalf("%s: %d scores for %d records", name, len(m), len(recs))
		}
		for _, r := range recs {
			d := directFor(t, b, schemas.ImageText{ID: r.ID, Image: r.Image}, 16)
			z := byLabels[which(r)]
			probs, err := z.Probabilities([][]float32{d.image})
			if err != nil {
				t.Fatal(err)
			}
			want := z.TopK(probs[0], 3)
			got := m[r.ID].TopK
			if len(got) != min(3, len(z.Labels())) {
				t.Fatalf("%s %s: %d labels, want %d", name, r.ID, len(got), min(3, len(z.Labels())))
			}
			for i := range got {
				if got[i].Label != want[i].Label || maxDiff([]float32{got[i].Probability}, []float32{want[i].Probability}) > tol {
					t.Errorf("%s %s top %d: %+v, want %+v", name, r.ID, i, got[i], want[i])
				}
			}
		}
	}
	check("options", got(), func(r schemas.ImageText) string {
		if r.Labels != nil {
			return "own"
		}
		return "opts"
	})
	check("side input", gotSide(), func(r schemas.ImageText) string {
		if r.Labels != nil {
			return "own"
		}
		return "side"
	})
}

func TestLabelMIMMatchesCodebookAndIsStable(t *testing.T) {
	for _, model := range []string{"fixture", pretrained.TinyRandom} {
		t.Run(model, func(t *testing.T) {
			opts := Options{Model: model, BatchSize: 2}
			if model == "fixture" {
				opts.Model = tinyModelDir(t)
			}
			recs := pairRecords(t, 5)
			var runs [2]map[string]schemas.MIMLabel
			for run := range runs {
				p, s := beam.NewPipelineWithRoot()
				out, dead := LabelMIM(s, beam.CreateList(s, recs), opts)
				got, deads := collect[schemas.MIMLabel](s, out), collect[schemas.DeadLetter](s, dead)
				if err := ptest.Run(p); err != nil {
					t.Fatal(err)
				}
				if d := deads(); len(d) != 0 {
					t.Fatalf("dead letters: %q", brief(d))
				}
				runs[run] = byID(got(), func(m schemas.MIMLabel) string { return m.ID })
			}
			b := loadDirect(t, opts)
			cb := b.Codebook()
			for _, r := range recs {
				img, err := b.Images.Decode(r.Image)
				if err != nil {
					t.Fatal(err)
				}
				c, h, w := b.Images.CodebookPixelShape(img.W, img.H)
				pix := tensor.FromData(b.Images.CodebookPixelValues(img), 1, c, h, w)
				mask := b.Images.Mask(MaskSeed(r.ID))
				want, err := cb.MIMLabels(pix, [][]bool{mask})
				if err != nil {
					t.Fatal(err)
				}
				got := runs[0][r.ID]
				if got.MaskSeed != MaskSeed(r.ID) || int(got.GridH*got.GridW) != len(want[0].TokenIDs) {
					t.Fatalf("%s: seed %d grid %dx%d, want seed %d and %d patches", r.ID, got.MaskSeed, got.GridH, got.GridW, MaskSeed(r.ID), len(want[0].TokenIDs))
				}
				for i, id := range want[0].TokenIDs {
					if int64(got.CodebookIDs[i]) != id {
						t.Fatalf("%s: codebook id %d = %d, want %d", r.ID, i, got.CodebookIDs[i], id)
					}
				}
				var masked []int32
				for i, on := range mask {
					if on {
						masked = append(masked, int32(i))
					}
				}
				if len(masked) == 0 || !slices.Equal(got.MaskedPositions, masked) {
					t.Errorf("%s: masked %v, want %v", r.ID, got.MaskedPositions, masked)
				}
				if again := runs[1][r.ID]; !slices.Equal(again.CodebookIDs, got.CodebookIDs) || !slices.Equal(again.MaskedPositions, got.MaskedPositions) {
					t.Errorf("%s: a rerun gave different labels", r.ID)
				}
			}
		})
	}
}
