package transforms

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/tokenizer"
	"github.com/flavabeam/flavabeam/schemas"
)

func init() {
	register.DoFn6x1[context.Context, beam.Window, beam.EventTime, Prepared,
		func(beam.EventTime, schemas.Score), func(beam.EventTime, schemas.DeadLetter), error](&zeroShotFn{})
	register.DoFn7x1[context.Context, beam.Window, beam.EventTime, Prepared, func(*string) bool,
		func(beam.EventTime, schemas.Score), func(beam.EventTime, schemas.DeadLetter), error](&zeroShotSideFn{})
	register.Iter1[string]()
}

// ZeroShotClassify classifies the images of records (schemas.ImageText)
// among labels, CLIP-style: softmax over labels of exp(logit_scale)·cosine
// of the image vector and each label prompt's text vector. The result is a
// schemas.Score per record whose TopK holds the opts.TopK most probable
// labels. The candidates are the record's own Labels when set, else
// opts.Labels; a record with neither, or without an image, is dead-lettered
// (missing_input). Composite of Preprocess and ZeroShot.
func ZeroShotClassify(s beam.Scope, records beam.PCollection, opts ZeroShotOptions) (out, dead beam.PCollection) {
	s = s.Scope("transforms.ZeroShotClassify")
	prepared, d1 := Preprocess(s, records, PrepareOptions{Options: opts.Options, Pixels: true})
	out, d2 := ZeroShot(s, prepared, opts)
	return out, beam.Flatten(s, d1, d2)
}

// ZeroShot classifies Prepared records (from Preprocess); see
// ZeroShotClassify. With a labels side input (a PCollection of string) its
// labels — deduplicated and sorted, since a PCollection has no order —
// replace opts.Labels; a record's own Labels still override both.
//
// Label prompt vectors are computed once per worker process and label set:
// option and side-input label sets are cached in Shared, keyed by model,
// template, MaxLength and labels; per-record label sets in a bounded cache
// (the most recent 1024 sets).
func ZeroShot(s beam.Scope, prepared beam.PCollection, opts ZeroShotOptions, labels ...beam.PCollection) (out, dead beam.PCollection) {
	s = s.Scope("transforms.ZeroShot")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	switch len(labels) {
	case 0:
		return beam.ParDo2(s, &zeroShotFn{Opts: opts}, prepared)
	case 1:
		return beam.ParDo2(s, &zeroShotSideFn{Opts: opts}, prepared, beam.SideInput{Input: labels[0]})
	}
	panic(fmt.Sprintf("transforms.ZeroShot: at most one labels side input, got %d", len(labels)))
}

const stageZeroShot = "transforms.ZeroShot"

// zeroShot is the runtime shared by both DoFns.
type zeroShot struct {
	opts ZeroShotOptions
	h    *modelHandle
	e    *engine
}

func setupZeroShot(ctx context.Context, opts ZeroShotOptions) (*zeroShot, error) {
	h, err := setupModel(ctx, opts.Options)
	if err != nil {
		return nil, err
	}
	return &zeroShot{opts: opts.withDefaults(), h: h, e: newEngine(opts.Options, h.bundle)}, nil
}

// classifier returns the classifier of labels; fromRecord selects the
// bounded cache.
func (z *zeroShot) classifier(labels []string, fromRecord bool) (*flava.ZeroShotClassifier, error) {
	key := fmt.Sprintf("zeroshot|%s|%q|%d|%s", z.opts.ModelKey(), z.opts.Template, z.opts.MaxLength, strings.Join(labels, "\x00"))
	build := func() (*flava.ZeroShotClassifier, error) {
		b := z.h.bundle
		tok := func(texts []string) (flava.TextInput, error) {
			encs, err := b.Tokenizer.EncodeBatch(texts, nil, tokenizer.EncodeOptions{MaxLength: z.opts.MaxLength})
			if err != nil {
				return flava.TextInput{}, err
			}
			p := make([]*job, len(encs))
			for i, e := range encs {
				p[i] = &job{p: &Prepared{InputIDs: e.IDs, AttentionMask: e.AttentionMask}}
			}
			ids, mask := textBatch(p)
			return flava.TextInput{InputIDs: ids, AttentionMask: mask}, nil
		}
		return flava.NewZeroShotClassifier(labels, b.Scorer.TextVectorFunc(tok), b.Scorer.LogitScale(),
			flava.ZeroShotConfig{Template: z.opts.Template})
	}
	if fromRecord {
		return recordClassifiers.get(key, build)
	}
	return Shared(key, build)
}

// recordClassifiers caches the classifiers of per-record label sets, bounded
// so that a stream of distinct label sets cannot grow memory without limit.
var recordClassifiers = &boundedCache{max: 1024}

type boundedCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*flava.ZeroShotClassifier
}

