package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*Record)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Header)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*PartitionRange)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*Record)(nil)).Elem(), encodeRecordCoder, decodeRecordCoder)

	register.DoFn3x1[context.Context, []byte, func(PartitionRange), error](&listPartitionsFn{})
	register.Emitter1[PartitionRange]()
	register.DoFn5x1[context.Context, *watermarkEstimator, *sdf.LockRTracker,
		PartitionRange, func(beam.EventTime, Record), error](&boundedReadFn{})
	register.DoFn5x2[context.Context, *watermarkEstimator, *sdf.LockRTracker,
		PartitionRange, func(beam.EventTime, Record), sdf.ProcessContinuation, error](&unboundedReadFn{})
	register.Emitter2[beam.EventTime, Record]()
}

// metricsNamespace is the namespace of every metric of this package.
const metricsNamespace = "kafkaio"

// PartitionRange is the element and the restriction of the read SDF: the
// offsets [Start, End) of one topic partition. End is math.MaxInt64 for an
// unbounded read.
type PartitionRange struct {
	Topic     string
	Partition int
	Start     int64
	End       int64
}

func (p PartitionRange) unbounded() bool { return p.End == math.MaxInt64 }

// Read reads Kafka records as a PCollection of Record. Bounded unless
// cfg.Unbounded. It panics on an invalid configuration (a programmer error,
// reported at pipeline construction); broker errors fail the pipeline run.
func Read(s beam.Scope, cfg ReadConfig) beam.PCollection {
	s = s.Scope("kafkaio.Read")
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	imp := beam.Impulse(s)
	inst := newReadInstance()
	parts := beam.ParDo(s, &listPartitionsFn{Cfg: cfg, Instance: inst}, imp)
	if cfg.Unbounded {
		return beam.ParDo(s, &unboundedReadFn{readFn{Cfg: cfg, Instance: inst}}, parts)
	}
	return beam.ParDo(s, &boundedReadFn{readFn{Cfg: cfg}}, parts)
}

// listPartitionsFn turns the impulse into one PartitionRange per partition,
// with start and end offsets resolved once, at pipeline start.
type listPartitionsFn struct {
	Cfg ReadConfig
	// Instance names the Read transform (see watermarks.go).
	Instance string
}

func (fn *listPartitionsFn) ProcessElement(ctx context.Context, _ []byte, emit func(PartitionRange)) error {
	client, tr, err := fn.Cfg.client()
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	// A new topic's leader may not serve yet, and a broker may be restarting:
	// retry everything but a missing topic for RetryTimeout.
	var ranges []PartitionRange
	for began := time.Now(); ; {
		err = nil
		if len(fn.Cfg.RequireTopics) > 0 {
			err = CheckTopics(ctx, fn.Cfg.ConnConfig, fn.Cfg.RequireTopics...)
		}
		if err == nil {
			ranges, err = resolvePartitions(ctx, client, fn.Cfg)
		}
		if err == nil || errors.Is(err, ErrNotFound) || time.Since(began) > fn.Cfg.RetryTimeout || ctx.Err() != nil {
			break
		}
		log.Warnf(ctx, "kafkaio: listing partitions: %v; retrying", err)
		sleep(ctx, 500*time.Millisecond)
	}
	if err != nil {
		return err
	}
	if fn.Cfg.Unbounded {
		tps := make([]topicPartition, len(ranges))
		for i, r := range ranges {
			tps[i] = topicPartition{r.Topic, r.Partition}
		}
		sharedWatermarks.seed(fn.Instance, tps, time.Now(), fn.Cfg.staleAfter())
	}
	for _, r := range ranges {
		log.Infof(ctx, "kafkaio: reading %s/%d offsets [%d, %d)", r.Topic, r.Partition, r.Start, r.End)
		emit(r)
	}
	return nil
}

type topicPartition struct {
	topic     string
	partition int
}

