package transforms

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/schemas"
)

func TestDeadLettersCarryReasonStageAndPayload(t *testing.T) {
	opts := Options{BatchSize: 4, MaxLength: 16} // tiny-random
	corrupt := append([]byte("\x89PNG\r\n\x1a\n"), []byte("not really a png at all")...)
	recs := []schemas.ImageText{
		{ID: "good", Image: pngBytes(t, 50, 40, 1), Text: "a dog in the snow"},
		{ID: "corrupt", Image: corrupt, Text: "a dog"},
		{ID: "huge", Image: hugePNG(t, 100_000, 100_000)},
		{ID: "blank", Text: " \t\n "},
		{ID: "badutf", Text: "caf\xe9 au lait"},
		{ID: "nothing"},
		{ID: "nofile", ImageURI: "/nonexistent/flavabeam/image.png"},
	}
	imageOnly := []schemas.ImageText{{ID: "imgonly", Image: pngBytes(t, 30, 30, 2)}}
	textOnly := []schemas.ImageText{{ID: "textonly", Text: "a cat"}}
	want := map[string]struct{ reason, stage string }{
		"corrupt":  {schemas.ReasonDecode, stagePreprocess},
		"huge":     {schemas.ReasonTooLarge, stagePreprocess},
		"blank":    {schemas.ReasonMissingInput, "transforms.Embed"},
		"badutf":   {schemas.ReasonInvalidText, stagePreprocess},
		"nothing":  {schemas.ReasonMissingInput, stagePreprocess},
		"nofile":   {schemas.ReasonRead, stagePreprocess},
		"imgonly":  {schemas.ReasonMissingInput, "transforms.Embed"},
		"textonly": {schemas.ReasonMissingInput, stageScore},
	}
	p, s := beam.NewPipelineWithRoot()
	out, dead1 := Embed(s, beam.CreateList(s, recs), EmbedOptions{Options: opts})
	_, dead2 := Embed(s, beam.CreateList(s, imageOnly), EmbedOptions{Options: opts, Text: true})
	_, dead3 := ScorePairs(s, beam.CreateList(s, textOnly), opts)
	got := collect[schemas.Embedding](s, out)
	deads := collect[schemas.DeadLetter](s, beam.Flatten(s, dead1, dead2, dead3))
	pr, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	if e := got(); len(e) != 1 || e[0].ID != "good" {
		t.Fatalf("outputs %v, want only the good record", e)
	}
	dl := deadByID(deads())
	if len(dl) != len(want) {
		t.Errorf("dead letters %q, want %d", brief(deads()), len(want))
	}
	all := append(append(append([]schemas.ImageText(nil), recs...), imageOnly...), textOnly...)
	records := byID(all, func(r schemas.ImageText) string { return r.ID })
	for id, w := range want {
		d, ok := dl[id]
		if !ok {
			t.Errorf("%s: not dead-lettered", id)
			continue
		}
		if d.Reason != w.reason || d.Stage != w.stage || d.Message == "" || d.Time.IsZero() {
			t.Errorf("%s: reason %q stage %q message %q, want %q at %q", id, d.Reason, d.Stage, d.Message, w.reason, w.stage)
		}
		if id == "badutf" || id == "nothing" { // the codec refuses these; plain JSON instead
			if !strings.Contains(string(d.Payload), `"id":"`+id+`"`) {
				t.Errorf("%s: payload %s does not carry the record", id, d.Payload)
			}
			continue
		}
		back, err := schemas.CodecJSON.DecodeImageText(nil, d.Payload, nil)
		if err != nil {
			t.Errorf("%s: payload does not decode: %v", id, err)
		} else if r := records[id]; back.ID != r.ID || back.Text != r.Text || string(back.Image) != string(r.Image) || back.ImageURI != r.ImageURI {
			t.Errorf("%s: payload holds %+v", id, back)
		}
	}
	counters, _ := metricsOf(pr)
	perReason := map[string]int64{}
	for _, w := range want {
		perReason[w.reason]++
	}
	for reason, n := range perReason {
		if got := counters[MetricDeadLetterPrefix+reason]; got != n {
			t.Errorf("counter %s = %d, want %d", MetricDeadLetterPrefix+reason, got, n)
		}
	}
	if counters[MetricDeadLetters] != int64(len(want)) {
		t.Errorf("counter %s = %d, want %d", MetricDeadLetters, counters[MetricDeadLetters], len(want))
	}
}

