package transforms

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrBatcherClosed is returned by Submit after Close.
var ErrBatcherClosed = errors.New("transforms: batcher closed")

// BatcherOptions configure a Batcher. Zero values take the defaults.
type BatcherOptions struct {
	// MaxBatchSize is the largest number of items run together. Default 8.
	MaxBatchSize int
	// MaxWait is how long the first item of a batch waits for company before
	// the batch runs anyway. Default 20ms. A negative value means no wait:
	// a batch runs as soon as the runner is free.
	MaxWait time.Duration
	// QueueSize bounds the items waiting to run; Submit blocks (producers are
	// slowed down instead of memory growing) while the queue is full.
	// Default 4×MaxBatchSize.
	QueueSize int
}

func (o BatcherOptions) withDefaults() BatcherOptions {
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = 8
	}
	if o.MaxWait == 0 {
		o.MaxWait = 20 * time.Millisecond
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4 * o.MaxBatchSize
	}
	return o
}

// Validate reports a bad option by name.
func (o BatcherOptions) Validate() error {
	switch {
	case o.MaxBatchSize < 0:
		return fmt.Errorf("transforms: BatcherOptions.MaxBatchSize %d is negative", o.MaxBatchSize)
	case o.QueueSize < 0:
		return fmt.Errorf("transforms: BatcherOptions.QueueSize %d is negative", o.QueueSize)
	}
	return nil
}

// BatchStats describes one executed batch, for metrics.
type BatchStats struct {
	Size      int
	QueueWait []time.Duration // per item: time from Submit to the batch start
	Run       time.Duration
	Err       error
}

// Batcher coalesces items submitted concurrently — by any number of bundles
// and DoFn instances of one worker process — into batches of at most
// MaxBatchSize and runs them one batch at a time through run. This is what
// turns many one-element streaming bundles into full encoder batches.
//
// run receives the batch and must return one result per item, in order, or an
// error that fails every item of that batch; per-item failures belong in the
// result type so that one bad item never fails its neighbours.
type Batcher[In, Out any] struct {
	opts    BatcherOptions
	run     func([]In) ([]Out, error)
	observe func(BatchStats)
	queue   chan *request[In, Out]
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	// Producer accounting (Enter/Leave, SubmitFrom/SubmitAllFrom): when every
	// entered producer is waiting for results, nothing more can arrive, so a
	// partial batch runs at once instead of waiting out MaxWait.
	pmu       sync.Mutex
	producers map[string]*producer
	kick      chan struct{}
}

type producer struct{ refs int }

// waits records which producers are blocked waiting for results, process-wide:
// a bundle blocked on one batcher cannot submit to any other either, so every
// batcher it entered may stop waiting for it.
var waits = struct {
	mu      sync.Mutex
	waiting map[string]int
	kicks   map[chan struct{}]struct{}
}{waiting: map[string]int{}, kicks: map[chan struct{}]struct{}{}}

type request[In, Out any] struct {
	item  In
	added time.Time
	out   Out
	err   error
	ready chan struct{}
}

// NewBatcher starts a batcher. observe, if not nil, is called after every
// batch (from the batcher's goroutine) with its statistics.
func NewBatcher[In, Out any](opts BatcherOptions, run func([]In) ([]Out, error), observe func(BatchStats)) *Batcher[In, Out] {
	opts = opts.withDefaults()
	b := &Batcher[In, Out]{
		opts:      opts,
		run:       run,
		observe:   observe,
		queue:     make(chan *request[In, Out], opts.QueueSize),
		done:      make(chan struct{}),
		producers: map[string]*producer{},
		kick:      make(chan struct{}, 1),
	}
	waits.mu.Lock()
	waits.kicks[b.kick] = struct{}{}
	waits.mu.Unlock()
	b.wg.Add(1)
	go b.loop()
	return b
}

// Submit queues item, waits for its batch to run and returns its result. It
// blocks while the queue is full. Cancelling ctx abandons the wait (the item
// may still run).
func (b *Batcher[In, Out]) Submit(ctx context.Context, item In) (Out, error) {
	r, err := b.enqueue(ctx, item)
	if err != nil {
		var zero Out
		return zero, err
	}
	return b.await(ctx, r)
}