// resolvePartitions lists the partitions of cfg.Topics and resolves their
// start offsets (and end offsets when bounded).
func resolvePartitions(ctx context.Context, client *kafka.Client, cfg ReadConfig) ([]PartitionRange, error) {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: cfg.Topics})
	if err != nil {
		return nil, fmt.Errorf("%w: metadata: %w", ErrBroker, err)
	}
	byName := make(map[string]kafka.Topic, len(meta.Topics))
	for _, t := range meta.Topics {
		byName[t.Name] = t
	}
	want := make(map[int]bool, len(cfg.Partitions))
	for _, p := range cfg.Partitions {
		want[p] = true
	}
	req := make(map[string][]int)
	var tps []topicPartition
	for _, name := range cfg.Topics {
		t, ok := byName[name]
		if !ok || errors.Is(t.Error, kafka.UnknownTopicOrPartition) || (t.Error == nil && len(t.Partitions) == 0) {
			return nil, fmt.Errorf("%w: topic %q", ErrNotFound, name)
		}
		if t.Error != nil {
			return nil, fmt.Errorf("%w: metadata of topic %q: %w", ErrBroker, name, t.Error)
		}
		have := make(map[int]bool, len(t.Partitions))
		for _, p := range t.Partitions {
			have[p.ID] = true
			if len(want) == 0 || want[p.ID] {
				req[name] = append(req[name], p.ID)
				tps = append(tps, topicPartition{name, p.ID})
			}
		}
		for _, p := range cfg.Partitions {
			if !have[p] {
				return nil, fmt.Errorf("%w: topic %q has no partition %d", ErrNotFound, name, p)
			}
		}
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].topic != tps[j].topic {
			return tps[i].topic < tps[j].topic
		}
		return tps[i].partition < tps[j].partition
	})

	first, err := listOffsets(ctx, client, req, kafka.FirstOffset)
	if err != nil {
		return nil, err
	}
	last, err := listOffsets(ctx, client, req, kafka.LastOffset)
	if err != nil {
		return nil, err
	}
	start := first
	switch cfg.StartFrom {
	case StartLatest:
		start = last
	case StartTimestamp:
		at, err := listOffsets(ctx, client, req, cfg.StartTime.UnixMilli())
		if err != nil {
			return nil, err
		}
		start = make(map[topicPartition]int64, len(at))
		for tp, off := range at {
			if off < 0 {
				off = last[tp]
			}
			start[tp] = off
		}
	case StartCommitted:
		start, err = committedOffsets(ctx, client, cfg.GroupID, req, first)
		if err != nil {
			return nil, err
		}
	}
	out := make([]PartitionRange, 0, len(tps))
	for _, tp := range tps {
		s, ok := start[tp]
		e, ok2 := last[tp]
		if !ok || !ok2 {
			return nil, fmt.Errorf("%w: no offsets returned for %s/%d", ErrBroker, tp.topic, tp.partition)
		}
		if f := first[tp]; s < f {
			s = f
		}
		r := PartitionRange{Topic: tp.topic, Partition: tp.partition, Start: s, End: e}
		if cfg.Unbounded {
			r.End = math.MaxInt64
		} else if r.Start > r.End {
			r.Start = r.End
		}
		out = append(out, r)
	}
	return out, nil
}

// listOffsets asks for one kind of offset (kafka.FirstOffset, kafka.LastOffset
// or a Unix-millisecond timestamp) of every partition in req. A timestamp
// with no record at or after it yields -1.
func listOffsets(ctx context.Context, client *kafka.Client, req map[string][]int, ts int64) (map[topicPartition]int64, error) {
	topics := make(map[string][]kafka.OffsetRequest, len(req))
	for t, ps := range req {
		for _, p := range ps {
			topics[t] = append(topics[t], kafka.OffsetRequest{Partition: p, Timestamp: ts})
		}
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("%w: list offsets: %w", ErrBroker, err)
	}
	out := make(map[topicPartition]int64)
	for t, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("%w: list offsets of %s/%d: %w", ErrBroker, t, p.Partition, p.Error)
			}
			var off int64
			switch ts {
			case kafka.FirstOffset:
				off = p.FirstOffset
			case kafka.LastOffset:
				off = p.LastOffset
			default:
				off = -1
				for o := range p.Offsets {
					if off < 0 || (o >= 0 && o < off) {
						off = o
					}
				}
			}
			out[topicPartition{t, p.Partition}] = off
		}
	}
	return out, nil
}

