package main

import (
	"bytes"
	"context"
	"errors"
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
// child reaches it over TCP.
func streamBrokers(t *testing.T, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// realStreamBrokers returns the real broker of FLAVABEAM_KAFKA_BROKERS
// with the topics created (two partitions each), or skips the test.
func realStreamBrokers(t *testing.T, topics ...string) []string {
	t.Helper()
	v := os.Getenv("FLAVABEAM_KAFKA_BROKERS")
	if v == "" {
		t.Skip("FLAVABEAM_KAFKA_BROKERS is not set: start a broker with scripts/kafka/kafka.sh start (the kfake variant of this test always runs)")
	}
	brokers := strings.Split(v, ",")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	var cfgs []kafka.TopicConfig
	for _, tp := range topics {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: tp, NumPartitions: 2, ReplicationFactor: 1})
	}
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: cfgs})
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	for tp, err := range res.Errors {
		if err != nil {
			t.Fatalf("create topic %s: %v", tp, err)
		}
	}
	for {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		ready := err == nil && len(meta.Topics) == len(topics)
		for _, tp := range meta.Topics {
			ready = ready && tp.Error == nil && len(tp.Partitions) == 2
		}
		if ready {
			return brokers
		}
		if ctx.Err() != nil {
			t.Fatalf("topics %v not ready: %v", topics, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// testClient is a kafka-go client whose requests each end within 30s.
func testClient(brokers []string) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second, Transport: &kafka.Transport{}}
}

// partitions lists topic's partition ids.
func partitions(ctx context.Context, client *kafka.Client, topic string) ([]int, error) {
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if len(meta.Topics) != 1 || meta.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata of %s: %v", topic, meta.Topics)
	}
	var ps []int
	for _, p := range meta.Topics[0].Partitions {
		ps = append(ps, p.ID)
	}
	return ps, nil
}

// endOffsets returns the end offset of each partition of topic.
func endOffsets(ctx context.Context, client *kafka.Client, topic string) (map[int]int64, error) {
	ps, err := partitions(ctx, client, topic)
	if err != nil {
		return nil, err
	}
	var reqs []kafka.OffsetRequest
	for _, p := range ps {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, err
	}
	ends := map[int]int64{}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, p.Error
		}
		ends[p.Partition] = p.LastOffset
	}
	return ends, nil
}

// retry runs f until it succeeds, for up to 30s: a pooled connection the
// broker closed fails once.
func retry(t *testing.T, what string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := f(ctx)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sumOffsets returns the sums over topic's partitions of group's committed
// offsets (0 without a group) and of the end offsets.
func sumOffsets(t *testing.T, brokers []string, group, topic string) (committed, end int64) {
	t.Helper()
	client := testClient(brokers)
	retry(t, "offsets of "+topic, func(ctx context.Context) error {
		committed, end = 0, 0
		ends, err := endOffsets(ctx, client, topic)
		if err != nil {
			return err
		}
		var ps []int
		for p, e := range ends {
			end += e
			ps = append(ps, p)
		}
		if group == "" {
			return nil
		}
		f, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
		if err == nil {
			err = f.Error
		}
		if errors.Is(err, kafka.GroupIdNotFound) {
			return nil // nothing committed yet
		}
		if err != nil {
			return err
		}
		for _, p := range f.Topics[topic] {
			if p.Error != nil {
				return p.Error
			}
			committed += max(0, p.CommittedOffset)
		}
		return nil
	})
	return committed, end
}

// outputKeys counts the records of topic per key, reading every partition
// up to its end offset.
func outputKeys(t *testing.T, brokers []string, topic string) map[string]int {
	t.Helper()
	client := testClient(brokers)
	var got map[string]int
	retry(t, "records of "+topic, func(ctx context.Context) error {
		got = map[string]int{}
		ends, err := endOffsets(ctx, client, topic)
		if err != nil {
			return err
		}
		for p, end := range ends {
			for off := int64(0); off < end; {
				res, err := client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p, Offset: off, MaxBytes: 8 << 20})
				if err == nil {
					err = res.Error
				}
				if err != nil {
					return err
				}
				n := 0
				for {
					r, err := res.Records.ReadRecord()
					if err != nil {
						break
					}
					if r.Offset >= off {
						key, _ := kafka.ReadAll(r.Key)
						got[string(key)]++
						off = r.Offset + 1
						n++
					}
				}
				if n == 0 {
					return fmt.Errorf("fetch %s/%d at %d returned nothing below the end %d", topic, p, off, end)
				}
			}
		}
		return nil
	})
	return got
}

// TestStreamingKillThenSIGTERM runs a streaming job with committed offsets
// in a child process, kills it with SIGKILL part-way, restarts it from the
// committed offsets, and stops the second one with SIGTERM: nothing is
// lost, the duplicates are at most what the killed run wrote, the second
// run exits 0, and the committed offsets equal the input's end. On the
// in-process fake broker.
func TestStreamingKillThenSIGTERM(t *testing.T) {
	testStreamingKillThenSIGTERM(t, streamBrokers)
}

