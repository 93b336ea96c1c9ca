package transforms

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// kind is one model computation; every batch holds one kind.
type kind uint8

const (
	kindImage kind = iota // image retrieval vectors
	kindText              // text retrieval vectors
	kindDual              // image + text vectors in one FlavaModel pass, no multimodal encoder
	kindJoint             // image + text + multimodal CLS (+ ITM probability when the model has the head)
	kindMIM               // codebook tokens + block mask
	numKinds
)

var kindNames = [numKinds]string{"image", "text", "dual", "joint", "mim"}

func (k kind) String() string { return kindNames[k] }

// job is one record submitted to a batcher.
type job struct {
	p         *Prepared
	submitted time.Time
}

// result is what the model computed for one job, plus the statistics of the
// batch it ran in (reported by the submitter of the batch's first job, so
// each batch is counted once whichever bundles shared it).
type result struct {
	image, text, multimodal []float32
	itm                     float32
	hasITM                  bool
	mim                     *flava.MIMLabel
	maskSeed                uint64
	err                     error

	queueWait    time.Duration
	first        bool // this job reports the batch metrics
	batchSize    int
	batchLatency time.Duration
	encode       time.Duration
	batchFailed  bool
}

type modelBatcher = Batcher[*job, result]

// batcherFor returns the process-wide batcher of (model, kind, batching
// options): every DoFn instance and bundle of the process submits to it.
func batcherFor(opts Options, b *pretrained.Bundle, k kind) *modelBatcher {
	o := opts.withDefaults()
	key := fmt.Sprintf("batcher|%s|%s|%d|%s|%d", o.ModelKey(), k, o.BatchSize, o.MaxWait, o.QueueSize)
	bt, _ := Shared(key, func() (*modelBatcher, error) {
		return NewBatcher(o.batcherOptions(), func(jobs []*job) ([]result, error) {
			return runBatch(b, k, jobs), nil
		}, nil), nil
	})
	return bt
}

// runBatch runs one batch. It never fails as a whole: when the model call
// fails for the batch, every job is retried alone so the error lands on the
// bad record only; every output is checked for NaN/Inf.
func runBatch(b *pretrained.Bundle, k kind, jobs []*job) []result {
	start := time.Now()
	res := make([]result, len(jobs))
	failed := false
	// Images of different output sizes cannot share a tensor: group by shape.
	for _, group := range groupByShape(k, jobs) {
		sub := make([]*job, len(group))
		for i, j := range group {
			sub[i] = jobs[j]
		}
		out, err := callKind(b, k, sub)
		if err != nil && len(sub) > 1 {
			failed = true
			for i, j := range group {
				one, err1 := callKind(b, k, sub[i:i+1])
				if err1 != nil {
					res[j].err = fmt.Errorf("%w: record %q: %w", ErrModel, jobs[j].p.Record.ID, err1)
				} else {
					res[j] = one[0]
				}
			}
			continue
		}
		for i, j := range group {
			if err != nil {
				res[j].err = fmt.Errorf("%w: record %q: %w", ErrModel, jobs[j].p.Record.ID, err)
			} else {
				res[j] = out[i]
			}
		}
	}
	encode := time.Since(start)
	for i := range res {
		r := &res[i]
		if r.err == nil && !finite(r.image, r.text, r.multimodal, []float32{r.itm}) {
			r.err = fmt.Errorf("%w: record %q (%s)", ErrNonFinite, jobs[i].p.Record.ID, k)
		}
		r.queueWait = start.Sub(jobs[i].submitted)
		r.batchSize, r.batchLatency, r.encode, r.batchFailed = len(jobs), time.Since(start), encode, failed
	}
	res[0].first = true
	return res
}

