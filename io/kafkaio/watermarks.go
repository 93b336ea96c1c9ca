package kafkaio

import (
	"crypto/rand"
	"encoding/hex"
	"math"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
)

// Why the partitions of one Read share their watermarks within a process.
//
// Beam's prism runner (v2.77, runners/prism/internal/engine/elementmanager.go)
// sets the output watermark of a splittable DoFn stage from the output
// watermarks of the residuals of the last bundle that finished
// (stageState.estimatedOutput), and that estimate overrides the input
// watermark, the one pending and in-progress elements hold. When the
// partitions of a topic are read in separate bundles, one caught-up
// partition's watermark (now − IdleLag) therefore becomes the stage's
// watermark while another partition's bundle holds records fetched but not
// yet committed: event-time windows downstream fire before those records
// arrive and drop them as late. TestUnboundedWatermarkFiresWindows lost one
// partition's records this way in roughly one run in fifty.
//
// The fix: each partition records, when a bundle of it starts, its
// watermark at that point (what its previous bundle reported, now committed
// with that bundle), and reports to the runner the minimum of its own
// watermark and the recorded ones of the Read's other partitions in this
// process. Records another partition has emitted in a bundle still in flight
// are never older than that partition's recorded watermark (older ones were
// late already), so no window can close under them. Reporting less than its
// own watermark is always correct (a watermark is a lower bound); the cost is
// that a partition's watermark trails its siblings' by up to one of their
// bundles. On a one-process runner (prism) the minimum is over every
// partition. On distributed runners, which track a watermark per residual and
// do not need this, it is over the partitions read by one worker process;
// entries not refreshed within staleAfter stop counting, so a partition read
// elsewhere (or seeded by the partition lister of a worker that reads none of
// them) holds nothing back for long.

// wmEntry is one partition's last reported watermark (Unix milliseconds).
type wmEntry struct {
	ms int64
	at time.Time
}

// wmRegistry holds the partitions' watermarks of every Read in the process,
// keyed by the Read's instance id.
type wmRegistry struct {
	mu    sync.Mutex
	reads map[string]map[topicPartition]wmEntry
}

var sharedWatermarks = &wmRegistry{reads: map[string]map[topicPartition]wmEntry{}}

// newReadInstance returns a random id that names one Read transform.
func newReadInstance() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("kafkaio: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// seed records partitions about to be read at the minimum watermark, unless
// they are already known: until their first bundle reports, they hold the
// others back. It also forgets entries of Reads that stopped reporting (a
// finished pipeline's) so that the registry does not grow in a long-lived
// worker process.
func (r *wmRegistry) seed(read string, tps []topicPartition, now time.Time, staleAfter time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, m := range r.reads {
		for tp, e := range m {
			if now.Sub(e.at) > staleAfter {
				delete(m, tp)
			}
		}
		if len(m) == 0 {
			delete(r.reads, id)
		}
	}
	m := r.reads[read]
	if m == nil {
		m = map[topicPartition]wmEntry{}
		r.reads[read] = m
	}
	for _, tp := range tps {
		if _, ok := m[tp]; !ok {
			m[tp] = wmEntry{ms: int64(mtime.MinTimestamp), at: now}
		}
	}
}

// update records tp's watermark at the start of one of its bundles.
func (r *wmRegistry) update(read string, tp topicPartition, ms int64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.reads[read]
	if m == nil {
		m = map[topicPartition]wmEntry{}
		r.reads[read] = m
	}
	m[tp] = wmEntry{ms: ms, at: now}
}

// touch marks tp's entry as fresh without changing its watermark (a bundle
// of tp is still running).
func (r *wmRegistry) touch(read string, tp topicPartition, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.reads[read][tp]; ok {
		e.at = now
		r.reads[read][tp] = e
	}
}

// minOthers returns the smallest watermark among read's partitions other
// than self refreshed within staleAfter of now (math.MaxInt64 when there is
// none), and drops the stale ones.
func (r *wmRegistry) minOthers(read string, self topicPartition, now time.Time, staleAfter time.Duration) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := int64(math.MaxInt64)
	m := r.reads[read]
	for tp, e := range m {
		if now.Sub(e.at) > staleAfter {
			delete(m, tp)
			continue
		}
		if tp != self {
			out = min(out, e.ms)
		}
	}
	if m != nil && len(m) == 0 {
		delete(r.reads, read)
	}
	return out
}

// sharedWatermark ties one partition's estimator to its Read's entries.
type sharedWatermark struct {
	reg        *wmRegistry
	read       string
	tp         topicPartition
	staleAfter time.Duration
}

// start records the partition's watermark as a bundle of it starts.
func (s *sharedWatermark) start(own int64) { s.reg.update(s.read, s.tp, own, time.Now()) }

// touch keeps the partition's entry fresh during a long bundle.
func (s *sharedWatermark) touch() { s.reg.touch(s.read, s.tp, time.Now()) }

// report returns the watermark to report to the runner: own, or less when a
// sibling partition is behind.
func (s *sharedWatermark) report(own int64) int64 {
	return min(own, s.reg.minOthers(s.read, s.tp, time.Now(), s.staleAfter))
}

// staleAfter is how long a partition's entry counts without being
// refreshed: a partition is refreshed at least once per fetch, and a fetch
// ends within MaxWait (plus ResumeDelay between bundles); a generous floor
// covers a starved machine.
func (c ReadConfig) staleAfter() time.Duration {
	return max(30*time.Second, 4*(c.MaxWait+c.ResumeDelay+c.CheckpointInterval))
}