// TestStreamingKillThenSIGTERMRealBroker is TestStreamingKillThenSIGTERM on
// the real broker of FLAVABEAM_KAFKA_BROKERS.
func TestStreamingKillThenSIGTERMRealBroker(t *testing.T) {
	testStreamingKillThenSIGTERM(t, realStreamBrokers)
}

func testStreamingKillThenSIGTERM(t *testing.T, cluster func(t *testing.T, topics ...string) []string) {
	if testing.Short() {
		t.Skip("starts the CLI twice in child processes")
	}
	stamp := time.Now().UnixNano()
	in, out := fmt.Sprintf("sig-in-%d", stamp), fmt.Sprintf("sig-out-%d", stamp)
	group := fmt.Sprintf("sig-group-%d", stamp)
	brokers := cluster(t, in, out, out+"-dead-letters")
	// Records 0-199 are produced at 50/s while the first run starts and
	// runs (so that the kill comes part-way), 200-299 once the second run
	// started: it must process records produced after its start, so it is
	// past its start (signal handlers installed) when SIGTERM comes. The
	// producer waits for every replica's acknowledgement: with kafka-go's
	// default (none), records sent while a new topic's leader settles are
	// dropped without an error.
	const n, early = 300, 200
	produce := func(from, to int, every time.Duration) error {
		w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: in, Balancer: kafka.Murmur2Balancer{},
			BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
		defer w.Close()
		for i := from; i < to; {
			var msgs []kafka.Message
			for j := 0; j < 10 && i < to; i, j = i+1, j+1 {
				k, v, _, err := schemas.CodecJSON.EncodeImageText(schemas.ImageText{ID: fmt.Sprintf("r%04d", i), Text: fmt.Sprintf("caption %d", i)})
				if err != nil {
					return err
				}
				msgs = append(msgs, kafka.Message{Key: k, Value: v})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			err := w.WriteMessages(ctx, msgs...)
			cancel()
			if err != nil {
				return fmt.Errorf("produce: %w", err)
			}
			time.Sleep(time.Duration(len(msgs)) * every)
		}
		return nil
	}
	produced := make(chan error, 1)
	go func() { produced <- produce(0, early, 20*time.Millisecond) }()
	args := []string{"embed", "--input-topic", in, "--output-topic", out, "--kafka-brokers", strings.Join(brokers, ","),
		"--streaming", "--group-id", group, "--start-from", "committed", "--commit-offsets", "--progress=0", "--batch-size", "2"}

	// dump asks the child for its goroutines (SIGQUIT) and fails with its
	// output, so that a hang can be diagnosed from the test log.
	dump := func(c *child, format string, a ...any) {
		t.Helper()
		c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
		}
		t.Fatalf(format+"; the CLI's output:\n%s", append(a, c.stderr)...)
	}
	wait := func(c *child, what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); !cond(); time.Sleep(100 * time.Millisecond) {
			select {
			case err := <-c.done:
				t.Fatalf("the CLI ended while waiting for %s: %v\n%s", what, err, c.stderr)
			default:
			}
			if time.Now().After(deadline) {
				dump(c, "no %s after 3 minutes", what)
			}
		}
	}

	first := startCLI(t, args...)
	wait(first, "first outputs", func() bool { _, e := sumOffsets(t, brokers, "", out); return e >= 20 })
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	_, wroteBeforeKill := sumOffsets(t, brokers, "", out)
	committedAtKill, _ := sumOffsets(t, brokers, group, in)

	second := startCLI(t, args...)
	if err := produce(early, n, 0); err != nil {
		t.Fatal(err)
	}
	wait(second, "every record", func() bool { return len(outputKeys(t, brokers, out)) >= n })
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second.done:
		if err != nil {
			t.Fatalf("after SIGTERM the CLI exited with %v\n%s", err, second.stderr)
		}
	case <-time.After(3 * time.Minute):
		dump(second, "the CLI did not exit within 3 minutes of SIGTERM")
	}
	got := outputKeys(t, brokers, out)
	dups := 0
	for i := 0; i < n; i++ {
		c := got[fmt.Sprintf("r%04d", i)]
		if c == 0 {
			t.Errorf("record r%04d lost", i)
		}
		dups += max(0, c-1)
	}
	if len(got) != n {
		t.Errorf("%d distinct keys on the output, want %d", len(got), n)
	}
	committed, end := sumOffsets(t, brokers, group, in)
	t.Logf("killed after %d outputs (%d offsets committed then); %d duplicates; committed %d of %d after SIGTERM",
		wroteBeforeKill, committedAtKill, dups, committed, end)
	// The restart re-reads from the committed offsets: what the killed run
	// wrote past them comes again, nothing else.
	if limit := wroteBeforeKill - committedAtKill; int64(dups) > limit {
		t.Errorf("%d duplicates, more than the %d outputs the killed run wrote past its committed offsets", dups, limit)
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
