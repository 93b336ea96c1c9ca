package kafkaio

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/segmentio/kafka-go"
)

func init() {
	register.Function1x2(keyPosition)
	register.DoFn4x1[context.Context, state.Provider, string, Position, error](&commitFn{})
}

// Commit commits the consumer group offsets (cfg.GroupID) of a Read from
// acknowledgements: PCollections of Position, as Write returns them. Per
// partition it keeps, in Beam state keyed by the partition, the highest
// offset below which every record of the read has been acknowledged, and
// commits that offset (the next one to read) at the end of each bundle that
// moved it. Records are acknowledged in any order; an offset is committed
// only when every record before it is acknowledged too.
//
// For this to be at-least-once, every record the Read delivers must lead to
// at least one acknowledged write carrying its Source (its output, or its
// dead letter), and every write carrying it must be acknowledged before
// that offset can be passed: a record that leads to two writes must
// acknowledge only when both are done. See the package doc for why this
// holds on every runner.
//
// It panics when cfg has no GroupID (a programmer error).
func Commit(s beam.Scope, cfg ReadConfig, acks ...beam.PCollection) {
	s = s.Scope("kafkaio.Commit")
	if cfg.GroupID == "" {
		panic(fmt.Errorf("%w: Commit needs a GroupID", ErrConfig))
	}
	if err := cfg.ConnConfig.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	col := acks[0]
	if len(acks) > 1 {
		col = beam.Flatten(s, acks...)
	}
	col = beam.WindowInto(s, window.NewGlobalWindows(), col)
	keyed := beam.ParDo(s, keyPosition, col)
	beam.ParDo0(s, &commitFn{Cfg: cfg, Frontier: state.MakeValueState[[]byte]("frontier")}, keyed)
}

func keyPosition(p Position) (string, Position) {
	return p.Topic + "/" + strconv.Itoa(p.Partition), p
}

// frontier is the commit state of one partition: every record of the read
// below Next is acknowledged; Acked holds the acknowledged offset ranges
// [From, End) above Next, sorted and disjoint.
type frontier struct {
	Next  int64
	Acked []ackRange
}

type ackRange struct{ From, End int64 }

// add records the acknowledgement of p and reports whether Next moved.
func (f *frontier) add(p Position) bool {
	return f.addRange(ackRange{p.From, p.Offset + 1})
}

// merge adds what o knows (both are true statements about acknowledged
// offsets, so their union is too) and reports whether Next moved.
func (f *frontier) merge(o frontier) bool {
	moved := false
	if o.Next > f.Next {
		f.Next, moved = o.Next, true
	}
	for _, r := range o.Acked {
		moved = f.addRange(r) || moved
	}
	return f.addRange(ackRange{}) || moved
}

// addRange records that the offsets [r.From, r.End) are acknowledged and
// reports whether Next moved.
func (f *frontier) addRange(r ackRange) bool {
	if r.End > f.Next {
		i := sort.Search(len(f.Acked), func(i int) bool { return f.Acked[i].From >= r.From })
		f.Acked = append(f.Acked, ackRange{})
		copy(f.Acked[i+1:], f.Acked[i:])
		f.Acked[i] = r
		// Merge overlapping or touching ranges (duplicates overlap exactly).
		out := f.Acked[:1]
		for _, a := range f.Acked[1:] {
			last := &out[len(out)-1]
			if a.From <= last.End {
				last.End = max(last.End, a.End)
				continue
			}
			out = append(out, a)
		}
		f.Acked = out
	}
	moved := false
	for len(f.Acked) > 0 && f.Acked[0].From <= f.Next {
		if f.Acked[0].End > f.Next {
			f.Next = f.Acked[0].End
			moved = true
		}
		f.Acked = f.Acked[1:]
	}
	return moved
}

func (f *frontier) encode() []byte {
	b := binary.AppendVarint(nil, f.Next)
	b = binary.AppendUvarint(b, uint64(len(f.Acked)))
	for _, a := range f.Acked {
		b = binary.AppendVarint(b, a.From)
		b = binary.AppendVarint(b, a.End)
	}
	return b
}