// committedOffsets reads the group's committed offsets, falling back to
// fallback for partitions with none.
func committedOffsets(ctx context.Context, client *kafka.Client, group string, req map[string][]int,
	fallback map[topicPartition]int64) (map[topicPartition]int64, error) {
	out := make(map[topicPartition]int64, len(fallback))
	for tp, off := range fallback {
		out[tp] = off
	}
	res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: req})
	if err == nil {
		err = res.Error
	}
	if errors.Is(err, kafka.GroupIdNotFound) {
		return out, nil // a new group (some brokers say so instead of returning -1)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: offset fetch for group %q: %w", ErrBroker, group, err)
	}
	for t, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("%w: offset fetch of %s/%d: %w", ErrBroker, t, p.Partition, p.Error)
			}
			if p.CommittedOffset >= 0 {
				out[topicPartition{t, p.Partition}] = p.CommittedOffset
			}
		}
	}
	return out, nil
}

// readFn holds what the bounded and unbounded read DoFns share. Beam needs two
// DoFn types because an SDF whose ProcessElement returns a
// sdf.ProcessContinuation always produces an unbounded PCollection.
type readFn struct {
	Cfg ReadConfig
	// Instance names the Read transform (see watermarks.go).
	Instance string

	client    *kafka.Client
	transport *kafka.Transport

	records beam.Counter
	bytes   beam.Counter
}

func (fn *readFn) Setup() error {
	if fn.client != nil {
		return nil
	}
	client, tr, err := fn.Cfg.client()
	if err != nil {
		return err
	}
	fn.client, fn.transport = client, tr
	fn.records = beam.NewCounter(metricsNamespace, "records_read")
	fn.bytes = beam.NewCounter(metricsNamespace, "bytes_read")
	return nil
}

func (fn *readFn) Teardown() {
	if fn.transport != nil {
		fn.transport.CloseIdleConnections()
	}
}

func (fn *readFn) CreateInitialRestriction(p PartitionRange) PartitionRange { return p }

func (fn *readFn) SplitRestriction(_ PartitionRange, r PartitionRange) []PartitionRange {
	return []PartitionRange{r}
}

// RestrictionSize is the number of offsets left; for an unbounded range, up to
// the partition's current high watermark.
func (fn *readFn) RestrictionSize(_ PartitionRange, r PartitionRange) (float64, error) {
	if !r.unbounded() {
		return float64(max(0, r.End-r.Start)), nil
	}
	if err := fn.Setup(); err != nil {
		return 0, err
	}
	est := &endEstimator{fn: fn, topic: r.Topic, partition: r.Partition, last: r.Start}
	return float64(max(0, est.Estimate()-r.Start)), nil
}

func (fn *readFn) CreateTracker(r PartitionRange) (*sdf.LockRTracker, error) {
	if err := fn.Setup(); err != nil {
		return nil, err
	}
	t, err := newRangeTracker(r, &endEstimator{fn: fn, topic: r.Topic, partition: r.Partition, last: r.Start})
	if err != nil {
		return nil, err
	}
	return sdf.NewLockRTracker(t), nil
}

func (fn *readFn) InitialWatermarkEstimatorState(et beam.EventTime, _ PartitionRange, _ PartitionRange) int64 {
	return int64(et)
}

func (fn *readFn) CreateWatermarkEstimator(ms int64) *watermarkEstimator {
	return &watermarkEstimator{state: ms}
}

func (fn *readFn) WatermarkEstimatorState(we *watermarkEstimator) int64 {
	return we.state
}

// outcome of one read call.
type outcome int

const (
	outcomeDone     outcome = iota // restriction finished or split away
	outcomeIdle                    // caught up with the partition (unbounded)
	outcomeBusy                    // records emitted: checkpoint so that they move on downstream
	outcomeBackoff                 // transient broker failure (unbounded)
	outcomeCanceled                // context canceled
	outcomeDrained                 // Drain was called (unbounded)
)

// draining is set by Drain.
var draining atomic.Bool

// Drain makes every unbounded Read in this process stop reading: each
// partition's read returns at its next check (at most MaxWait plus one
// fetch later) and stops, so that the PCollection ends, downstream stages
// finish the records already read, Commit commits them, and the pipeline
// completes. It is how a streaming job run in this process (prism, or a
// portable runner's LOOPBACK environment) stops cleanly on SIGINT or
// SIGTERM. On distributed runners use the runner's drain (Dataflow drain,
// Flink stop --drain), which reaches Read through TruncateRestriction.
// Drain cannot be undone; it affects Reads started afterwards too, until
// ResetDrain.
func Drain() { draining.Store(true) }

// ResetDrain undoes Drain, for a process that runs another streaming job
// (tests).
func ResetDrain() { draining.Store(false) }

