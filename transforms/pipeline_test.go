package transforms

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/vet"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/flavabeam/flavabeam/schemas"
)

func init() {
	register.Function1x2(withEventTime)
}

// withEventTime stamps a record with its EventTime.
func withEventTime(r schemas.ImageText) (beam.EventTime, schemas.ImageText) {
	return beam.EventTime(r.EventTime.UnixMilli()), r
}

func TestOptionsValidateNamesTheField(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero Options: %v", err)
	}
	for field, o := range map[string]Options{
		"BatchSize": {BatchSize: -1}, "QueueSize": {QueueSize: -2}, "Threads": {Threads: -1},
		"MaxLength": {MaxLength: 2}, "MaxPixels": {MaxPixels: -5}, "MaxPixelsPerByte": {MaxPixelsPerByte: -1}, "MaxDecodeBytes": {MaxDecodeBytes: -1}, "Precision": {Precision: "fp16"},
	} {
		err := o.Validate()
		if !errors.Is(err, ErrOptions) || !contains(err.Error(), "Options."+field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if err := (ZeroShotOptions{Template: "no placeholder"}).Validate(); err == nil || !contains(err.Error(), "Template") {
		t.Errorf("template without {}: %v", err)
	}
	if err := (ZeroShotOptions{Labels: []string{"dog", " "}}).Validate(); err == nil || !contains(err.Error(), "Labels[1]") {
		t.Errorf("blank label: %v", err)
	}
	d := Options{}.withDefaults()
	if d.Model != DefaultModel || d.BatchSize != 8 || d.MaxWait != DefaultMaxWait || d.QueueSize != 32 || d.MaxLength != 77 {
		t.Errorf("defaults %+v", d)
	}
	// Options travel in the pipeline as JSON.
	in := ZeroShotOptions{Options: Options{Model: "facebook/flava-full", BatchSize: 16, MaxWait: 7 * time.Millisecond, Offline: true}, Labels: []string{"a"}, TopK: 2}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out ZeroShotOptions
	if err := json.Unmarshal(b, &out); err != nil || out.Model != in.Model || out.MaxWait != in.MaxWait || out.Labels[0] != "a" || out.TopK != 2 || !out.Offline {
		t.Errorf("JSON round trip: %s → %+v, %v", b, out, err)
	}
}

func contains(s, sub string) bool { return len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// Every transform's DoFns, types and emitters are registered: the vet
// runner finds nothing that needs reflection.
func TestEveryTransformIsRegistered(t *testing.T) {
	opts := Options{}
	p, s := beam.NewPipelineWithRoot()
	recs := beam.CreateList(s, []schemas.ImageText{{ID: "x", Text: "a dog"}})
	Embed(s, recs, EmbedOptions{Options: opts})
	Embed(s, recs, EmbedOptions{Options: opts, Text: true})
	prepared, _ := Preprocess(s, recs, PrepareOptions{Options: opts, Pixels: true, Codebook: true})
	tokenized, _ := Tokenize(s, prepared, opts)
	Tokenize(s, recs, opts)
	EmbedImages(s, prepared, opts)
	EmbedTexts(s, tokenized, opts)
	EmbedPairs(s, tokenized, opts)
	Score(s, tokenized, opts)
	ScorePairs(s, recs, opts)
	ZeroShotClassify(s, recs, ZeroShotOptions{Options: opts, Labels: []string{"dog"}})
	ZeroShot(s, prepared, ZeroShotOptions{Options: opts}, beam.CreateList(s, []string{"dog"}))
	LabelMIM(s, recs, opts)
	LabelMIMPrepared(s, prepared, opts)
	e, err := vet.Evaluate(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Performant() {
		_, err := vet.Execute(context.Background(), p)
		t.Fatalf("registrations missing: %v", err)
	}
}

// One Bundle per process: a pipeline with every model stage, many records
// and small batches loads the model once.
func TestModelLoadsOncePerProcess(t *testing.T) {
	opts := Options{Model: tinyModelDir(t), BatchSize: 2, MaxLength: 16}
	key := opts.ModelKey()
	t.Cleanup(func() { Forget(key) })
	recs := pairRecords(t, 24)
	p, s := beam.NewPipelineWithRoot()
	col := beam.CreateList(s, recs)
	e, _ := Embed(s, col, EmbedOptions{Options: opts})
	sc, _ := ScorePairs(s, col, opts)
	z, _ := ZeroShotClassify(s, col, ZeroShotOptions{Options: opts, Labels: []string{"dog", "cat"}})
	m, _ := LabelMIM(s, col, opts)
	ne, ns, nz, nm := collect[schemas.Embedding](s, e), collect[schemas.Score](s, sc), collect[schemas.Score](s, z), collect[schemas.MIMLabel](s, m)
	pr, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ne()) != 24 || len(ns()) != 24 || len(nz()) != 24 || len(nm()) != 24 {
		t.Fatalf("outputs %d %d %d %d, want 24 each", len(ne()), len(ns()), len(nz()), len(nm()))
	}
	if n := SharedLoads(key); n != 1 {
		t.Fatalf("model loaded %d times, want once", n)
	}
	counters, dists := metricsOf(pr)
	if d := dists[MetricLoadLatency]; d.Count != 1 {
		t.Errorf("%s count %d, want 1 load", MetricLoadLatency, d.Count)
	}
	if d := dists[MetricModelBytes]; d.Count != 1 || d.Max <= 0 {
		t.Errorf("%s = %+v", MetricModelBytes, d)
	}
	if counters[MetricNumInferences] != 4*24 {
		t.Errorf("%s = %d, want %d", MetricNumInferences, counters[MetricNumInferences], 4*24)
	}
	if d := dists[MetricBatchSize]; d.Sum != 4*24 || d.Max > 2 {
		t.Errorf("%s = %+v, want batches of at most 2 summing to %d", MetricBatchSize, d, 4*24)
	}
	for _, name := range []string{MetricBatchLatency, MetricQueueWait, MetricDecodeLatency, MetricResizeLatency, MetricTokenizeLatency, MetricEncodeLatency} {
		if dists[name].Count == 0 {
			t.Errorf("distribution %s not reported", name)
		}
	}
	t.Logf("batch sizes %+v, queue wait µs %+v", dists[MetricBatchSize], dists[MetricQueueWait])
}

// Records in fixed windows are submitted one by one and emitted from
// ProcessElement: outputs keep their windows and timestamps.
func TestFixedWindowsKeepWindowsAndTimestamps(t *testing.T) {
	// MaxWait is long: a record of a lone bundle must not wait for it.
	opts := Options{BatchSize: 4, MaxWait: 30 * time.Second, MaxLength: 16}
	recs := mixedRecords(t, 9)
	recs = append(recs, pairRecords(t, 3)...)
	for i := range recs {
		recs[i].EventTime = time.Unix(1_700_000_000+int64(7*i), 0).UTC()
	}
	p, s := beam.NewPipelineWithRoot()
	stamped := beam.ParDo(s, withEventTime, beam.CreateList(s, recs))
	windowed := beam.WindowInto(s, window.NewFixedWindows(20*time.Second), stamped)
	emb, d1 := Embed(s, windowed, EmbedOptions{Options: opts})
	sc, d2 := ScorePairs(s, beam.ParDo(s, keepPairs, windowed), opts)
	in, out := collectStamps(s, windowed), collectStamps(s, emb)
	pairsIn, pairsOut := collectStamps(s, beam.ParDo(s, keepPairs, windowed)), collectStamps(s, sc)
	deads := collect[schemas.DeadLetter](s, beam.Flatten(s, d1, d2))
	start := time.Now()
	pr, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("the windowed pipeline took %v: records waited out MaxWait", d)
	}
	if d := deads(); len(d) != 0 {
		t.Fatalf("dead letters: %q", brief(d))
	}
	if a, b := in(), out(); !slices.Equal(a, b) || len(a) != len(recs) {
		t.Errorf("Embed changed windows or timestamps:\n in  %q\n out %q", a, b)
	}
	if a, b := pairsIn(), pairsOut(); !slices.Equal(a, b) || len(a) == 0 {
		t.Errorf("ScorePairs changed windows or timestamps:\n in  %q\n out %q", a, b)
	}
	_, dists := metricsOf(pr)
	t.Logf("windowed: batch sizes %+v", dists[MetricBatchSize])
}

func init() { register.Function2x0(keepPairs) }

func keepPairs(r schemas.ImageText, emit func(schemas.ImageText)) {
	if len(r.Image) > 0 && r.Text != "" {
		emit(r)
	}
}

// Records of non-global windows are submitted one by one; concurrent
// one-record bundles share batches, so batches are larger than bundles, and
// the queue is bounded by QueueSize.
func TestConcurrentBundlesShareBatches(t *testing.T) {
	opts := Options{BatchSize: 8, MaxWait: 500 * time.Millisecond, QueueSize: 8, MaxLength: 16, MaxPixels: 66_666_666}
	t.Cleanup(func() { Forget(opts.ModelKey()) })
	ctx := context.Background()
	h, err := setupModel(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"a dog", "a cat on a sofa", "two people", "a red car"}
	const n = 16
	recs := make([]Prepared, n)
	for i := range recs {
		recs[i] = Prepared{Record: schemas.ImageText{ID: string(rune('A' + i)), Text: texts[i%len(texts)]}}
		if err := tokenizeInto(ctx, h, 16, &recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	w := window.IntervalWindow{Start: 0, End: 20_000}
	var _ typex.Window = w
	done := make([]doneJob, n)
	engines := make([]*engine, n)
	for i := range engines { // n concurrent bundles, each entered as a producer
		engines[i] = newEngine(opts, h.bundle)
		engines[i].batcher(ctx, kindText)
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { // one DoFn instance, one one-record bundle
			defer wg.Done()
			d := engines[i].add(ctx, w, pendingJob{j: &job{p: &recs[i]}, k: kindText})
			engines[i].finish(ctx)
			if len(d) != 1 {
				t.Errorf("bundle %d: %d results, want its record at once", i, len(d))
				return
			}
			done[i] = d[0]
		}(i)
	}
	wg.Wait()
	total, biggest := 0, 0
	for i, d := range done {
		if d.err != nil {
			t.Fatalf("record %d: %v", i, d.err)
		}
		if d.r.first {
			total += d.r.batchSize
		}
		biggest = max(biggest, d.r.batchSize)
		want := directFor(t, h.bundle, recs[i].Record, 16)
		if diff := maxDiff(d.r.text, want.text); diff > tol {
			t.Errorf("record %d: batched vector differs by %g", i, diff)
		}
	}
	if total != n || biggest < 2 || biggest > opts.BatchSize {
		t.Fatalf("batches total %d (want %d), largest %d (want 2..%d)", total, n, biggest, opts.BatchSize)
	}
	if c := cap(batcherFor(opts, h.bundle, kindText).queue); c != opts.QueueSize {
		t.Fatalf("queue capacity %d, want QueueSize %d", c, opts.QueueSize)
	}
	t.Logf("16 one-record bundles ran in batches of up to %d", biggest)
}