// A model whose word embedding of "cat" is NaN and whose text vocabulary
// check stops below the last word: a batch holding both bad records fails,
// is retried record by record, and only the bad records are dead-lettered
// (non_finite_output and model_error); the good ones come out unchanged.
func TestBadRecordsDoNotFailTheirBatch(t *testing.T) {
	opts := Options{BatchSize: 4, MaxWait: time.Second, MaxLength: 16, MaxPixels: 77_777_777} // own Shared key
	key := opts.ModelKey()
	t.Cleanup(func() { Forget(key) })
	vocab := pretrained.TinyVocab()
	lastWord := vocab[len(vocab)-1]
	if _, err := Shared(key, func() (*pretrained.Bundle, error) {
		b, err := pretrained.Load(context.Background(), pretrained.TinyRandom, pretrained.Options{})
		if err != nil {
			return nil, err
		}
		tm := b.Model.Flava.TextModel
		cat, ok := b.Tokenizer.TokenID("cat")
		if !ok {
			t.Fatal("cat is not in the tiny vocabulary")
		}
		h := tm.Embeddings.WordEmbeddings.Weight.Shape[1]
		row := tm.Embeddings.WordEmbeddings.Weight.Data[int(cat)*h : int(cat+1)*h]
		for i := range row {
			row[i] = float32(math.NaN())
		}
		tm.Config.VocabSize = len(vocab) - 1 // the last word is now out of range
		return b, nil
	}); err != nil {
		t.Fatal(err)
	}
	recs := []schemas.ImageText{
		{ID: "ok1", Text: "a dog in the snow"},
		{ID: "nan", Text: "a cat"},
		{ID: "bad", Text: "a " + lastWord},
		{ID: "ok2", Text: "two people"},
	}
	p, s := beam.NewPipelineWithRoot()
	out, dead := Embed(s, beam.CreateList(s, recs), EmbedOptions{Options: opts, Text: true})
	got, deads := collect[schemas.Embedding](s, out), collect[schemas.DeadLetter](s, dead)
	pr, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	dl := deadByID(deads())
	if dl["nan"].Reason != schemas.ReasonNonFinite || dl["bad"].Reason != schemas.ReasonModel || len(dl) != 2 {
		t.Fatalf("dead letters %q, want nan: %s and bad: %s", brief(deads()), schemas.ReasonNonFinite, schemas.ReasonModel)
	}
	clean := loadDirect(t, Options{})
	embs := byID(got(), func(e schemas.Embedding) string { return e.ID })
	for _, id := range []string{"ok1", "ok2"} {
		r := byID(recs, func(r schemas.ImageText) string { return r.ID })[id]
		want := directFor(t, clean, r, 16)
		if d := maxDiff(embs[id].TextVector, want.text); d > tol {
			t.Errorf("%s: text vector differs from the clean model by %g", id, d)
		}
	}
	counters, dists := metricsOf(pr)
	if counters[MetricFailedBatches] < 1 {
		t.Errorf("%s = %d, want the failed batch counted", MetricFailedBatches, counters[MetricFailedBatches])
	}
	if counters[MetricNumInferences] != 4 {
		t.Errorf("%s = %d, want 4", MetricNumInferences, counters[MetricNumInferences])
	}
	if d := dists[MetricBatchSize]; d.Count == 0 || d.Sum != 4 {
		t.Errorf("%s = %+v, want batches totalling 4 records", MetricBatchSize, d)
	}
}

func TestTokenizeEmptyAndInvalidText(t *testing.T) {
	h, err := setupModel(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text string
		want string
	}{{"a dog", ""}, {"", ""}, {"   ", ""}, {"\t\n", ""}, {"\x00\x01", ""}, {"\u200b\u3000", ""}, {"\xff", schemas.ReasonInvalidText}} {
		p := Prepared{Record: schemas.ImageText{ID: "x", Text: c.text}}
		err := tokenizeInto(context.Background(), h, 16, &p)
		if got := reasonOf(err); got != c.want {
			t.Errorf("text %q: reason %q (%v), want %q", c.text, got, err, c.want)
		}
		// Texts BertTokenizer turns into [CLS] [SEP] alone, as it does "",
		// count as no text.
		if err == nil && (c.text == "a dog") != (p.InputIDs != nil) {
			t.Errorf("text %q: ids %v", c.text, p.InputIDs)
		}
	}
}

// TestTextWithoutTokensIsNoText: an image with a whitespace-only text is
// embedded exactly as the image with "" (image vector only), and a text-only
// record whose text has no tokens is dead-lettered missing_input saying so.
func TestTextWithoutTokensIsNoText(t *testing.T) {
	opts := Options{MaxLength: 16}
	img := pngBytes(t, 40, 30, 3)
	recs := []schemas.ImageText{
		{ID: "empty", Image: img}, {ID: "spaces", Image: img, Text: "   "},
		{ID: "controls", Image: img, Text: "\t\x00\n"}, {ID: "blank", Text: " \t "},
	}
	p, s := beam.NewPipelineWithRoot()
	out, dead := Embed(s, beam.CreateList(s, recs), EmbedOptions{Options: opts})
	got, deads := collect[schemas.Embedding](s, out), collect[schemas.DeadLetter](s, dead)
	if _, err := ptest.RunWithMetrics(p); err != nil {
		t.Fatal(err)
	}
	e := byID(got(), func(e schemas.Embedding) string { return e.ID })
	if len(e) != 3 {
		t.Fatalf("embeddings %v, want empty, spaces and controls", e)
	}
	for _, id := range []string{"spaces", "controls"} {
		if len(e[id].TextVector) != 0 || len(e[id].MultimodalVector) != 0 || fmt.Sprint(e[id].ImageVector) != fmt.Sprint(e["empty"].ImageVector) {
			t.Errorf("%s: not the image-only embedding of the record with text \"\"", id)
		}
	}
	d := deads()
	if len(d) != 1 || d[0].ID != "blank" || d[0].Reason != schemas.ReasonMissingInput || !strings.Contains(d[0].Message, "has no tokens") {
		t.Errorf("dead letters %+v, want blank as missing_input saying its text has no tokens", d)
	}
}