// groupByShape returns job indexes grouped by input shape, in order.
func groupByShape(k kind, jobs []*job) [][]int {
	var keys []string
	groups := map[string][]int{}
	for i, j := range jobs {
		var key string
		switch k {
		case kindMIM:
			key = fmt.Sprint(j.p.CodebookShape)
		case kindText:
			key = fmt.Sprint(len(j.p.InputIDs))
		case kindImage:
			key = fmt.Sprint(j.p.PixelShape)
		default:
			key = fmt.Sprint(j.p.PixelShape, len(j.p.InputIDs))
		}
		if _, ok := groups[key]; !ok {
			keys = append(keys, key)
		}
		groups[key] = append(groups[key], i)
	}
	out := make([][]int, len(keys))
	for i, key := range keys {
		out[i] = groups[key]
	}
	return out
}

// callKind runs the model on jobs of equal shapes, turning a panic into an
// error (a model bug fails the batch, not the worker).
func callKind(b *pretrained.Bundle, k kind, jobs []*job) (out []result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("model panicked: %v", p)
		}
	}()
	switch k {
	case kindImage:
		vecs, err := b.Scorer.ImageVectors(flava.ImageInput{PixelValues: pixelBatch(jobs)})
		if err != nil {
			return nil, err
		}
		out = make([]result, len(jobs))
		for i := range out {
			out[i].image = vecs[i]
		}
	case kindText:
		ids, mask := textBatch(jobs)
		vecs, err := b.Scorer.TextVectors(flava.TextInput{InputIDs: ids, AttentionMask: mask})
		if err != nil {
			return nil, err
		}
		out = make([]result, len(jobs))
		for i := range out {
			out[i].text = vecs[i]
		}
	case kindDual, kindJoint:
		return callJoint(b, k == kindJoint, jobs)
	case kindMIM:
		return callMIM(b, jobs)
	default:
		panic(fmt.Sprintf("transforms: unknown kind %d", k))
	}
	return out, nil
}

func callJoint(b *pretrained.Bundle, multimodal bool, jobs []*job) ([]result, error) {
	m := b.Model.Flava
	ids, mask := textBatch(jobs)
	o, err := m.Forward(flava.ModelInput{PixelValues: pixelBatch(jobs), InputIDs: ids, AttentionMask: mask, SkipMultimodalEncoder: !multimodal})
	if err != nil {
		return nil, err
	}
	imgs := projectCLS(&m.ImageProjection, o.ImageEmbeddings)
	txts := projectCLS(&m.TextProjection, o.TextEmbeddings)
	out := make([]result, len(jobs))
	for i := range out {
		out[i].image, out[i].text = imgs[i], txts[i]
	}
	if !multimodal {
		return out, nil
	}
	mm := o.MultimodalEmbeddings
	n, seq, hid := mm.Shape[0], mm.Shape[1], mm.Shape[2]
	for i := range out {
		out[i].multimodal = append([]float32(nil), mm.Data[i*seq*hid:i*seq*hid+hid]...)
	}
	if b.Model.ITMHead != nil {
		logits := b.Model.ITMHead.Forward(mm.Data, n, seq)
		for i := range out {
			out[i].itm, out[i].hasITM = matchProbability(logits[2*i], logits[2*i+1]), true
		}
	}
	return out, nil
}

// matchProbability is softmax([l0, l1])[1], computed as kernels.Softmax does
// (max-shifted exponentials in float32).
func matchProbability(l0, l1 float32) float32 {
	row := []float32{l0, l1}
	m := max(l0, l1)
	var sum float32
	for i, v := range row {
		row[i] = float32(math.Exp(float64(v - m)))
		sum += row[i]
	}
	return row[1] / sum
}

func callMIM(b *pretrained.Bundle, jobs []*job) ([]result, error) {
	cb := b.Codebook()
	n := len(jobs)
	shape := jobs[0].p.CodebookShape
	pix := tensor.New(n, shape[0], shape[1], shape[2])
	per := shape[0] * shape[1] * shape[2]
	masks := make([][]bool, n)
	seeds := make([]uint64, n)
	for i, j := range jobs {
		copy(pix.Data[i*per:(i+1)*per], j.p.CodebookPixels)
		seeds[i] = MaskSeed(j.p.Record.ID)
		masks[i] = b.Images.Mask(seeds[i])
	}
	labels, err := cb.MIMLabels(pix, masks)
	if err != nil {
		return nil, err
	}
	out := make([]result, n)
	for i := range out {
		out[i].mim, out[i].maskSeed = &labels[i], seeds[i]
	}
	return out, nil
}

