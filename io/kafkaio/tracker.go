package kafkaio

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/segmentio/kafka-go"
)

// rangeTracker adapts Beam's offsetrange trackers to the PartitionRange
// restriction, which also names its partition: CreateTracker receives only
// the restriction, and the growable tracker's end estimator needs to know
// which partition's high watermark to ask for.
type rangeTracker struct {
	topic     string
	partition int
	inner     sdf.BoundableRTracker
}

func newRangeTracker(r PartitionRange, est offsetrange.RangeEndEstimator) (*rangeTracker, error) {
	t := &rangeTracker{topic: r.Topic, partition: r.Partition}
	rest := offsetrange.Restriction{Start: r.Start, End: r.End}
	if r.unbounded() {
		g, err := offsetrange.NewGrowableTracker(rest, est)
		if err != nil {
			return nil, fmt.Errorf("kafkaio: growable tracker: %w", err)
		}
		t.inner = g
	} else {
		t.inner = offsetrange.NewTracker(rest)
	}
	return t, nil
}

func (t *rangeTracker) wrap(r any) any {
	if r == nil {
		return nil
	}
	o := r.(offsetrange.Restriction)
	return PartitionRange{Topic: t.topic, Partition: t.partition, Start: o.Start, End: o.End}
}

func (t *rangeTracker) TryClaim(pos any) bool           { return t.inner.TryClaim(pos) }
func (t *rangeTracker) GetError() error                 { return t.inner.GetError() }
func (t *rangeTracker) GetProgress() (float64, float64) { return t.inner.GetProgress() }
func (t *rangeTracker) IsDone() bool                    { return t.inner.IsDone() }
func (t *rangeTracker) IsBounded() bool                 { return t.inner.IsBounded() }
func (t *rangeTracker) GetRestriction() any             { return t.wrap(t.inner.GetRestriction()) }

func (t *rangeTracker) TrySplit(fraction float64) (primary, residual any, err error) {
	p, r, err := t.inner.TrySplit(fraction)
	if err != nil {
		return nil, nil, err
	}
	return t.wrap(p), t.wrap(r), nil
}

// endEstimator estimates the end of an unbounded range as the partition's
// high watermark. Estimate cannot return an error: on failure it returns the
// last good estimate.
type endEstimator struct {
	fn        *readFn
	topic     string
	partition int

	mu   sync.Mutex
	last int64
	at   time.Time
}

// estimateTTL limits how often Estimate asks the broker (progress reports
// call it often).
const estimateTTL = time.Second

func (e *endEstimator) Estimate() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if time.Since(e.at) < estimateTTL {
		return e.last
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	last, err := listOffsets(ctx, e.fn.client, map[string][]int{e.topic: {e.partition}}, kafka.LastOffset)
	if err != nil {
		return e.last
	}
	if v, ok := last[topicPartition{e.topic, e.partition}]; ok && v > e.last {
		e.last = v
	}
	e.at = time.Now()
	return e.last
}

// watermarkEstimator holds the output watermark (Unix milliseconds) of one
// partition range. Beam calls ObserveTimestamp with each emitted record's
// event time; the read advances it to now minus IdleLag when the partition is
// idle.
type watermarkEstimator struct {
	state int64

	// shared, set by an unbounded read, makes CurrentWatermark report at
	// most the watermark of the Read's other partitions in this process
	// (see watermarks.go); state stays this partition's own.
	shared *sharedWatermark
}

func (e *watermarkEstimator) CurrentWatermark() time.Time {
	ms := e.state
	if e.shared != nil {
		ms = e.shared.report(ms)
	}
	return time.UnixMilli(ms)
}

func (e *watermarkEstimator) ObserveTimestamp(t time.Time) {
	e.advanceTo(t)
}

func (e *watermarkEstimator) advanceTo(t time.Time) {
	if ms := t.UnixMilli(); ms > e.state {
		e.state = ms
	}
}
