package fuzzguard

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Limits bound one input's run. A zero field takes its default; the
// environment variables FLAVABEAM_FUZZ_TIME (a time.Duration) and
// FLAVABEAM_FUZZ_ALLOC_MB override the defaults (not explicit values), for
// a slower machine.
type Limits struct {
	// Time is the wall-clock limit per input. Default DefaultTime.
	Time time.Duration
	// Alloc is the limit on bytes allocated on the heap while one input
	// runs (cumulative, freed or not). Default DefaultAlloc.
	Alloc uint64
}

const (
	// DefaultTime is generous: the targets take milliseconds per input, but
	// a loaded 2-core machine can stall a process for seconds.
	DefaultTime = 10 * time.Second
	// DefaultAlloc is 256 MiB: far above what any target needs for the
	// small inputs a fuzzer generates, far below what takes a worker down.
	DefaultAlloc = 256 << 20
)

func (l Limits) withDefaults() Limits {
	if l.Time <= 0 {
		l.Time = DefaultTime
		if d, err := time.ParseDuration(os.Getenv("FLAVABEAM_FUZZ_TIME")); err == nil && d > 0 {
			l.Time = d
		}
	}
	if l.Alloc == 0 {
		l.Alloc = DefaultAlloc
		if mb, err := strconv.ParseUint(os.Getenv("FLAVABEAM_FUZZ_ALLOC_MB"), 10, 32); err == nil && mb > 0 {
			l.Alloc = mb << 20
		}
	}
	return l
}

const allocsMetric = "/gc/heap/allocs:bytes"

// allocated returns the bytes allocated on the heap since the process started.
func allocated() uint64 {
	s := []metrics.Sample{{Name: allocsMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		panic("fuzzguard: runtime/metrics has no " + allocsMetric)
	}
	return s[0].Value.Uint64()
}

// run is one input being watched.
type run struct {
	name  string
	start time.Time
	base  uint64
	lim   Limits
}

var (
	mu      sync.Mutex
	active  = map[*run]struct{}{}
	started bool
	// pollEvery is how often the watchdog looks; a var for the tests.
	pollEvery = 5 * time.Millisecond
	// abort ends the process (replaced in this package's tests; guarded by mu).
	abort = func(msg string) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "%s\n\ngoroutines at the time:\n%s\n", msg, buf)
		panic(msg)
	}
)

// watch is the single watchdog goroutine of the process.
func watch() {
	for {
		time.Sleep(pollEvery)
		mu.Lock()
		if len(active) == 0 {
			mu.Unlock()
			continue
		}
		now := allocated()
		var msg string
		for r := range active {
			switch el, got := time.Since(r.start), now-r.base; {
			case el > r.lim.Time:
				msg = fmt.Sprintf("fuzzguard: %s still running after %v (limit %v): a slow or non-terminating input", r.name, el.Round(time.Millisecond), r.lim.Time)
			case got > r.lim.Alloc:
				msg = fmt.Sprintf("fuzzguard: %s allocated %d bytes so far (limit %d): an allocation bomb", r.name, got, r.lim.Alloc)
			}
		}
		stop := abort
		mu.Unlock()
		if msg != "" {
			stop(msg)
		}
	}
}

// Run calls fn, which is one input's work, on the calling (test) goroutine
// under the watchdog: see the package doc. fn may call t.Fatal. Runs may
// not overlap in time (no t.Parallel in guarded tests).
func Run(t testing.TB, lim Limits, fn func()) {
	t.Helper()
	lim = lim.withDefaults()
	r := &run{name: t.Name(), lim: lim}
	mu.Lock()
	if !started {
		started = true
		go watch()
	}
	r.start, r.base = time.Now(), allocated()
	active[r] = struct{}{}
	mu.Unlock()
	defer func() {
		mu.Lock()
		delete(active, r)
		mu.Unlock()
	}()
	fn()
	got := allocated() - r.base
	el := time.Since(r.start)
	if got > lim.Alloc {
		t.Fatalf("fuzzguard: input allocated %d bytes (limit %d): an allocation bomb", got, lim.Alloc)
	}
	if el > lim.Time {
		t.Fatalf("fuzzguard: input ran %v (limit %v): a slow input", el.Round(time.Millisecond), lim.Time)
	}
}
