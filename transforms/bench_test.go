package transforms

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

const benchRecords = 288

func benchRecordsOf(b *testing.B) []schemas.ImageText {
	texts := []string{"a photo of two dogs in the snow", "a cat sitting on a red sofa next to a window", "people riding bikes along the river", "a plate of food on a wooden table"}
	recs := make([]schemas.ImageText, benchRecords)
	for i := range recs {
		recs[i] = schemas.ImageText{ID: fmt.Sprintf("r%04d", i), Image: jpegBytes(b, 320, 240, i), Text: texts[i%len(texts)]}
	}
	return recs
}

// directEmbed is what a hand-written loop over the model API does for the
// same records and outputs as Embed: decode, preprocess and tokenize each
// record, then FlavaModel (image, text, multimodal) in batches of batch.
func directEmbed(b *pretrained.Bundle, recs []schemas.ImageText, batch, maxLength int) (int, error) {
	n := 0
	for lo := 0; lo < len(recs); lo += batch {
		hi := min(lo+batch, len(recs))
		var pix *tensor.Tensor
		ids, mask := tensor.NewInt64(hi-lo, maxLength), tensor.NewInt64(hi-lo, maxLength)
		for i, r := range recs[lo:hi] {
			img, err := b.Images.Decode(r.Image)
			if err != nil {
				return n, err
			}
			c, h, w := b.Images.PixelShape(img.W, img.H)
			if pix == nil {
				pix = tensor.New(hi-lo, c, h, w)
			}
			b.Images.PixelValuesInto(pix.Data[i*c*h*w:(i+1)*c*h*w], img)
			enc, err := b.Tokenizer.Encode(r.Text, tokenizer.EncodeOptions{MaxLength: maxLength})
			if err != nil {
				return n, err
			}
			for j := range enc.IDs {
				ids.Data[i*maxLength+j], mask.Data[i*maxLength+j] = int64(enc.IDs[j]), int64(enc.AttentionMask[j])
			}
		}
		m := b.Model.Flava
		o, err := m.Forward(flava.ModelInput{PixelValues: pix, InputIDs: ids, AttentionMask: mask})
		if err != nil {
			return n, err
		}
		imgs := projectCLS(&m.ImageProjection, o.ImageEmbeddings)
		txts := projectCLS(&m.TextProjection, o.TextEmbeddings)
		if !finite(imgs[0], txts[0]) {
			return n, ErrNonFinite
		}
		n += hi - lo
	}
	return n, nil
}

// BenchmarkEmbedPipelineVsDirect runs Embed on prism and the same work as a
// direct loop over the model API (base-shape fixture: ViT geometry at 224×224
// with a small hidden size), on the same records, in one run. The pipeline's
// overhead is (direct rate / pipeline rate − 1).
func BenchmarkEmbedPipelineVsDirect(b *testing.B) {
	dir := fixtureModelDir(b, "base-shape")
	truncateVocab(b, dir, 2048) // base-shape's text vocabulary is 2048 ids
	opts := Options{Model: dir, BatchSize: 8}
	recs := benchRecordsOf(b)
	bundle, err := Shared(opts.ModelKey(), func() (*pretrained.Bundle, error) {
		o := opts.withDefaults()
		return pretrained.Load(context.Background(), o.Model, o.loadOptions())
	})
	if err != nil {
		b.Fatal(err)
	}
	// Interleaved, so that both see the same machine load: each iteration
	// runs the direct loop, then the pipeline, on the same records.
	var direct, pipe time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if n, err := directEmbed(bundle, recs, 8, DefaultMaxLength); err != nil || n != len(recs) {
			b.Fatal(n, err)
		}
		t1 := time.Now()
		p, s := beam.NewPipelineWithRoot()
		out, dead := Embed(s, beam.CreateList(s, recs), EmbedOptions{Options: opts})
		got, deads := collect[schemas.Embedding](s, out), collect[schemas.DeadLetter](s, dead)
		if err := ptest.Run(p); err != nil {
			b.Fatal(err)
		}
		direct, pipe = direct+t1.Sub(t0), pipe+time.Since(t1)
		if len(got()) != len(recs) || len(deads()) != 0 {
			b.Fatalf("%d outputs, %d dead letters", len(got()), len(deads()))
		}
	}
	records := float64(b.N * len(recs))
	b.ReportMetric(records/direct.Seconds(), "direct-records/s")
	b.ReportMetric(records/pipe.Seconds(), "pipeline-records/s")
	b.ReportMetric(100*(pipe.Seconds()/direct.Seconds()-1), "overhead-%")
}

// truncateVocab replaces dir's vocab.txt link by a copy of its first n
// lines (the fixture vocabulary is BERT's 30522 tokens).
func truncateVocab(tb testing.TB, dir string, n int) {
	path := filepath.Join(dir, "vocab.txt")
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.SplitAfterN(string(data), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	if err := os.Remove(path); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644); err != nil {
		tb.Fatal(err)
	}
}