func (c *boundedCache) get(key string, build func() (*flava.ZeroShotClassifier, error)) (*flava.ZeroShotClassifier, error) {
	c.mu.Lock()
	z, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return z, nil
	}
	z, err := build()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*flava.ZeroShotClassifier{}
	}
	for k := range c.m { // evict an arbitrary entry when full
		if len(c.m) < c.max {
			break
		}
		delete(c.m, k)
	}
	c.m[key] = z
	return z, nil
}

// start validates p, picks its labels and queues it.
func (z *zeroShot) start(ctx context.Context, w beam.Window, et beam.EventTime, p *Prepared, labels []string) ([]doneJob, error) {
	z.h.report(ctx)
	if !p.HasImage() {
		return nil, fmt.Errorf("%w: record %q has no image to classify", ErrMissingInput, p.Record.ID)
	}
	fromRecord := len(p.Record.Labels) > 0
	if fromRecord {
		labels = p.Record.Labels
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: record %q: no labels (record, options or side input)", ErrMissingInput, p.Record.ID)
	}
	c, err := z.classifier(labels, fromRecord)
	if err != nil {
		return nil, fmt.Errorf("%w: record %q: label prompts: %w", ErrModel, p.Record.ID, err)
	}
	return z.e.add(ctx, w, pendingJob{j: &job{p: p}, k: kindImage, et: et, extra: c}), nil
}

func (z *zeroShot) emitAll(ctx context.Context, done []doneJob, emit func(beam.EventTime, schemas.Score), dead func(beam.EventTime, schemas.DeadLetter)) {
	for i := range done {
		d := &done[i]
		record(ctx, d)
		rec := &d.j.p.Record
		if d.err != nil {
			dead(d.et, deadLetter(ctx, stageZeroShot, rec, d.err))
			continue
		}
		c := d.extra.(*flava.ZeroShotClassifier)
		probs, err := c.Probabilities([][]float32{d.r.image})
		if err == nil && !finite(probs[0]) {
			err = fmt.Errorf("%w: record %q: label probabilities", ErrNonFinite, rec.ID)
		}
		if err != nil {
			dead(d.et, deadLetter(ctx, stageZeroShot, rec, fmt.Errorf("%w: %w", ErrModel, err)))
			continue
		}
		top := c.TopK(probs[0], z.opts.TopK)
		sc := schemas.Score{ID: rec.ID, ModelID: z.h.bundle.ID, EventTime: rec.EventTime, Source: rec.Source,
			TopK: make([]schemas.LabelScore, len(top))}
		for j, t := range top {
			sc.TopK[j] = schemas.LabelScore{Label: t.Label, Probability: t.Probability}
		}
		emit(d.et, sc)
	}
}

type zeroShotFn struct {
	Opts ZeroShotOptions
	z    *zeroShot
}

func (f *zeroShotFn) Setup(ctx context.Context) (err error) {
	f.z, err = setupZeroShot(ctx, f.Opts)
	return err
}

func (f *zeroShotFn) ProcessElement(ctx context.Context, w beam.Window, et beam.EventTime, p Prepared,
	emit func(beam.EventTime, schemas.Score), dead func(beam.EventTime, schemas.DeadLetter)) error {
	done, err := f.z.start(ctx, w, et, &p, f.Opts.Labels)
	if err != nil {
		dead(et, deadLetter(ctx, stageZeroShot, &p.Record, err))
		return nil
	}
	f.z.emitAll(ctx, done, emit, dead)
	return nil
}

func (f *zeroShotFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, schemas.Score), dead func(beam.EventTime, schemas.DeadLetter)) error {
	f.z.emitAll(ctx, f.z.e.finish(ctx), emit, dead)
	return nil
}

type zeroShotSideFn struct {
	Opts ZeroShotOptions
	z    *zeroShot
}

func (f *zeroShotSideFn) Setup(ctx context.Context) (err error) {
	f.z, err = setupZeroShot(ctx, f.Opts)
	return err
}

func (f *zeroShotSideFn) ProcessElement(ctx context.Context, w beam.Window, et beam.EventTime, p Prepared, side func(*string) bool,
	emit func(beam.EventTime, schemas.Score), dead func(beam.EventTime, schemas.DeadLetter)) error {
	var labels []string
	seen := map[string]bool{}
	var l string
	for side(&l) {
		if !seen[l] && strings.TrimSpace(l) != "" {
			seen[l] = true
			labels = append(labels, l)
		}
	}
	sort.Strings(labels)
	if len(labels) == 0 {
		labels = f.Opts.Labels
	}
	done, err := f.z.start(ctx, w, et, &p, labels)
	if err != nil {
		dead(et, deadLetter(ctx, stageZeroShot, &p.Record, err))
		return nil
	}
	f.z.emitAll(ctx, done, emit, dead)
	return nil
}

// FinishBundle takes the side input because Beam requires every method of
// a DoFn with side inputs to declare them.
func (f *zeroShotSideFn) FinishBundle(ctx context.Context, _ func(*string) bool, emit func(beam.EventTime, schemas.Score), dead func(beam.EventTime, schemas.DeadLetter)) error {
	f.z.emitAll(ctx, f.z.e.finish(ctx), emit, dead)
	return nil
}
