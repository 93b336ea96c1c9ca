package transforms

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBatcherCoalescesConcurrentSubmitters(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	b := NewBatcher(BatcherOptions{MaxBatchSize: 8, MaxWait: 200 * time.Millisecond},
		func(in []int) ([]int, error) {
			out := make([]int, len(in))
			for i, v := range in {
				out[i] = v * 2
			}
			return out, nil
		},
		func(s BatchStats) { mu.Lock(); sizes = append(sizes, s.Size); mu.Unlock() })
	defer b.Close()
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			got, err := b.Submit(context.Background(), i)
			if err != nil || got != 2*i {
				t.Errorf("Submit(%d) = %d, %v", i, got, err)
			}
		}(i)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	total, biggest := 0, 0
	for _, s := range sizes {
		total += s
		biggest = max(biggest, s)
	}
	if total != 32 || biggest != 8 || len(sizes) > 8 {
		t.Fatalf("batch sizes %v: want 32 items in full batches of 8", sizes)
	}
}

func TestBatcherQueueIsBounded(t *testing.T) {
	release := make(chan struct{})
	var running atomic.Int32
	b := NewBatcher(BatcherOptions{MaxBatchSize: 2, MaxWait: -1, QueueSize: 3},
		func(in []int) ([]int, error) { running.Add(1); <-release; return in, nil }, nil)
	var submitted atomic.Int32
	for i := 0; i < 20; i++ {
		go func(i int) {
			submitted.Add(1)
			b.Submit(context.Background(), i)
		}(i)
	}
	time.Sleep(100 * time.Millisecond)
	// one batch (≤2) running + 3 queued: the rest are blocked in Submit
	if n := len(b.queue); n != 3 {
		t.Fatalf("queue holds %d items, want it full at 3", n)
	}
	close(release)
	b.Close()
}

func TestBatcherErrorAndPanicFailOnlyTheirBatch(t *testing.T) {
	b := NewBatcher(BatcherOptions{MaxBatchSize: 1, MaxWait: -1},
		func(in []int) ([]int, error) {
			switch in[0] {
			case 1:
				return nil, errors.New("boom")
			case 2:
				panic("kaboom")
			}
			return in, nil
		}, nil)
	defer b.Close()
	if _, err := b.Submit(context.Background(), 1); err == nil {
		t.Error("error batch: want error")
	}
	if _, err := b.Submit(context.Background(), 2); err == nil {
		t.Error("panicking batch: want error")
	}
	if v, err := b.Submit(context.Background(), 3); err != nil || v != 3 {
		t.Errorf("good item after failures = %d, %v", v, err)
	}
	b.Close()
	if _, err := b.Submit(context.Background(), 4); !errors.Is(err, ErrBatcherClosed) {
		t.Errorf("after Close: %v, want ErrBatcherClosed", err)
	}
}

func TestBatcherRunsWhenEveryProducerWaits(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	b := NewBatcher(BatcherOptions{MaxBatchSize: 8, MaxWait: time.Minute},
		func(in []int) ([]int, error) { return in, nil },
		func(s BatchStats) { mu.Lock(); sizes = append(sizes, s.Size); mu.Unlock() })
	defer b.Close()
	ctx := context.Background()
	// One producer: its lone item does not wait out MaxWait.
	b.Enter("a")
	start := time.Now()
	if v, err := b.SubmitFrom(ctx, "a", 1); err != nil || v != 1 {
		t.Fatalf("SubmitFrom = %d, %v", v, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("a lone producer waited %v", d)
	}
	// Two producers: the first waits for the second, then both share a batch.
	b.Enter("b")
	res := make(chan int)
	go func() { v, _ := b.SubmitFrom(ctx, "a", 2); res <- v }()
	select {
	case <-res:
		t.Fatal("ran before the second producer submitted")
	case <-time.After(100 * time.Millisecond):
	}
	outs, errs := b.SubmitAllFrom(ctx, "b", []int{3, 4})
	if errs[0] != nil || errs[1] != nil || outs[0] != 3 || outs[1] != 4 || <-res != 2 {
		t.Fatalf("SubmitAllFrom = %v %v", outs, errs)
	}
	// A producer entered twice (two DoFns of one bundle) is one producer.
	b.Enter("b")
	b.Leave("b")
	b.Leave("b")
	b.Leave("a")
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 2 || sizes[0] != 1 || sizes[1] != 3 {
		t.Fatalf("batch sizes %v, want [1 3]", sizes)
	}
}