func (b *Batcher[In, Out]) enqueue(ctx context.Context, item In) (*request[In, Out], error) {
	r := &request[In, Out]{item: item, added: time.Now(), ready: make(chan struct{})}
	select {
	case <-b.done:
		return nil, ErrBatcherClosed
	default:
	}
	select {
	case b.queue <- r:
		return r, nil
	case <-b.done:
		return nil, ErrBatcherClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *Batcher[In, Out]) await(ctx context.Context, r *request[In, Out]) (Out, error) {
	select {
	case <-r.ready:
		return r.out, r.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// Enter declares a producer — in Beam, a bundle: every DoFn instance of one
// bundle runs on one goroutine, so they share a key — that submits with
// SubmitFrom/SubmitAllFrom until the matching Leave (calls nest by key).
// While every entered producer is blocked waiting for results, no item can
// arrive, so a partial batch runs at once rather than waiting out MaxWait: a
// lone one-record streaming bundle does not pay MaxWait per record, while
// concurrent bundles still share batches. A producer that never leaves (a
// failed bundle) only brings back the MaxWait wait.
func (b *Batcher[In, Out]) Enter(key string) {
	b.pmu.Lock()
	p := b.producers[key]
	if p == nil {
		p = &producer{}
		b.producers[key] = p
	}
	p.refs++
	b.pmu.Unlock()
	b.poke()
}

// Leave ends one Enter of key.
func (b *Batcher[In, Out]) Leave(key string) {
	b.pmu.Lock()
	if p := b.producers[key]; p != nil {
		if p.refs--; p.refs <= 0 {
			delete(b.producers, key)
		}
	}
	b.pmu.Unlock()
	b.poke()
}

func setWaiting(key string, delta int) {
	waits.mu.Lock()
	defer waits.mu.Unlock()
	if waits.waiting[key] += delta; waits.waiting[key] <= 0 {
		delete(waits.waiting, key)
	}
	for k := range waits.kicks {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

func (b *Batcher[In, Out]) poke() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// allWaiting reports whether there are entered producers and all of them
// are blocked on results.
func (b *Batcher[In, Out]) allWaiting() bool {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	if len(b.producers) == 0 {
		return false
	}
	waits.mu.Lock()
	defer waits.mu.Unlock()
	for key := range b.producers {
		if waits.waiting[key] <= 0 {
			return false
		}
	}
	return true
}

// SubmitFrom is Submit by the entered producer key.
func (b *Batcher[In, Out]) SubmitFrom(ctx context.Context, key string, item In) (Out, error) {
	r, err := b.enqueue(ctx, item)
	if err != nil {
		var zero Out
		return zero, err
	}
	setWaiting(key, 1)
	defer setWaiting(key, -1)
	return b.await(ctx, r)
}

// SubmitAllFrom queues items in order for the entered producer key, then
// waits for all of them; it returns their results in order with one error
// per item (nil where it ran).
func (b *Batcher[In, Out]) SubmitAllFrom(ctx context.Context, key string, items []In) ([]Out, []error) {
	outs := make([]Out, len(items))
	errs := make([]error, len(items))
	reqs := make([]*request[In, Out], len(items))
	for i := range items {
		reqs[i], errs[i] = b.enqueue(ctx, items[i])
	}
	setWaiting(key, 1)
	defer setWaiting(key, -1)
	for i, r := range reqs {
		if r != nil {
			outs[i], errs[i] = b.await(ctx, r)
		}
	}
	return outs, errs
}

// SubmitAll submits items concurrently so that they can share batches, and
// returns their results in order. The first error is returned with the
// results of the others.
func (b *Batcher[In, Out]) SubmitAll(ctx context.Context, items []In) ([]Out, []error) {
	outs := make([]Out, len(items))
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i := range items {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			outs[i], errs[i] = b.Submit(ctx, items[i])
		}(i)
	}
	wg.Wait()
	return outs, errs
}

// Close stops the batcher after the queued items have run.
func (b *Batcher[In, Out]) Close() {
	b.once.Do(func() {
		close(b.done)
		waits.mu.Lock()
		delete(waits.kicks, b.kick)
		waits.mu.Unlock()
	})
	b.wg.Wait()
}

func (b *Batcher[In, Out]) loop() {
	defer b.wg.Done()
	batch := make([]*request[In, Out], 0, b.opts.MaxBatchSize)
	for {
		batch = batch[:0]
		select {
		case r := <-b.queue:
			batch = append(batch, r)
		case <-b.done:
			// drain what was queued before Close
			for {
				select {
				case r := <-b.queue:
					b.execute(append(batch[:0], r))
				default:
					return
				}
			}
		}
		b.fill(&batch)
		b.execute(batch)
	}
}

// fill adds queued requests to batch until it is full, MaxWait has passed
// since the first one was submitted, or every entered producer is waiting.
func (b *Batcher[In, Out]) fill(batch *[]*request[In, Out]) {
	if b.opts.MaxWait < 0 {
		for len(*batch) < b.opts.MaxBatchSize {
			select {
			case r := <-b.queue:
				*batch = append(*batch, r)
			default:
				return
			}
		}
		return
	}
	deadline := (*batch)[0].added.Add(b.opts.MaxWait)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for len(*batch) < b.opts.MaxBatchSize {
		select { // take what is queued first
		case r := <-b.queue:
			*batch = append(*batch, r)
			continue
		default:
		}
		if b.allWaiting() {
			return
		}
		select {
		case r := <-b.queue:
			*batch = append(*batch, r)
		case <-b.kick:
		case <-timer.C:
			return
		case <-b.done:
			return
		}
	}
}

func (b *Batcher[In, Out]) execute(batch []*request[In, Out]) {
	start := time.Now()
	items := make([]In, len(batch))
	waits := make([]time.Duration, len(batch))
	for i, r := range batch {
		items[i] = r.item
		waits[i] = start.Sub(r.added)
	}
	outs, err := b.safeRun(items)
	if err == nil && len(outs) != len(items) {
		err = fmt.Errorf("transforms: batch function returned %d results for %d items", len(outs), len(items))
	}
	for i, r := range batch {
		if err != nil {
			r.err = err
		} else {
			r.out = outs[i]
		}
		close(r.ready)
	}
	if b.observe != nil {
		b.observe(BatchStats{Size: len(batch), QueueWait: waits, Run: time.Since(start), Err: err})
	}
}

// safeRun turns a panic in the batch function into an error for that batch,
// so a model bug fails the batch's elements rather than the worker.
func (b *Batcher[In, Out]) safeRun(items []In) (outs []Out, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("transforms: batch function panicked: %v", p)
		}
	}()
	return b.run(items)
}