// outages remembers, per unbounded partition read, since when its fetches
// have failed in a row: an unbounded read retries across checkpoints, so the
// time must outlive one ProcessElement call.
var outages = &outageBook{m: map[outageKey]outageEntry{}}

type outageKey struct {
	instance string
	tp       topicPartition
}

type outageEntry struct {
	since time.Time
	n     int
}

type outageBook struct {
	mu sync.Mutex
	m  map[outageKey]outageEntry
}

// fail records one more failure and returns the time of the first failure in
// a row and the number of failures.
func (b *outageBook) fail(instance string, tp topicPartition) (time.Time, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := outageKey{instance, tp}
	e := b.m[k]
	if e.n == 0 {
		e.since = time.Now()
	}
	e.n++
	b.m[k] = e
	return e.since, e.n
}

func (b *outageBook) failures(instance string, tp topicPartition) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[outageKey{instance, tp}].n
}

func (b *outageBook) clear(instance string, tp topicPartition) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, outageKey{instance, tp})
}

// read fetches and emits records of p's restriction until it is done, caught
// up (unbounded), drained, or the checkpoint interval passes.
func (fn *readFn) read(ctx context.Context, we *watermarkEstimator,
	rt *sdf.LockRTracker, p PartitionRange, emit func(beam.EventTime, Record)) (outcome, error) {
	rest := rt.GetRestriction().(PartitionRange)
	unbounded := rest.unbounded()
	offset := rest.Start
	// from is the first offset the next emitted record accounts for (see
	// Position): the restriction's start, then one past each emitted record.
	from := rest.Start
	// firstEmit is when this call emitted its first record: an unbounded
	// read checkpoints CheckpointInterval later, because the runner passes
	// a bundle's records downstream only when the bundle ends.
	var firstEmit time.Time
	var failingSince time.Time
	lag := beam.NewGauge(metricsNamespace, fmt.Sprintf("lag/%s/%d", p.Topic, p.Partition))
	tp := topicPartition{p.Topic, p.Partition}

	for {
		if we.shared != nil {
			we.shared.touch()
		}
		if err := ctx.Err(); err != nil {
			if unbounded {
				return outcomeCanceled, nil
			}
			return outcomeDone, err
		}
		if unbounded && draining.Load() {
			return outcomeDrained, nil
		}
		end := rt.GetRestriction().(PartitionRange).End
		if offset >= end {
			rt.TryClaim(end) // marks the restriction done even when [offset, end) held no data record
			return outcomeDone, nil
		}
		wait := fn.Cfg.MaxWait
		if unbounded && !firstEmit.IsZero() {
			// Records are waiting in this bundle: fetch more only until
			// the checkpoint is due, never wait past it.
			left := fn.Cfg.CheckpointInterval - time.Since(firstEmit)
			if left < time.Millisecond {
				return outcomeBusy, nil
			}
			wait = min(wait, left)
		}

		res, err := fn.client.Fetch(ctx, &kafka.FetchRequest{
			Topic:     p.Topic,
			Partition: p.Partition,
			Offset:    offset,
			MinBytes:  1,
			MaxBytes:  int64(fn.Cfg.MaxFetchBytes),
			MaxWait:   wait,
		})
		if err == nil && res.Error != nil {
			err = res.Error
		}
		if errors.Is(err, kafka.OffsetOutOfRange) {
			next, rerr := fn.skipToLogStart(ctx, p, offset)
			if rerr == nil {
				log.Warnf(ctx, "kafkaio: %s/%d offset %d is no longer on the broker (retention); continuing at %d",
					p.Topic, p.Partition, offset, next)
				offset = next
				continue
			}
			err = rerr
		}
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			if unbounded && !firstEmit.IsZero() {
				// Hand the records read so far downstream first; the
				// next call retries the fetch.
				return outcomeBusy, nil
			}
			if unbounded {
				// Retried across checkpoints, with backoff, for up to
				// RetryTimeout since the first failure in a row.
				since, n := outages.fail(fn.Instance, tp)
				if time.Since(since) > fn.Cfg.RetryTimeout {
					outages.clear(fn.Instance, tp)
					return outcomeDone, fn.outageError(p, offset, since, err)
				}
				if n == 1 || n%10 == 0 {
					log.Warnf(ctx, "kafkaio: fetch %s/%d at %d from %s: %v; retrying with backoff (failing for %v, limit %v)",
						p.Topic, p.Partition, offset, fn.brokerList(), err, time.Since(since).Round(time.Second), fn.Cfg.RetryTimeout)
				}
				return outcomeBackoff, nil
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if time.Since(failingSince) > fn.Cfg.RetryTimeout {
				return outcomeDone, fn.outageError(p, offset, failingSince, err)
			}
			log.Warnf(ctx, "kafkaio: fetch %s/%d at %d: %v; retrying", p.Topic, p.Partition, offset, err)
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		failingSince = time.Time{}
		if unbounded {
			outages.clear(fn.Instance, tp)
		}

		n, stopped, err := fn.emitRecords(res.Records, rt, p, &offset, &from, emit)
		if err != nil {
			return outcomeDone, err
		}
		if stopped {
			return outcomeDone, nil
		}
		lag.Set(ctx, max(0, res.HighWatermark-offset))
		if n > 0 && firstEmit.IsZero() {
			firstEmit = time.Now()
		}
		if n == 0 {
			if !unbounded && res.HighWatermark >= end {
				// Nothing readable left below end: only control records or
				// compacted gaps remain.
				offset = end
				continue
			}
			if unbounded && !firstEmit.IsZero() {
				return outcomeBusy, nil // caught up: hand the records on now
			}
			if unbounded {
				we.advanceTo(fn.idleWatermark())
				return outcomeIdle, nil
			}
		}
	}
}

// outageError is the error of a partition whose fetches failed for longer
// than RetryTimeout: it names the brokers and the limit.
func (fn *readFn) outageError(p PartitionRange, offset int64, since time.Time, err error) error {
	return fmt.Errorf("%w: fetching %s/%d at offset %d from broker %s failed for %v, over the limit of %v "+
		"(ReadConfig.RetryTimeout, flag --kafka-retry-timeout): %w",
		ErrBroker, p.Topic, p.Partition, offset, fn.brokerList(), time.Since(since).Round(time.Second), fn.Cfg.RetryTimeout, err)
}

func (fn *readFn) brokerList() string { return strings.Join(fn.Cfg.brokers(), ",") }

// emitRecords emits the data records of one fetch response at or after
// *offset, claiming each, and advances *offset. stopped is true when a claim
// failed (the restriction was split or is done).
func (fn *readFn) emitRecords(rr kafka.RecordReader, rt *sdf.LockRTracker, p PartitionRange, offset, from *int64,
	emit func(beam.EventTime, Record)) (n int, stopped bool, err error) {
	readers := []kafka.RecordReader{rr}
	if s, ok := rr.(*protocol.RecordStream); ok {
		readers = s.Records
	}
	for _, r := range readers {
		if _, ok := r.(*protocol.ControlBatch); ok {
			continue // transaction markers are not data
		}
		for {
			rec, err := r.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return n, false, fmt.Errorf("%w: decoding fetched records: %w", ErrBroker, err)
			}
			if rec.Offset < *offset {
				closeBytes(rec)
				continue
			}
			if !rt.TryClaim(rec.Offset) {
				closeBytes(rec)
				return n, true, nil
			}
			out, size, err := toRecord(rec)
			if err != nil {
				return n, false, err
			}
			out.Topic, out.Partition = p.Topic, p.Partition
			out.Source = Position{Topic: p.Topic, Partition: p.Partition, Offset: rec.Offset, From: *from, Base: p.Start}
			et := mtime.FromTime(out.Timestamp)
			if fn.Cfg.TimestampPolicy == TimestampProcessing {
				et = mtime.Now()
			}
			emit(et, out)
			fn.records.Inc(context.Background(), 1)
			fn.bytes.Inc(context.Background(), int64(size))
			*offset = rec.Offset + 1
			*from = rec.Offset + 1
			n++
		}
	}
	return n, false, nil
}