// MaskSeed is the block-mask seed of a record: FNV-64a of its ID, so reruns
// and replays give the same MIM labels.
func MaskSeed(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

func pixelBatch(jobs []*job) *tensor.Tensor {
	s := jobs[0].p.PixelShape
	t := tensor.New(len(jobs), s[0], s[1], s[2])
	per := s[0] * s[1] * s[2]
	for i, j := range jobs {
		copy(t.Data[i*per:(i+1)*per], j.p.Pixels)
	}
	return t
}

func textBatch(jobs []*job) (ids, mask *tensor.Int64) {
	l := len(jobs[0].p.InputIDs)
	ids, mask = tensor.NewInt64(len(jobs), l), tensor.NewInt64(len(jobs), l)
	for i, j := range jobs {
		for t := 0; t < l; t++ {
			ids.Data[i*l+t] = int64(j.p.InputIDs[t])
			mask.Data[i*l+t] = int64(j.p.AttentionMask[t])
		}
	}
	return ids, mask
}

// projectCLS is FlavaModel's contrastive vector: normalize(projection(x[:, 0]))
// per row of a B×S×H tensor (flava.Linear.ProjectCLS, as flava.Scorer uses),
// one slice per row.
func projectCLS(l *flava.Linear, x *tensor.Tensor) [][]float32 {
	p := l.ProjectCLS(x)
	b := x.Shape[0]
	dim := len(p) / b
	out := make([][]float32, b)
	for r := range out {
		out[r] = p[r*dim : (r+1)*dim : (r+1)*dim]
	}
	return out
}

// pendingJob is a job buffered within a bundle (global window only).
type pendingJob struct {
	j  *job
	k  kind
	et beam.EventTime
	// extra carries stage-specific per-record state (zero-shot classifier).
	extra any
}

// doneJob is a finished job to emit.
type doneJob struct {
	pendingJob
	r   result
	err error
}

// engine is the batching half of a model DoFn: it buffers global-window
// records within a bundle and submits them in chunks, and submits records of
// other windows one by one (see the package doc).
type engine struct {
	opts     Options
	bundle   *pretrained.Bundle
	batchers [numKinds]*modelBatcher
	entered  [numKinds]bool // this bundle is an entered producer of batchers[k]
	key      string         // the producer key of the current bundle
	buf      []pendingJob
	inflight *chunk // the submitted chunk whose results are not emitted yet
}

func newEngine(opts Options, b *pretrained.Bundle) *engine {
	return &engine{opts: opts.withDefaults(), bundle: b}
}

// batcher returns the batcher of k, entering the current bundle as one of
// its producers until finish.
func (e *engine) batcher(ctx context.Context, k kind) *modelBatcher {
	if e.batchers[k] == nil {
		e.batchers[k] = batcherFor(e.opts, e.bundle, k)
	}
	if !e.entered[k] {
		if e.key == "" {
			e.key = producerKey(ctx, e)
		}
		e.entered[k] = true
		e.batchers[k].Enter(e.key)
	}
	return e.batchers[k]
}

// producerKey identifies the bundle ctx belongs to: the SDK harness's
// instruction ID (the DoFn instances of one bundle share it, as they share
// its goroutine), else this engine. metrics.GetBundleID is marked "for Beam
// internal use"; if it stops working every engine is its own producer, which
// only makes fused stages wait MaxWait for each other.
func producerKey(ctx context.Context, e *engine) string {
	if id := metrics.GetBundleID(ctx); id != "" {
		return "bundle:" + id
	}
	return fmt.Sprintf("engine:%p", e)
}

// finish ends the bundle: it flushes the buffer, waits for every chunk in
// flight and leaves the batchers.
func (e *engine) finish(ctx context.Context) []doneJob {
	done := e.drain(ctx)
	for k, in := range e.entered {
		if in {
			e.batchers[k].Leave(e.key)
			e.entered[k] = false
		}
	}
	e.key = ""
	return done
}

// add takes one record. In the global window it is buffered; when the
// buffer reaches BatchSize it is submitted in the background and the
// returned slice holds the finished jobs of the chunk submitted before
// (so decoding the next chunk overlaps the model running this one).
// Otherwise it is submitted at once and returned finished.
func (e *engine) add(ctx context.Context, w beam.Window, pj pendingJob) []doneJob {
	pj.j.submitted = time.Now()
	if isGlobal(w) {
		e.buf = append(e.buf, pj)
		if len(e.buf) >= e.opts.BatchSize {
			return e.flush(ctx)
		}
		return nil
	}
	bt := e.batcher(ctx, pj.k)
	r, err := bt.SubmitFrom(ctx, e.key, pj.j)
	if err == nil {
		err = r.err
	}
	return []doneJob{{pendingJob: pj, r: r, err: err}}
}

// chunk is a submitted buffer whose results are on their way.
type chunk struct {
	ready chan struct{}
	jobs  []doneJob
}

// flush waits for the chunk in flight, submits the buffered jobs as the new
// one (each kind's together, with SubmitAllFrom, so they coalesce with
// other bundles' jobs) and returns the finished jobs of the old one. At
// most one chunk per DoFn instance is in flight.
func (e *engine) flush(ctx context.Context) []doneJob {
	var out []doneJob
	if e.inflight != nil {
		<-e.inflight.ready
		out, e.inflight = e.inflight.jobs, nil
	}
	if len(e.buf) == 0 {
		return out
	}
	c := &chunk{ready: make(chan struct{}), jobs: make([]doneJob, len(e.buf))}
	byKind := map[kind][]int{}
	for i, pj := range e.buf {
		c.jobs[i].pendingJob = pj
		byKind[pj.k] = append(byKind[pj.k], i)
	}
	e.buf = nil // the chunk owns the old buffer's jobs
	kinds := make([]kind, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(a, b int) bool { return kinds[a] < kinds[b] })
	var wg sync.WaitGroup
	for _, k := range kinds {
		idx := byKind[k]
		jobs := make([]*job, len(idx))
		for i, d := range idx {
			jobs[i] = c.jobs[d].j
		}
		bt, key := e.batcher(ctx, k), e.key
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, errs := bt.SubmitAllFrom(ctx, key, jobs)
			for i, d := range idx {
				c.jobs[d].r, c.jobs[d].err = rs[i], errs[i]
				if c.jobs[d].err == nil {
					c.jobs[d].err = rs[i].err
				}
			}
		}()
	}
	go func() { wg.Wait(); close(c.ready) }()
	e.inflight = c
	return out
}

// drain flushes the buffer and waits for every chunk in flight.
func (e *engine) drain(ctx context.Context) []doneJob {
	out := e.flush(ctx)
	if e.inflight != nil {
		<-e.inflight.ready
		out, e.inflight = append(out, e.inflight.jobs...), nil
	}
	return out
}

// record reports the metrics of one finished job from its bundle's context.
func record(ctx context.Context, d *doneJob) {
	r := &d.r
	if r.batchSize == 0 { // never ran (batcher closed, context cancelled)
		return
	}
	numInferences.Inc(ctx, 1)
	queueWaitDist.Update(ctx, micros(r.queueWait))
	if r.first {
		batchSizeDist.Update(ctx, int64(r.batchSize))
		batchLatency.Update(ctx, micros(r.batchLatency))
		encodeLatency.Update(ctx, micros(r.encode))
		if r.batchFailed {
			failedBatches.Inc(ctx, 1)
		}
	}
}
