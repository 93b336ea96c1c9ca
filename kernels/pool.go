package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads is the number of cores a single kernel call may use.
var threads atomic.Int64

// tokens bounds the helper goroutines running at once across all callers: a
// call that finds no free token does its share inline, so N concurrent callers
// never run more than Threads() goroutines of kernel work between them.
var (
	tokensMu sync.Mutex
	tokens   chan struct{}
)

func init() { SetThreads(runtime.GOMAXPROCS(0)) }

// SetThreads sets how many cores kernels may use (n < 1 means GOMAXPROCS) and
// returns the previous value. It is safe to call at any time; calls already
// running keep the tokens they hold.
func SetThreads(n int) int {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	tokensMu.Lock()
	defer tokensMu.Unlock()
	prev := int(threads.Swap(int64(n)))
	tokens = make(chan struct{}, n-1) // the caller's own goroutine is the n-th
	for i := 0; i < n-1; i++ {
		tokens <- struct{}{}
	}
	return prev
}

// Threads returns the number of cores kernels may use.
func Threads() int { return int(threads.Load()) }

// ParallelFor splits [0, n) into at most Threads() contiguous chunks of at least
// grain items and calls fn(lo, hi) for each, concurrently where worker tokens are
// free. It returns when every chunk is done.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	parts := min(Threads(), (n+grain-1)/grain)
	if parts <= 1 {
		fn(0, n)
		return
	}
	tokensMu.Lock()
	tk := tokens
	tokensMu.Unlock()
	var wg sync.WaitGroup
	chunk := (n + parts - 1) / parts
	lo := chunk // chunk 0 runs on the caller
	for ; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		select {
		case <-tk:
			wg.Add(1)
			go func(lo, hi int) {
				defer func() { tk <- struct{}{}; wg.Done() }()
				fn(lo, hi)
			}(lo, hi)
		default:
			fn(lo, hi)
		}
	}
	fn(0, min(chunk, n))
	wg.Wait()
}
