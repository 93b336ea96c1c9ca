package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/flavabeam/flavabeam/schemas"
)

// cliArgsEnv makes the test binary run the CLI with these arguments
// (separated by \x1f) instead of the tests: signal and kill tests start it
// as a child process, as an operator or Kubernetes runs the command.
const cliArgsEnv = "FLAVABEAM_TEST_CLI_ARGS"

// cliMain is main for a child started by startCLI.
func cliMain(args []string) int {
	ctx, stop := stopOnSignals(context.Background(), os.Stderr)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr)
}

// child is the CLI running in a child process.
type child struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

// syncBuffer is a bytes.Buffer safe to read while the child writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startCLI(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0]), stderr: &syncBuffer{}, done: make(chan error, 1)}
	c.cmd.Env = append(os.Environ(), cliArgsEnv+"="+strings.Join(args, "\x1f"))
	c.cmd.Stderr = c.stderr
	c.cmd.Stdout = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() { c.cmd.Process.Kill() })
	return c
}

// streamBrokers starts an in-process fake broker with the topics; the
// child reaches it over TCP. (Against the real broker this test hung in 3
// of 8 runs on a machine at load average 15-30 in a way not yet diagnosed:
// a child that printed nothing for 3 minutes; see the test's SIGQUIT dump
// when it happens. pipelines' real-broker drain and restart tests cover the
// same job in-process.)
func streamBrokers(t *testing.T, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func sumOffsets(t *testing.T, brokers []string, group, topic string) (committed, end int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second, Transport: &kafka.Transport{}}
	var res *kafka.ListOffsetsResponse
	var err error
	for try := 0; try < 5; try++ { // a pooled connection the broker closed fails once
		res, err = client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
			topic: {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1)}}})
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Topics[topic] {
		end += p.LastOffset
	}
	if group == "" {
		return 0, end
	}
	f, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1}}})
	if err != nil {
		return 0, end
	}
	for _, p := range f.Topics[topic] {
		if p.CommittedOffset > 0 {
			committed += p.CommittedOffset
		}
	}
	return committed, end
}

func outputKeys(t *testing.T, brokers []string, topic string, n int64) map[string]int {
	t.Helper()
	got := map[string]int{}
	for p := 0; p < 2; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		_, end := sumOffsets(t, brokers, "", topic)
		for read := int64(0); ; read++ {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			m, err := r.ReadMessage(ctx)
			cancel()
			if err != nil || read > end {
				break
			}
			got[string(m.Key)]++
		}
		r.Close()
	}
	return got
}

// TestStreamingKillThenSIGTERM runs a streaming job with committed offsets
// in a child process, kills it with SIGKILL part-way, restarts it from the
// committed offsets, and stops the second one with SIGTERM: nothing is
// lost, the duplicates are at most what the killed run wrote, the second
// run exits 0, and the committed offsets equal the input's end.
func TestStreamingKillThenSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the CLI twice in child processes")
	}
	stamp := time.Now().UnixNano()
	in, out := fmt.Sprintf("sig-in-%d", stamp), fmt.Sprintf("sig-out-%d", stamp)
	group := fmt.Sprintf("sig-group-%d", stamp)
	brokers := streamBrokers(t, in, out, out+"-dead-letters")
	const n = 300
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: in, Balancer: kafka.Murmur2Balancer{}, BatchTimeout: time.Millisecond}
	var msgs []kafka.Message
	for i := 0; i < n; i++ {
		k, v, _, err := schemas.CodecJSON.EncodeImageText(schemas.ImageText{ID: fmt.Sprintf("r%04d", i), Text: fmt.Sprintf("caption %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Key: k, Value: v})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	args := []string{"embed", "--input-topic", in, "--output-topic", out, "--kafka-brokers", strings.Join(brokers, ","),
		"--streaming", "--group-id", group, "--start-from", "committed", "--commit-offsets", "--progress=0", "--batch-size", "2"}

	first := startCLI(t, args...)
	wait := func(c *child, what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); !cond(); time.Sleep(100 * time.Millisecond) {
			select {
			case err := <-c.done:
				t.Fatalf("the CLI ended while waiting for %s: %v\n%s", what, err, c.stderr)
			default:
			}
			if time.Now().After(deadline) {
				// Ask the child for its goroutines (SIGQUIT) so that a hang
				// can be diagnosed from the test log.
				c.cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-c.done:
				case <-time.After(5 * time.Second):
				}
				t.Fatalf("no %s after 3 minutes; the CLI's output:\n%s", what, c.stderr)
			}
		}
	}
	wait(first, "first outputs", func() bool { _, e := sumOffsets(t, brokers, "", out); return e >= 20 })
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	_, wroteBeforeKill := sumOffsets(t, brokers, "", out)
	committedAtKill, _ := sumOffsets(t, brokers, group, in)

	second := startCLI(t, args...)
	wait(second, "every record", func() bool { return len(outputKeys(t, brokers, out, n)) >= n })
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second.done:
		if err != nil {
			t.Fatalf("after SIGTERM the CLI exited with %v\n%s", err, second.stderr)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("the CLI did not exit within 3 minutes of SIGTERM\n%s", second.stderr)
	}
	got := outputKeys(t, brokers, out, n)
	dups := 0
	for i := 0; i < n; i++ {
		c := got[fmt.Sprintf("r%04d", i)]
		if c == 0 {
			t.Errorf("record r%04d lost", i)
		}
		dups += max(0, c-1)
	}
	committed, end := sumOffsets(t, brokers, group, in)
	t.Logf("killed after %d outputs (%d offsets committed then); %d duplicates; committed %d of %d after SIGTERM",
		wroteBeforeKill, committedAtKill, dups, committed, end)
	if int64(dups) > wroteBeforeKill {
		t.Errorf("%d duplicates, more than the %d records the killed run wrote", dups, wroteBeforeKill)
	}
	if committed != end {
		t.Errorf("after SIGTERM the group committed %d of %d offsets\n%s", committed, end, second.stderr)
	}
	if strings.Contains(second.stderr.String(), "level=ERROR") {
		t.Errorf("a clean run logged errors:\n%s", second.stderr)
	}
}

func TestRootCauseDropsThePlan(t *testing.T) {
	err := fmt.Errorf("job job-001 failed:\nbundle inst001 failed: while executing Process for Plan[stage-001]:\n1: DataSource[...]\n\tcaused by:\nsource failed processing data\n\tcaused by:\nDoFn[UID:8, PID:e2, Name: x.listPartitionsFn] failed:\nkafkaio: topic \"t\" does not exist")
	if got := rootCause(err); got != `kafkaio: topic "t" does not exist` {
		t.Errorf("rootCause = %q", got)
	}
	if got := rootCause(fmt.Errorf("plain")); got != "plain" {
		t.Errorf("rootCause = %q", got)
	}
}