func toRecord(rec *kafka.Record) (Record, int, error) {
	out := Record{Offset: rec.Offset, Timestamp: rec.Time}
	var err error
	if rec.Key != nil {
		if out.Key, err = kafka.ReadAll(rec.Key); err != nil {
			return Record{}, 0, fmt.Errorf("%w: reading key at offset %d: %w", ErrBroker, rec.Offset, err)
		}
		rec.Key.Close()
	}
	if rec.Value != nil {
		if out.Value, err = kafka.ReadAll(rec.Value); err != nil {
			return Record{}, 0, fmt.Errorf("%w: reading value at offset %d: %w", ErrBroker, rec.Offset, err)
		}
		rec.Value.Close()
	}
	size := len(out.Key) + len(out.Value)
	if len(rec.Headers) > 0 {
		out.Headers = make([]Header, len(rec.Headers))
		for i, h := range rec.Headers {
			out.Headers[i] = Header{Key: h.Key, Value: h.Value}
			size += len(h.Key) + len(h.Value)
		}
	}
	return out, size, nil
}

func closeBytes(rec *kafka.Record) {
	if rec.Key != nil {
		rec.Key.Close()
	}
	if rec.Value != nil {
		rec.Value.Close()
	}
}

// skipToLogStart handles OffsetOutOfRange: when offset fell below the log
// start (retention deleted it) it returns the log start offset; otherwise an
// error (the partition was truncated or recreated).
func (fn *readFn) skipToLogStart(ctx context.Context, p PartitionRange, offset int64) (int64, error) {
	first, err := listOffsets(ctx, fn.client, map[string][]int{p.Topic: {p.Partition}}, kafka.FirstOffset)
	if err != nil {
		return 0, err
	}
	f := first[topicPartition{p.Topic, p.Partition}]
	if offset < f {
		return f, nil
	}
	return 0, fmt.Errorf("%w: offset %d of %s/%d is beyond the partition end (truncated or recreated topic?)",
		ErrBroker, offset, p.Topic, p.Partition)
}

