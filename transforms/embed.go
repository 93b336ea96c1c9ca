package transforms

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/flavabeam/flavabeam/schemas"
)

func init() {
	register.DoFn6x1[context.Context, beam.Window, beam.EventTime, Prepared,
		func(beam.EventTime, schemas.Embedding), func(beam.EventTime, schemas.DeadLetter), error](&embedFn{})
	register.Emitter2[beam.EventTime, schemas.Embedding]()
	register.Emitter2[beam.EventTime, schemas.DeadLetter]()
}

// Embed runs FLAVA's encoders over records (schemas.ImageText) and returns
// one schemas.Embedding per record and the dead letters of the rest: image
// retrieval vectors, text retrieval vectors (both unit-norm projected CLS,
// what the contrastive head compares) and the multimodal encoder's CLS
// vector, as opts asks (by default every vector the record's modalities
// allow). Composite of Preprocess, Tokenize and the embedding stage.
func Embed(s beam.Scope, records beam.PCollection, opts EmbedOptions) (out, dead beam.PCollection) {
	s = s.Scope("transforms.Embed")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	auto := !opts.Image && !opts.Text && !opts.Multimodal
	needPixels := auto || opts.Image || opts.Multimodal
	needText := auto || opts.Text || opts.Multimodal
	var deads []beam.PCollection
	var prepared beam.PCollection
	if needPixels {
		var d beam.PCollection
		prepared, d = Preprocess(s, records, PrepareOptions{Options: opts.Options, Pixels: true})
		deads = append(deads, d)
		if needText {
			prepared, d = Tokenize(s, prepared, opts.Options)
			deads = append(deads, d)
		}
	} else {
		var d beam.PCollection
		prepared, d = Tokenize(s, records, opts.Options)
		deads = append(deads, d)
	}
	out, d := embedStage(s, "transforms.Embed", prepared, opts)
	deads = append(deads, d)
	return out, beam.Flatten(s, deads...)
}

// EmbedImages computes image retrieval vectors of Prepared records (from
// Preprocess); records without an image are dead-lettered (missing_input).
func EmbedImages(s beam.Scope, prepared beam.PCollection, opts Options) (out, dead beam.PCollection) {
	s = s.Scope("transforms.EmbedImages")
	return embedStage(s, "transforms.EmbedImages", prepared, EmbedOptions{Options: opts, Image: true})
}

// EmbedTexts computes text retrieval vectors of Prepared records (from
// Tokenize); records without text are dead-lettered (missing_input).
func EmbedTexts(s beam.Scope, prepared beam.PCollection, opts Options) (out, dead beam.PCollection) {
	s = s.Scope("transforms.EmbedTexts")
	return embedStage(s, "transforms.EmbedTexts", prepared, EmbedOptions{Options: opts, Text: true})
}

// EmbedPairs computes the image, text and multimodal vectors of image–text
// Prepared records (from Preprocess then Tokenize) in one FlavaModel pass;
// records lacking either modality are dead-lettered (missing_input).
func EmbedPairs(s beam.Scope, prepared beam.PCollection, opts Options) (out, dead beam.PCollection) {
	s = s.Scope("transforms.EmbedPairs")
	return embedStage(s, "transforms.EmbedPairs", prepared, EmbedOptions{Options: opts, Image: true, Text: true, Multimodal: true})
}

func embedStage(s beam.Scope, stage string, prepared beam.PCollection, opts EmbedOptions) (out, dead beam.PCollection) {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	return beam.ParDo2(s, &embedFn{Opts: opts, Stage: stage}, prepared)
}

type embedFn struct {
	Opts  EmbedOptions
	Stage string
	h     *modelHandle
	e     *engine
}

func (f *embedFn) Setup(ctx context.Context) (err error) {
	if f.h, err = setupModel(ctx, f.Opts.Options); err != nil {
		return err
	}
	f.e = newEngine(f.Opts.Options, f.h.bundle)
	return nil
}

// kindFor picks the computation for p, or says what p lacks.
func (f *embedFn) kindFor(p *Prepared) (kind, error) {
	o := f.Opts
	if !o.Image && !o.Text && !o.Multimodal {
		switch {
		case p.HasImage() && p.HasText():
			return kindJoint, nil
		case p.HasImage():
			return kindImage, nil
		case p.HasText():
			return kindText, nil
		}
		return 0, fmt.Errorf("%w: record %q has neither an image nor text%s", ErrMissingInput, p.Record.ID, noText(p))
	}
	if (o.Image || o.Multimodal) && !p.HasImage() {
		return 0, fmt.Errorf("%w: record %q has no image", ErrMissingInput, p.Record.ID)
	}
	if (o.Text || o.Multimodal) && !p.HasText() {
		return 0, fmt.Errorf("%w: record %q has no text%s", ErrMissingInput, p.Record.ID, noText(p))
	}
	switch {
	case o.Multimodal:
		return kindJoint, nil
	case o.Image && o.Text:
		return kindDual, nil
	case o.Image:
		return kindImage, nil
	}
	return kindText, nil
}

func (f *embedFn) ProcessElement(ctx context.Context, w beam.Window, et beam.EventTime, p Prepared,
	emit func(beam.EventTime, schemas.Embedding), dead func(beam.EventTime, schemas.DeadLetter)) error {
	f.h.report(ctx)
	k, err := f.kindFor(&p)
	if err != nil {
		dead(et, deadLetter(ctx, f.Stage, &p.Record, err))
		return nil
	}
	f.emitAll(ctx, f.e.add(ctx, w, pendingJob{j: &job{p: &p}, k: k, et: et}), emit, dead)
	return nil
}

func (f *embedFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, schemas.Embedding), dead func(beam.EventTime, schemas.DeadLetter)) error {
	f.emitAll(ctx, f.e.finish(ctx), emit, dead)
	return nil
}

func (f *embedFn) emitAll(ctx context.Context, done []doneJob, emit func(beam.EventTime, schemas.Embedding), dead func(beam.EventTime, schemas.DeadLetter)) {
	auto := !f.Opts.Image && !f.Opts.Text && !f.Opts.Multimodal
	for i := range done {
		d := &done[i]
		record(ctx, d)
		rec := &d.j.p.Record
		if d.err != nil {
			dead(d.et, deadLetter(ctx, f.Stage, rec, d.err))
			continue
		}
		e := schemas.Embedding{ID: rec.ID, ModelID: f.h.bundle.ID, EventTime: rec.EventTime, Source: rec.Source}
		if auto || f.Opts.Image {
			e.ImageVector = d.r.image
		}
		if auto || f.Opts.Text {
			e.TextVector = d.r.text
		}
		if auto || f.Opts.Multimodal {
			e.MultimodalVector = d.r.multimodal
		}
		emit(d.et, e)
	}
}