func decodeFrontier(b []byte) (frontier, error) {
	d := decoder{b: b}
	f := frontier{Next: d.varint()}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail("range count")
	}
	for i := uint64(0); d.err == nil && i < n; i++ {
		f.Acked = append(f.Acked, ackRange{d.varint(), d.varint()})
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return f, d.err
}

// commitFn keeps the frontier of each partition in state and commits it.
type commitFn struct {
	Cfg      ReadConfig
	Frontier state.Value[[]byte]

	client    *kafka.Client
	transport *kafka.Transport
	// due holds, per partition, the newest frontier not yet committed by
	// this instance (moved in this bundle, or left by a failed commit).
	due map[topicPartition]int64
}

func (fn *commitFn) Setup() error {
	client, tr, err := fn.Cfg.client()
	if err != nil {
		return err
	}
	fn.client, fn.transport = client, tr
	fn.due = make(map[topicPartition]int64)
	return nil
}

func (fn *commitFn) Teardown() {
	if fn.transport != nil {
		fn.transport.CloseIdleConnections()
	}
}

func (fn *commitFn) ProcessElement(ctx context.Context, sp state.Provider, key string, p Position) error {
	// The frontier is kept in Beam state, and in this process too: prism
	// (v2.77.0) runs concurrent bundles of one key of a stateful DoFn, each
	// reading the state as it was before the others wrote it, so state
	// alone would lose acknowledgements there. Merging both is always
	// sound: each only ever holds offsets that were acknowledged.
	mu := processFrontiers.lock(fn.Cfg.GroupID, key)
	defer mu.Unlock()
	raw, ok, err := fn.Frontier.Read(sp)
	if err != nil {
		return err
	}
	f := frontier{Next: p.Base}
	if ok {
		if f, err = decodeFrontier(raw); err != nil {
			return fmt.Errorf("kafkaio: commit state of %s/%d: %w", p.Topic, p.Partition, err)
		}
	}
	if cached, ok := processFrontiers.get(fn.Cfg.GroupID, key); ok {
		f.merge(cached)
	}
	f.add(p)
	if err := fn.Frontier.Write(sp, f.encode()); err != nil {
		return err
	}
	processFrontiers.put(fn.Cfg.GroupID, key, f)
	if committedHigh.above(fn.Cfg.GroupID, topicPartition{p.Topic, p.Partition}, f.Next) {
		fn.due[topicPartition{p.Topic, p.Partition}] = f.Next
	}
	return nil
}

// processFrontiers holds the newest frontier of each group and partition
// seen in this process, with a lock per entry.
var processFrontiers = &frontierBook{m: map[string]*frontierEntry{}}

type frontierBook struct {
	mu sync.Mutex
	m  map[string]*frontierEntry
}

type frontierEntry struct {
	mu  sync.Mutex
	f   frontier
	set bool
}

func (b *frontierBook) entry(group, key string) *frontierEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := group + "\x00" + key
	e, ok := b.m[k]
	if !ok {
		e = &frontierEntry{}
		b.m[k] = e
	}
	return e
}

// lock locks the entry of group and key; the caller unlocks it.
func (b *frontierBook) lock(group, key string) *sync.Mutex {
	e := b.entry(group, key)
	e.mu.Lock()
	return &e.mu
}

// get and put are called with the entry locked.
func (b *frontierBook) get(group, key string) (frontier, bool) {
	e := b.entry(group, key)
	return frontier{Next: e.f.Next, Acked: append([]ackRange(nil), e.f.Acked...)}, e.set
}

func (b *frontierBook) put(group, key string, f frontier) {
	e := b.entry(group, key)
	e.f, e.set = frontier{Next: f.Next, Acked: append([]ackRange(nil), f.Acked...)}, true
}

