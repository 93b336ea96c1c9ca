package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads is the number of cores a single kernel call may use.
var threads atomic.Int64

// The pool is Threads()-1 long-lived worker goroutines that receive work over
// an unbuffered channel. A caller hands a chunk to a worker only if one is idle
// at that moment (a non-blocking send); otherwise it runs the chunk inline. So
// N concurrent callers never run more than N+Threads()-1 goroutines of kernel
// work between them — the workers are the shared tokens — and nested calls
// (a kernel running inside a pool chunk) cannot deadlock.
//
// Dispatch allocates nothing: work items are values, the job is an interface
// holding a pointer, and the WaitGroups are pooled. That is what lets the
// fast kernels report 0 allocs/op in steady state.
type workerPool struct {
	work chan workItem
	quit chan struct{}
}

type workItem struct {
	job    rangeJob
	lo, hi int
	wg     *sync.WaitGroup
}

// rangeJob is a unit of parallel work over an index range. Kernels implement it
// on pooled structs so that dispatch does not allocate a closure.
type rangeJob interface{ run(lo, hi int) }

// funcJob adapts a plain function (ParallelFor's argument) to rangeJob.
type funcJob func(lo, hi int)

func (f funcJob) run(lo, hi int) { f(lo, hi) }

var (
	poolMu  sync.Mutex
	current atomic.Pointer[workerPool]
	wgPool  freeList[sync.WaitGroup]
)

func init() { SetThreads(runtime.GOMAXPROCS(0)) }

// SetThreads sets how many cores kernels may use (n < 1 means GOMAXPROCS) and
// returns the previous value. It is safe to call at any time; chunks already
// handed to workers finish on the old workers.
func SetThreads(n int) int {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	prev := int(threads.Swap(int64(n)))
	p := &workerPool{work: make(chan workItem), quit: make(chan struct{})}
	for i := 0; i < n-1; i++ { // the caller's own goroutine is the n-th
		go p.worker()
	}
	if old := current.Swap(p); old != nil {
		close(old.quit)
	}
	return prev
}

func (p *workerPool) worker() {
	for {
		select {
		case it := <-p.work:
			it.job.run(it.lo, it.hi)
			it.wg.Done()
		case <-p.quit:
			return
		}
	}
}

// Threads returns the number of cores kernels may use.
func Threads() int { return int(threads.Load()) }

// ParallelFor splits [0, n) into at most Threads() contiguous chunks of at least
// grain items and calls fn(lo, hi) for each, concurrently where workers are
// idle. It returns when every chunk is done.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	parallelRun(n, grain, funcJob(fn))
}

// parallelRun is ParallelFor for a rangeJob; it does not allocate.
func parallelRun(n, grain int, job rangeJob) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	parts := min(Threads(), (n+grain-1)/grain)
	if parts <= 1 {
		job.run(0, n)
		return
	}
	p := current.Load()
	var wg *sync.WaitGroup
	chunk := (n + parts - 1) / parts
	for lo := chunk; lo < n; lo += chunk { // chunk 0 runs on the caller
		hi := min(lo+chunk, n)
		if wg == nil {
			wg = wgPool.get()
		}
		wg.Add(1)
		select {
		case p.work <- workItem{job: job, lo: lo, hi: hi, wg: wg}:
		default:
			wg.Done()
			job.run(lo, hi)
		}
	}
	job.run(0, min(chunk, n))
	if wg != nil {
		wg.Wait()
		wgPool.put(wg)
	}
}

// freeList is a mutex-guarded stack of reusable scratch (packing buffers,
// job structs, WaitGroups). Unlike sync.Pool it never drops items — not at a
// GC, and not when a buffer was put back on another P's private slot — so
// steady-state calls allocate nothing at any thread count. It holds at most
// as many items as were ever in use at once (for the 1.8 MiB GEMM packing
// buffers: the number of goroutines that ran Sgemm concurrently).
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
	newT  func() *T // nil: new(T)
}

func (f *freeList[T]) get() *T {
	f.mu.Lock()
	if n := len(f.items); n > 0 {
		x := f.items[n-1]
		f.items[n-1] = nil
		f.items = f.items[:n-1]
		f.mu.Unlock()
		return x
	}
	f.mu.Unlock()
	if f.newT != nil {
		return f.newT()
	}
	return new(T)
}

func (f *freeList[T]) put(x *T) {
	f.mu.Lock()
	f.items = append(f.items, x)
	f.mu.Unlock()
}
