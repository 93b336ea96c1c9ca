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
		func(beam.EventTime, schemas.MIMLabel), func(beam.EventTime, schemas.DeadLetter), error](&mimFn{})
	register.Emitter2[beam.EventTime, schemas.MIMLabel]()
}

// LabelMIM computes masked-image-modelling targets for the images of records
// (schemas.ImageText): the image codebook's visual token per patch and a
// BEiT block mask seeded by MaskSeed(record ID), so reruns give the same
// labels. The image codebook is Options.CodebookSource when set (replacing
// the checkpoint's own), else the checkpoint's own, else
// facebook/flava-image-codebook (from the Hub cache, downloaded into it once
// unless Offline); Setup fails when none can be loaded. Each label's ModelID
// names the codebook that produced it. Records without an image are
// dead-lettered (missing_input). Composite of Preprocess (codebook pixels
// only) and the labelling stage.
func LabelMIM(s beam.Scope, records beam.PCollection, opts Options) (out, dead beam.PCollection) {
	s = s.Scope("transforms.LabelMIM")
	opts.NeedCodebook = true
	prepared, d1 := Preprocess(s, records, PrepareOptions{Options: opts, Codebook: true})
	out, d2 := LabelMIMPrepared(s, prepared, opts)
	return out, beam.Flatten(s, d1, d2)
}

// LabelMIMPrepared labels Prepared records carrying codebook pixels (from
// Preprocess with PrepareOptions.Codebook); see LabelMIM.
func LabelMIMPrepared(s beam.Scope, prepared beam.PCollection, opts Options) (out, dead beam.PCollection) {
	s = s.Scope("transforms.LabelMIMPrepared")
	opts.NeedCodebook = true
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	return beam.ParDo2(s, &mimFn{Opts: opts}, prepared)
}

const stageMIM = "transforms.LabelMIM"

type mimFn struct {
	Opts Options
	h    *modelHandle
	e    *engine
}

func (f *mimFn) Setup(ctx context.Context) (err error) {
	if f.h, err = setupModel(ctx, f.Opts); err != nil {
		return err
	}
	if f.h.bundle.Codebook() == nil { // pretrained.Options.NeedCodebook makes the load fail first
		return fmt.Errorf("transforms: model %q has no image codebook", f.h.bundle.ID)
	}
	f.e = newEngine(f.Opts, f.h.bundle)
	return nil
}

func (f *mimFn) ProcessElement(ctx context.Context, w beam.Window, et beam.EventTime, p Prepared,
	emit func(beam.EventTime, schemas.MIMLabel), dead func(beam.EventTime, schemas.DeadLetter)) error {
	f.h.report(ctx)
	if len(p.CodebookPixels) == 0 {
		err := fmt.Errorf("%w: record %q has no image to label", ErrMissingInput, p.Record.ID)
		dead(et, deadLetter(ctx, stageMIM, &p.Record, err))
		return nil
	}
	f.emitAll(ctx, f.e.add(ctx, w, pendingJob{j: &job{p: &p}, k: kindMIM, et: et}), emit, dead)
	return nil
}

func (f *mimFn) FinishBundle(ctx context.Context, emit func(beam.EventTime, schemas.MIMLabel), dead func(beam.EventTime, schemas.DeadLetter)) error {
	f.emitAll(ctx, f.e.finish(ctx), emit, dead)
	return nil
}

func (f *mimFn) emitAll(ctx context.Context, done []doneJob, emit func(beam.EventTime, schemas.MIMLabel), dead func(beam.EventTime, schemas.DeadLetter)) {
	for i := range done {
		d := &done[i]
		record(ctx, d)
		rec := &d.j.p.Record
		if d.err != nil {
			dead(d.et, deadLetter(ctx, stageMIM, rec, d.err))
			continue
		}
		shape := d.j.p.CodebookShape
		// ModelID: the codebook that labelled it (the checkpoint's ID for
		// its own codebook), as the schema says.
		m := schemas.MIMLabel{ID: rec.ID, ModelID: f.h.bundle.CodebookID, GridH: int32(shape[1] / 8), GridW: int32(shape[2] / 8),
			MaskSeed: d.r.maskSeed, EventTime: rec.EventTime, Source: rec.Source}
		m.CodebookIDs = make([]int32, len(d.r.mim.TokenIDs))
		for j, id := range d.r.mim.TokenIDs {
			m.CodebookIDs[j] = int32(id)
		}
		m.MaskedPositions = make([]int32, 0, len(d.r.mim.Mask))
		for j, on := range d.r.mim.Mask {
			if on {
				m.MaskedPositions = append(m.MaskedPositions, int32(j))
			}
		}
		emit(d.et, m)
	}
}