func (fn *readFn) idleWatermark() time.Time {
	return time.Now().Add(-fn.Cfg.IdleLag)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// boundedReadFn reads each partition up to the end offset seen at start.
type boundedReadFn struct {
	readFn
}

func (fn *boundedReadFn) ProcessElement(ctx context.Context, we *watermarkEstimator,
	rt *sdf.LockRTracker, p PartitionRange, emit func(beam.EventTime, Record)) error {
	_, err := fn.read(ctx, we, rt, p, emit)
	return err
}

// unboundedReadFn reads each partition forever, checkpointing when caught up.
type unboundedReadFn struct {
	readFn
}

func (fn *unboundedReadFn) ProcessElement(ctx context.Context, we *watermarkEstimator,
	rt *sdf.LockRTracker, p PartitionRange, emit func(beam.EventTime, Record)) (sdf.ProcessContinuation, error) {
	we.shared = &sharedWatermark{reg: sharedWatermarks, read: fn.Instance,
		tp: topicPartition{p.Topic, p.Partition}, staleAfter: fn.Cfg.staleAfter()}
	we.shared.start(we.state)
	out, err := fn.read(ctx, we, rt, p, emit)
	if err != nil {
		return sdf.StopProcessing(), err
	}
	switch out {
	case outcomeDone:
		return sdf.StopProcessing(), nil
	case outcomeDrained:
		// Everything read so far has been emitted; the rest of the
		// restriction is dropped, and an idle partition's watermark no
		// longer holds the pipeline open.
		we.advanceTo(mtime.MaxTimestamp.ToTime())
		return sdf.StopProcessing(), nil
	case outcomeBusy:
		return sdf.ResumeProcessingIn(0), nil
	case outcomeBackoff:
		return sdf.ResumeProcessingIn(fn.backoff(p)), nil
	default:
		return sdf.ResumeProcessingIn(fn.Cfg.ResumeDelay), nil
	}
}

// backoff is the delay before the next fetch of a failing partition:
// ResumeDelay (at least 100ms) doubled per failure in a row, at most 5s.
func (fn *unboundedReadFn) backoff(p PartitionRange) time.Duration {
	d := max(fn.Cfg.ResumeDelay, 100*time.Millisecond)
	for i := outages.failures(fn.Instance, topicPartition{p.Topic, p.Partition}); i > 1 && d < 5*time.Second; i-- {
		d *= 2
	}
	return min(d, max(5*time.Second, fn.Cfg.ResumeDelay))
}

// TruncateRestriction empties the remaining range when a streaming pipeline is
// drained: nothing more is read.
func (fn *unboundedReadFn) TruncateRestriction(rt *sdf.LockRTracker, _ PartitionRange) PartitionRange {
	r := rt.GetRestriction().(PartitionRange)
	r.End = r.Start
	return r
}
