package transforms

import (
	"sync"
	"time"
)

// The per-process cache: one entry per key (model source + options), loaded
// at most once successfully and shared by every DoFn instance, stage and
// bundle of the worker process. On prism the job server and SDK harness share
// a process, so a whole local pipeline holds one copy of each model; on
// Dataflow each worker VM runs one SDK process by default, so each VM holds one
// copy (size memory for model bytes + activation scratch per concurrent batch,
// not per DoFn instance).
var shared struct {
	mu      sync.Mutex
	entries map[string]*sharedEntry
}

type sharedEntry struct {
	mu       sync.Mutex // serialises loads of this key only
	loaded   bool
	value    any
	loads    int
	loadTime time.Duration
}

// Shared returns the process-wide value for key, calling load the first time
// (and again only after a failed load). Concurrent callers for the same key
// wait for one load; different keys load in parallel.
func Shared[T any](key string, load func() (T, error)) (T, error) {
	shared.mu.Lock()
	if shared.entries == nil {
		shared.entries = map[string]*sharedEntry{}
	}
	e := shared.entries[key]
	if e == nil {
		e = &sharedEntry{}
		shared.entries[key] = e
	}
	shared.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loaded {
		return e.value.(T), nil
	}
	start := time.Now()
	v, err := load()
	if err != nil {
		var zero T
		return zero, err
	}
	e.value, e.loaded = v, true
	e.loads++
	e.loadTime = time.Since(start)
	return v, nil
}

// SharedLoads returns how many times the value for key has been loaded in
// this process (0 or 1 unless an earlier load failed or Forget was called).
func SharedLoads(key string) int {
	shared.mu.Lock()
	e := shared.entries[key]
	shared.mu.Unlock()
	if e == nil {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loads
}

// Forget drops the cached value for key (the next Shared call loads again;
// the load count is kept). Tests and long-lived processes that switch models
// use it.
func Forget(key string) {
	shared.mu.Lock()
	e := shared.entries[key]
	shared.mu.Unlock()
	if e == nil {
		return
	}
	e.mu.Lock()
	e.loaded, e.value = false, nil
	e.mu.Unlock()
}
