package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestParallelForRunsEveryChunkOnce hands out many sections from several
// goroutines, nested ones included, while the pool is replaced and the spin
// window changes underneath: every index must run exactly once and nothing
// may deadlock.
func TestParallelForRunsEveryChunkOnce(t *testing.T) {
	defer SetThreads(SetThreads(3))
	defer SetSpin(SetSpin(defaultSpin))
	const n = 97
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			counts := make([]atomic.Int32, n*n)
			for it := 0; ; it++ {
				select {
				case <-stop:
					return
				default:
				}
				ParallelFor(n, 1, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						ParallelFor(n, 7, func(lo2, hi2 int) { // nested
							for j := lo2; j < hi2; j++ {
								counts[i*n+j].Add(1)
							}
						})
					}
				})
				for i := range counts {
					if c := counts[i].Swap(0); c != 1 {
						t.Errorf("iteration %d: index %d ran %d times", it, i, c)
						return
					}
				}
			}
		})
	}
	deadline := time.Now().Add(500 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		SetThreads(1 + i%4)
		SetSpin(time.Duration(i%3) * 50 * time.Microsecond)
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
}

// TestSetSpin checks the setter's contract.
func TestSetSpin(t *testing.T) {
	prev := SetSpin(0)
	defer SetSpin(prev)
	if got := SetSpin(-time.Second); got != 0 {
		t.Errorf("SetSpin returned %v, want the 0 set before", got)
	}
	if got := SetSpin(time.Millisecond); got != 0 {
		t.Errorf("a negative spin was stored as %v, want 0", got)
	}
	ParallelFor(10, 1, func(lo, hi int) {}) // spin 1 ms: still returns
}

// TestReplacedPoolWorkersExit checks that replacing the pool leaves no
// worker goroutine behind, spinning or parked.
func TestReplacedPoolWorkersExit(t *testing.T) {
	defer SetThreads(SetThreads(4))
	old := current.Load()
	ParallelFor(8, 1, func(lo, hi int) {})
	SetThreads(2)
	deadline := time.Now().Add(10 * time.Second)
	for _, w := range old.workers {
		for w.state.Load() != workerGone {
			if time.Now().After(deadline) {
				t.Fatalf("a worker of the replaced pool is still in state %d", w.state.Load())
			}
			time.Sleep(time.Millisecond)
		}
	}
}
