package fuzzguard

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB whose Fatalf records instead of stopping.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Name() string                   { return "recorder" }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }

var sink [][]byte

func TestQuickSmallInputPasses(t *testing.T) {
	r := &recorder{TB: t}
	Run(r, Limits{Time: time.Minute, Alloc: 64 << 20}, func() { sink = append(sink[:0], make([]byte, 1<<20)) })
	if r.failed != "" {
		t.Fatalf("a 1 MiB input failed: %s", r.failed)
	}
}

func TestTransientAllocationBombFails(t *testing.T) {
	// One 512 MiB buffer, dropped before fn returns: only the cumulative
	// counter sees it. (Untouched, so it costs address space, not memory.)
	// The watchdog may also see it if this goroutine is descheduled between
	// the make and the return (a loaded machine): its abort is replaced so
	// that it records instead of ending the test binary.
	withAbort(t)
	r := &recorder{TB: t}
	Run(r, Limits{Time: time.Minute, Alloc: 64 << 20}, func() {
		b := make([]byte, 512<<20)
		b[0] = 1
	})
	if !strings.Contains(r.failed, "allocation bomb") {
		t.Fatalf("a 512 MiB allocation under a 64 MiB limit: failure %q", r.failed)
	}
}

// withAbort replaces abort for the test and returns a channel of its message.
func withAbort(t *testing.T) <-chan string {
	got := make(chan string, 1)
	mu.Lock()
	old := abort
	defer mu.Unlock()
	abort = func(msg string) {
		select {
		case got <- msg:
		default:
		}
	}
	t.Cleanup(func() {
		mu.Lock()
		abort = old
		mu.Unlock()
	})
	return got
}

func TestHangIsStoppedWhileRunning(t *testing.T) {
	got := withAbort(t)
	r := &recorder{TB: t}
	Run(r, Limits{Time: 50 * time.Millisecond, Alloc: 64 << 20}, func() {
		select {
		case msg := <-got: // the watchdog fired while the input "hung"
			if !strings.Contains(msg, "still running after") {
				t.Errorf("watchdog message %q", msg)
			}
		case <-time.After(time.Minute):
			t.Error("the watchdog did not fire within a minute for a 50ms limit")
		}
	})
	if !strings.Contains(r.failed, "slow input") {
		t.Errorf("after the hang, Run's failure = %q", r.failed)
	}
}

func TestGrowingAllocationIsStoppedWhileRunning(t *testing.T) {
	got := withAbort(t)
	r := &recorder{TB: t}
	Run(r, Limits{Time: time.Minute, Alloc: 32 << 20}, func() {
		var keep [][]byte
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
			select {
			case msg := <-got:
				if !strings.Contains(msg, "allocation bomb") {
					t.Errorf("watchdog message %q", msg)
				}
				return
			default:
			}
			if len(keep) < 64 { // hold at most 64 MiB; keep allocating
				keep = append(keep, make([]byte, 1<<20))
			} else {
				keep[len(keep)%64] = make([]byte, 1<<20)
			}
			time.Sleep(time.Millisecond)
		}
		t.Error("the watchdog did not fire within a minute for a 32 MiB limit")
	})
}

// The real abort ends the process; run this test binary as a child.
func TestAbortEndsTheProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	for mode, want := range map[string]string{"hang": "still running after", "bomb": "an allocation bomb"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v")
		cmd.Env = append(os.Environ(), "FUZZGUARD_HELPER="+mode)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s: the child exited 0:\n%s", mode, out)
			continue
		}
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), "goroutines at the time") {
			t.Errorf("%s: child output lacks %q and the stacks:\n%s", mode, want, out)
		}
	}
}

func TestHelperProcess(t *testing.T) {
	switch os.Getenv("FUZZGUARD_HELPER") {
	case "hang":
		Run(t, Limits{Time: 100 * time.Millisecond}, func() { select {} })
	case "bomb":
		Run(t, Limits{Time: time.Minute, Alloc: 16 << 20}, func() {
			for i := 0; ; i++ {
				sink = append(sink[:0], make([]byte, 1<<20))
				time.Sleep(time.Millisecond)
			}
		})
	default:
		t.Skip("helper for TestAbortEndsTheProcess")
	}
	t.Fatal("Run returned")
}