// FinishBundle commits every frontier that moved. Retriable errors are
// retried with backoff for up to commitRetry; a commit that still fails is
// logged and left due, so the next bundle commits it or a later offset.
func (fn *commitFn) FinishBundle(ctx context.Context) error {
	if len(fn.due) == 0 {
		return nil
	}
	// One commit at a time per process, of the newest frontier this process
	// knows (another bundle may have moved it further since this one did):
	// commits never go backwards, and a later commit supersedes a failed one.
	commitMu.Lock()
	defer commitMu.Unlock()
	offsets := make(map[topicPartition]int64, len(fn.due))
	for tp := range fn.due {
		key := tp.topic + "/" + strconv.Itoa(tp.partition)
		mu := processFrontiers.lock(fn.Cfg.GroupID, key)
		f, _ := processFrontiers.get(fn.Cfg.GroupID, key)
		mu.Unlock()
		if committedHigh.above(fn.Cfg.GroupID, tp, f.Next) {
			offsets[tp] = f.Next
		} else {
			delete(fn.due, tp)
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	if err := commitOffsets(ctx, fn.client, fn.Cfg.GroupID, offsets, commitRetry(fn.Cfg)); err != nil {
		log.Warnf(ctx, "kafkaio: commit for group %q to %s: %v; a later commit will cover it", fn.Cfg.GroupID,
			fn.Cfg.brokers(), err)
		return nil
	}
	for tp, next := range offsets {
		committedHigh.set(fn.Cfg.GroupID, tp, next)
		delete(fn.due, tp)
	}
	return nil
}

// commitMu serialises the commits of this process.
var commitMu sync.Mutex

// commitRetry is how long one bundle retries a failing commit.
func commitRetry(cfg ReadConfig) time.Duration { return min(cfg.RetryTimeout, 30*time.Second) }

// commitOffsets commits offsets for group, retrying retriable errors (the
// coordinator loading or moving, timeouts, the broker unreachable) with
// backoff from 100ms doubling to 2s, for up to retry.
func commitOffsets(ctx context.Context, client *kafka.Client, group string, offsets map[topicPartition]int64, retry time.Duration) error {
	req := &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{}}
	for tp, next := range offsets {
		req.Topics[tp.topic] = append(req.Topics[tp.topic], kafka.OffsetCommit{Partition: tp.partition, Offset: next})
	}
	began := time.Now()
	backoff := 100 * time.Millisecond
	for {
		err := commitOnce(ctx, client, req)
		if err == nil {
			return nil
		}
		if !retriable(err) || ctx.Err() != nil || time.Since(began)+backoff > retry {
			return err
		}
		log.Debugf(ctx, "kafkaio: commit for group %q: %v; retrying in %v", group, err, backoff)
		sleep(ctx, backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

func commitOnce(ctx context.Context, client *kafka.Client, req *kafka.OffsetCommitRequest) error {
	ctx, cancel := context.WithTimeout(ctx, client.Timeout)
	defer cancel()
	res, err := client.OffsetCommit(ctx, req)
	if err != nil {
		return err
	}
	for t, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return fmt.Errorf("%s/%d: %w", t, p.Partition, p.Error)
			}
		}
	}
	return nil
}

// committedHigh remembers the highest offset this process committed per
// group and partition, so that an instance retrying an old, failed commit
// never moves a group's offset back behind a newer one.
var committedHigh = &highBook{m: map[string]int64{}}

type highBook struct {
	mu sync.Mutex
	m  map[string]int64
}

func highKey(group string, tp topicPartition) string {
	return group + "\x00" + tp.topic + "\x00" + strconv.Itoa(tp.partition)
}

// above reports whether next is above what was committed.
func (b *highBook) above(group string, tp topicPartition, next int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[highKey(group, tp)]
	return !ok || next > v
}

func (b *highBook) set(group string, tp topicPartition, next int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if k := highKey(group, tp); next > b.m[k] {
		b.m[k] = next
	}
}
