package transforms

import (
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/model/tokenizer"
	"github.com/flavabeam/flavabeam/schemas"
)

// mixedRecords are pairs, image-only and text-only records.
func mixedRecords(t *testing.T, n int) []schemas.ImageText {
	var recs []schemas.ImageText
	texts := []string{"a photo of two dogs in the snow", "a cat on a red sofa", "people riding bikes", "a plate of food"}
	for i := 0; i < n; i++ {
		r := schemas.ImageText{ID: "r" + string(rune('a'+i)), EventTime: time.Unix(int64(1000+i), 0).UTC()}
		switch i % 3 {
		case 0:
			r.Image, r.Text = pngBytes(t, 40+i, 30+2*i, i), texts[i%len(texts)]
		case 1:
			r.Image = jpegBytes(t, 80, 64+i, i)
		case 2:
			r.Text = texts[i%len(texts)]
		}
		recs = append(recs, r)
	}
	return recs
}

// direct computes what the model API gives for one record.
type directOut struct {
	image, text, multimodal []float32
	itm                     float32
	pixels                  *tensor.Tensor
	ids, mask               *tensor.Int64
}

func directFor(t *testing.T, b *pretrained.Bundle, r schemas.ImageText, maxLength int) directOut {
	t.Helper()
	var d directOut
	if len(r.Image) > 0 {
		img, err := b.Images.Decode(r.Image)
		if err != nil {
			t.Fatal(err)
		}
		c, h, w := b.Images.PixelShape(img.W, img.H)
		d.pixels = tensor.FromData(b.Images.PixelValues(img), 1, c, h, w)
		v, err := b.Scorer.ImageVectors(flava.ImageInput{PixelValues: d.pixels})
		if err != nil {
			t.Fatal(err)
		}
		d.image = v[0]
	}
	if r.Text != "" {
		enc, err := b.Tokenizer.Encode(r.Text, tokenizer.EncodeOptions{MaxLength: maxLength})
		if err != nil {
			t.Fatal(err)
		}
		d.ids, d.mask = tensor.NewInt64(1, len(enc.IDs)), tensor.NewInt64(1, len(enc.IDs))
		for i := range enc.IDs {
			d.ids.Data[i], d.mask.Data[i] = int64(enc.IDs[i]), int64(enc.AttentionMask[i])
		}
		v, err := b.Scorer.TextVectors(flava.TextInput{InputIDs: d.ids, AttentionMask: d.mask})
		if err != nil {
			t.Fatal(err)
		}
		d.text = v[0]
	}
	if d.pixels != nil && d.ids != nil {
		o, err := b.Model.Flava.Forward(flava.ModelInput{PixelValues: d.pixels, InputIDs: d.ids, AttentionMask: d.mask})
		if err != nil {
			t.Fatal(err)
		}
		d.multimodal = o.MultimodalEmbeddings.Data[:o.MultimodalEmbeddings.Shape[2]]
		if b.Model.ITMHead != nil {
			p, err := b.Scorer.MatchProbabilities(flava.ModelInput{PixelValues: d.pixels, InputIDs: d.ids, AttentionMask: d.mask})
			if err != nil {
				t.Fatal(err)
			}
			d.itm = p[0]
		}
	}
	return d
}

const tol = 1e-6

func TestEmbedMatchesDirectModel(t *testing.T) {
	for _, model := range []string{"fixture", pretrained.TinyRandom} {
		t.Run(model, func(t *testing.T) {
			opts := Options{Model: model, BatchSize: 3, MaxLength: 16}
			if model == "fixture" {
				opts.Model = tinyModelDir(t)
			}
			recs := mixedRecords(t, 7)
			p, s := beam.NewPipelineWithRoot()
			col := beam.CreateList(s, recs)
			out, dead := Embed(s, col, EmbedOptions{Options: opts})
			got := collect[schemas.Embedding](s, out)
			deads := collect[schemas.DeadLetter](s, dead)
			if err := ptest.Run(p); err != nil {
				t.Fatal(err)
			}
			if d := deads(); len(d) != 0 {
				t.Fatalf("dead letters: %q", brief(d))
			}
			b := loadDirect(t, opts)
			embs := byID(got(), func(e schemas.Embedding) string { return e.ID })
			if len(embs) != len(recs) {
				t.Fatalf("%d embeddings for %d records", len(embs), len(recs))
			}
			for _, r := range recs {
				e, want := embs[r.ID], directFor(t, b, r, 16)
				if e.ModelID != b.ID || !e.EventTime.Equal(r.EventTime) {
					t.Errorf("%s: model %q time %v, want %q %v", r.ID, e.ModelID, e.EventTime, b.ID, r.EventTime)
				}
				for _, c := range []struct {
					name      string
					got, want []float32
				}{{"image", e.ImageVector, want.image}, {"text", e.TextVector, want.text}, {"multimodal", e.MultimodalVector, want.multimodal}} {
					if (c.got == nil) != (c.want == nil) {
						t.Errorf("%s %s vector: present %v, want %v", r.ID, c.name, c.got != nil, c.want != nil)
					} else if d := maxDiff(c.got, c.want); d > tol {
						t.Errorf("%s %s vector differs from the direct API by %g", r.ID, c.name, d)
					}
				}
			}
		})
	}
}
