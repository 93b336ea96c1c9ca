package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// threads is the number of cores a single kernel call may use.
var threads atomic.Int64

// The pool is Threads()-1 long-lived worker goroutines. A caller hands a
// chunk to a worker only if one is idle at that moment; otherwise it runs the
// chunk inline. So N concurrent callers never run more than N+Threads()-1
// goroutines of kernel work between them — the workers are the shared
// tokens — and nested calls (a kernel running inside a pool chunk) cannot
// deadlock.
//
// An idle worker first spins for a short while (SetSpin, default
// defaultSpin) watching its slot, then parks on a channel. Back-to-back
// parallel sections — a transformer layer is about ten of them, a batch-1
// ViT forward some 120 — then find the worker awake instead of waking a
// parked goroutine whose core has gone idle (on a VM, a halted vCPU waits
// for the hypervisor). The caller likewise spins before blocking on its
// chunks. Measured on a 2-vCPU Zen 4 VM, GOMAXPROCS=2 (BenchmarkPoolSpin,
// three runs): a 197×768×768 packed product on two threads took 1215–1640
// µs without spinning and 1096–1118 µs with it (one thread: 2089–2200 µs).
// A whole batch-1 ViT-B/16 forward gains less than its run-to-run noise
// (BenchmarkImageEncoderSpin: 185–205 ms without, 188–196 ms with).
// Spinning shows up as CPU time, bounded by the spin window per section.
//
// Dispatch allocates nothing: work items are values, the job is an interface
// holding a pointer, and the waiters are pooled. That is what lets the fast
// kernels report 0 allocs/op in steady state.
type workerPool struct {
	workers []*worker
	closed  atomic.Bool
	quit    chan struct{}
	// spins is false when the pool has more threads than GOMAXPROCS: a
	// spinning goroutine would then hold a P another one is waiting for.
	spins bool
}

// spinFor is how long p's workers and callers spin now.
func (p *workerPool) spinFor() time.Duration {
	if !p.spins {
		return 0
	}
	return time.Duration(spinNanos.Load())
}

// worker is one pool goroutine's slot. state moves idle → claimed (a
// caller won the slot and is writing item) → busy (item ready) → idle; a
// worker that stops spinning moves idle → parked, and a caller that claims
// a parked worker wakes it after publishing the item.
type worker struct {
	state atomic.Int32
	item  workItem
	wake  chan struct{} // buffered 1
}

const (
	workerIdle int32 = iota
	workerClaimed
	workerBusy
	workerParked
	workerGone // the pool was replaced and the goroutine has exited
)

type workItem struct {
	job    rangeJob
	lo, hi int
	w      *waiter
}

// waiter counts a parallelRun's chunks still running on workers: left for
// the caller's spin, wg for its blocking wait.
type waiter struct {
	left atomic.Int32
	wg   sync.WaitGroup
}

// rangeJob is a unit of parallel work over an index range. Kernels implement it
// on pooled structs so that dispatch does not allocate a closure.
type rangeJob interface{ run(lo, hi int) }

// funcJob adapts a plain function (ParallelFor's argument) to rangeJob.
type funcJob func(lo, hi int)

func (f funcJob) run(lo, hi int) { f(lo, hi) }

var (
	poolMu     sync.Mutex
	current    atomic.Pointer[workerPool]
	waiterPool freeList[waiter]
	spinNanos  atomic.Int64
)

// defaultSpin is how long an idle worker, and a caller waiting for its
// chunks, spin before blocking.
const defaultSpin = 200 * time.Microsecond

func init() {
	spinNanos.Store(int64(defaultSpin))
	SetThreads(runtime.GOMAXPROCS(0))
}

// SetSpin sets how long idle pool workers, and callers waiting for them,
// spin before blocking (default 200 µs; 0 turns spinning off, so idle
// workers block at once) and returns the previous value. Spinning trades a
// little CPU time between parallel sections for not waking sleeping cores
// at each one; turn it off where the cores are shared with other busy work.
// A pool with more threads than GOMAXPROCS (SetThreads) never spins.
func SetSpin(d time.Duration) time.Duration {
	return time.Duration(spinNanos.Swap(max(0, int64(d))))
}

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
	p := &workerPool{quit: make(chan struct{}), spins: n <= runtime.GOMAXPROCS(0)}
	for i := 0; i < n-1; i++ { // the caller's own goroutine is the n-th
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.run(w)
	}
	if old := current.Swap(p); old != nil {
		old.closed.Store(true)
		close(old.quit)
	}
	return prev
}

// post hands it to an idle worker and reports whether one took it.
func (p *workerPool) post(it workItem) bool {
	for _, w := range p.workers {
		s := w.state.Load()
		if (s == workerIdle || s == workerParked) && w.state.CompareAndSwap(s, workerClaimed) {
			w.item = it
			w.state.Store(workerBusy)
			if s == workerParked {
				w.wake <- struct{}{}
			}
			return true
		}
	}
	return false
}

func (p *workerPool) run(w *worker) {
	t0, spin := time.Now(), p.spinFor()
	for i := 1; ; i++ {
		switch s := w.state.Load(); s {
		case workerBusy:
			w.runItem()
			t0, spin = time.Now(), p.spinFor()
			continue
		case workerClaimed:
			continue // a caller is writing the item
		case workerParked:
			select {
			case <-w.wake:
			case <-p.quit:
				if w.state.CompareAndSwap(workerParked, workerGone) {
					return
				}
				// claimed just before the pool was replaced: run it first
			}
			t0, spin = time.Now(), p.spinFor()
			continue
		}
		if i&63 != 0 {
			continue
		}
		if p.closed.Load() {
			// Leave only from idle, so that no caller can claim the slot
			// of a goroutine that has gone.
			if w.state.CompareAndSwap(workerIdle, workerGone) {
				return
			}
			continue
		}
		if time.Since(t0) >= spin {
			w.state.CompareAndSwap(workerIdle, workerParked) // else claimed meanwhile
		}
	}
}

// runItem runs the posted item and frees the slot before telling the
// caller, so that the caller's next section finds this worker idle.
func (w *worker) runItem() {
	it := w.item
	w.item = workItem{}
	it.job.run(it.lo, it.hi)
	w.state.Store(workerIdle)
	it.w.left.Add(-1)
	it.w.wg.Done()
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
	var w *waiter
	chunk := (n + parts - 1) / parts
	for lo := chunk; lo < n; lo += chunk { // chunk 0 runs on the caller
		hi := min(lo+chunk, n)
		if w == nil {
			w = waiterPool.get()
		}
		w.left.Add(1)
		w.wg.Add(1)
		if !p.post(workItem{job: job, lo: lo, hi: hi, w: w}) {
			w.left.Add(-1)
			w.wg.Done()
			job.run(lo, hi)
		}
	}
	job.run(0, min(chunk, n))
	if w != nil {
		if spin := p.spinFor(); spin > 0 && w.left.Load() > 0 {
			t0 := time.Now()
			for i := 1; w.left.Load() > 0; i++ {
				if i&63 == 0 && time.Since(t0) >= spin {
					break
				}
			}
		}
		w.wg.Wait()
		waiterPool.put(w)
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
