package transforms

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/schemas"
)

func init() {
	register.DoFn6x1[context.Context, beam.Window, beam.EventTime, Prepared,
		func(beam.EventTime, schemas.Score), func(beam.EventTime, schemas.DeadLetter), error](&scoreFn{})
	register.Emitter2[beam.EventTime, schemas.Score]()
}

// ScorePairs scores image–text records (schemas.ImageText): contrastive
// similarity and logit of the pair and, when the checkpoint has
// FlavaForPreTraining's itm_head, the image–text matching probability (else
// nil: null in the outputs). Records lacking the image or the text are dead-lettered
// (missing_input). Composite of Preprocess, Tokenize and Score.
func ScorePairs(s beam.Scope, records beam.PCollection, opts Options) (out, dead beam.PCollection) {
	s = s.Scope("transforms.ScorePairs")
	prepared, d1 := Preprocess(s, records, PrepareOptions{Options: opts, Pixels: true})
	tokenized, d2 := Tokenize(s, prepared, opts)
	out, d3 := Score(s, tokenized, opts)
	return out, beam.Flatten(s, d1, d2, d3)
}

// Score scores Prepared image–text records (from Preprocess then Tokenize)
// in one FlavaModel pass per batch; see ScorePairs.
func Score(s beam.Scope, prepared beam.PCollection, opts Options) (out, dead beam.PCollection) {
	s = s.Scope("transforms.Score")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	return beam.ParDo2(s, &scoreFn{Opts: opts}, prepared)
}

const stageScore = "transforms.Score"

type scoreFn struct {
	Opts Options
	h    *modelHandle
	e    *engine
}

func (f *scoreFn) Setup(ctx context.Context) (err error) {
	if f.h, err = setupModel(ctx, f.Opts); err != nil {
		return err
	}
	f.e = newEngine(f.Opts, f.h.bundle)
	return nil
}

func (f *scoreFn) ProcessElement(ctx context.Context, w beam.Window, et beam.EventTime, p Prepared,
	emit func(beam.EventTime, schemas.Score), dead func(beam.EventTime, schemas.DeadLetter)) error {
	f.h.report(ctx)
	if !p.HasImage() || !p.HasText() {
		err := fmt.Errorf("%w: record %q needs an image and a text to be scored%s", ErrMissingInput, p.Record.ID, noText(&p))
		dead(et, deadLetter(ctx, stageScore, &p.Record, err))
		return nil
	}
	k := kindDual
	if f.h.bundle.Model.ITMHead != nil {
		k = kindJoint
	}
	f.emitAll(ctx, f.e.add(ctx, w, pendingJob{j: &job{p: &p}, k: k, et: et}), emit, dead)
	return nil
}

func (f *scoreFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, schemas.Score), dead func(beam.EventTime, schemas.DeadLetter)) error {
	f.emitAll(ctx, f.e.finish(ctx), emit, dead)
	return nil
}

func (f *scoreFn) emitAll(ctx context.Context, done []doneJob, emit func(beam.EventTime, schemas.Score), dead func(beam.EventTime, schemas.DeadLetter)) {
	logitScale := f.h.bundle.Model.Flava.LogitScale.Data[0]
	for i := range done {
		d := &done[i]
		record(ctx, d)
		rec := &d.j.p.Record
		if d.err != nil {
			dead(d.et, deadLetter(ctx, stageScore, rec, d.err))
			continue
		}
		sim, err := flava.Similarity([][]float32{d.r.image}, [][]float32{d.r.text})
		if err != nil {
			dead(d.et, deadLetter(ctx, stageScore, rec, fmt.Errorf("%w: %w", ErrModel, err)))
			continue
		}
		dim := len(d.r.image)
		logit, _ := flava.ContrastiveLogits(d.r.image, d.r.text, 1, 1, dim, logitScale)
		sc := schemas.Score{ID: rec.ID, ModelID: f.h.bundle.ID, ContrastiveSimilarity: schemas.Float(sim[0][0]),
			ContrastiveLogit: schemas.Float(logit[0]), EventTime: rec.EventTime, Source: rec.Source}
		if d.k == kindJoint { // the checkpoint has itm_head
			sc.ITMProbability = schemas.Float(d.r.itm)
		}
		if !finite([]float32{sim[0][0], logit[0]}) {
			dead(d.et, deadLetter(ctx, stageScore, rec, fmt.Errorf("%w: record %q: score", ErrNonFinite, rec.ID)))
			continue
		}
		emit(d.et, sc)
	}
}
