package pipelines

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/schemas"
)

// Operational tests of the Kafka streaming path: drain on stop with every
// offset committed, a broker outage ridden out, a dead letter larger than
// the topic allows, a missing dead-letter topic.

// textID is the id of text record i.
func textID(i int) string { return fmt.Sprintf("r%06d", i) }

// produceTexts writes JSON text records [from, to) to topic, keyed by id,
// spread over d (0: at once).
func produceTexts(t *testing.T, brokers []string, topic string, from, to int, d time.Duration) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: kafka.Murmur2Balancer{},
		BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	per := time.Duration(0)
	if to > from {
		per = d / time.Duration(to-from)
	}
	for i := from; i < to; i++ {
		k, v, _, err := schemas.CodecJSON.EncodeImageText(schemas.ImageText{ID: textID(i), Text: fmt.Sprintf("caption %d", i)})
		if err != nil {
			t.Error(err)
			return
		}
		// A broker that just restarted may have no partition leaders
		// yet: retry for up to a minute.
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			err = w.WriteMessages(ctx, kafka.Message{Key: k, Value: v})
			cancel()
			if err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Errorf("produce %d: %v", i, err)
			return
		}
		time.Sleep(per)
	}
}

// keyCounts counts the records of topic per key.
func (c cluster) keyCounts(t *testing.T, topic string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range c.readTopic(t, topic) {
		got[string(m.Key)]++
	}
	return got
}

// committedAndEnd returns the sums of the group's committed offsets and of
// the end offsets over topic's partitions.
func (c cluster) committedAndEnd(t *testing.T, group, topic string) (committed, end int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(c.brokers...), Timeout: 30 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(meta.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	var parts []int
	for _, p := range meta.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Topics[topic] {
		if p.CommittedOffset > 0 {
			committed += p.CommittedOffset
		}
	}
	return committed, c.records(t, topic)
}

// streamingJob is an embed job reading in forever, committing group's
// offsets.
func streamingJob(c cluster, in, out, group string) EmbedConfig {
	return EmbedConfig{Job: Job{
		Source: Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{ConnConfig: c.conn(), Topics: []string{in},
			Unbounded: true, ResumeDelay: 100 * time.Millisecond, GroupID: group, CommitOffsets: true,
			StartFrom: kafkaio.StartCommitted}}},
		Output: Sink{Kafka: kafkaio.WriteConfig{ConnConfig: c.conn(), Topic: out}},
	}}
}

// startJob runs cfg in the background; the channel receives Run's error.
func startJob(t *testing.T, cfg EmbedConfig) (<-chan error, context.CancelFunc) {
	t.Helper()
	p, err := Embed(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kafkaio.ResetDrain()
	t.Cleanup(kafkaio.ResetDrain)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() {
		_, err := Run(ctx, p)
		errc <- err
	}()
	return errc, cancel
}

// waitFor polls cond every 200ms until it holds, failing after limit or
// when the job ends.
func waitFor(t *testing.T, errc <-chan error, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		select {
		case err := <-errc:
			t.Fatalf("job ended while waiting for %s: %v", what, err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, limit)
		}
	}
}

// drainJob drains the running job and waits for it to end by itself.
func drainJob(t *testing.T, errc <-chan error) {
	t.Helper()
	kafkaio.Drain()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("drained job failed: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("job did not end within 2 minutes of Drain")
	}
}

// checkAllOnce checks that the keys of topic cover ids [0, n) and nothing
// else, and returns the number of duplicates.
func checkAllOnce(t *testing.T, got map[string]int, n int) (dups int) {
	t.Helper()
	missing := 0
	for i := 0; i < n; i++ {
		c := got[textID(i)]
		if c == 0 {
			missing++
		}
		dups += max(0, c-1)
	}
	if missing > 0 || len(got) != n {
		t.Errorf("%d of %d records lost (%d distinct keys on the output)", missing, n, len(got))
	}
	return dups
}

func testStreamingDrainCommits(t *testing.T, newCluster func(*testing.T, ...string) cluster) {
	in, out := fmt.Sprintf("dr-in-%d", time.Now().UnixNano()), fmt.Sprintf("dr-out-%d", time.Now().UnixNano())
	c := newCluster(t, in, out, out+DeadLetterSuffix)
	group := "dr-group-" + in
	errc, _ := startJob(t, streamingJob(c, in, out, group))
	const n = 150
	produceTexts(t, c.brokers, in, 0, n, 0)
	// Two undecodable records: one keyed, one identified only by its
	// header, one only by its JSON id.
	w := &kafka.Writer{Addr: kafka.TCP(c.brokers...), Topic: in, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	if err := w.WriteMessages(context.Background(),
		kafka.Message{Value: []byte(`{"id":"json-id","schema_version":99}`)},
		kafka.Message{Value: []byte("not json"), Headers: []kafka.Header{{Key: schemas.HeaderID, Value: []byte("header-id")}, {Key: "origin", Value: []byte("x")}}},
	); err != nil {
		t.Fatal(err)
	}
	w.Close()
	waitFor(t, errc, 3*time.Minute, "outputs and dead letters", func() bool {
		return c.records(t, out) >= n && c.records(t, out+DeadLetterSuffix) >= 2
	})
	drainJob(t, errc)
	if committed, end := c.committedAndEnd(t, group, in); committed != end {
		t.Errorf("after drain the group committed %d of %d offsets", committed, end)
	}
	checkAllOnce(t, c.keyCounts(t, out), n)
	ids := map[string]schemas.DeadLetter{}
	for _, m := range c.readTopic(t, out+DeadLetterSuffix) {
		d, err := schemas.DecodeDeadLetter(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		ids[d.ID] = d
	}
	if d, ok := ids["json-id"]; !ok || d.Stage != StageDecode {
		t.Errorf("dead letter identified by its JSON id: %+v (all: %v)", d, ids)
	}
	d, ok := ids["header-id"]
	if !ok || len(d.Headers) != 2 || d.Headers[1].Key != "origin" || string(d.Headers[1].Value) != "x" || string(d.Payload) != "not json" {
		t.Errorf("dead letter identified by its header, with the input's headers: %+v", d)
	}
}

func TestStreamingDrainCommitsEverythingFake(t *testing.T) {
	testStreamingDrainCommits(t, fakeCluster)
}

func TestStreamingDrainCommitsEverythingRealBroker(t *testing.T) {
	testStreamingDrainCommits(t, realCluster)
}

// TestMissingDeadLetterTopicRefusesToStartFake: with the dead-letter topic
// missing, the job fails before reading anything and names the topic.
func TestMissingDeadLetterTopicRefusesToStartFake(t *testing.T) {
	in, out := fmt.Sprintf("md-in-%d", time.Now().UnixNano()), fmt.Sprintf("md-out-%d", time.Now().UnixNano())
	c := fakeCluster(t, in, out)
	produceTexts(t, c.brokers, in, 0, 10, 0)
	errc, _ := startJob(t, streamingJob(c, in, out, "md-group"))
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), `"`+out+DeadLetterSuffix+`"`) {
			t.Fatalf("error %v, want one naming the missing dead-letter topic", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the job did not fail within 2 minutes")
	}
	if n := c.records(t, out); n != 0 {
		t.Errorf("%d records written to the output before the job refused to start", n)
	}
}

// testHugeDeadLetter sends a 1.5 MB value that does not decode, with a
// 2 MB limit on the input topic and Kafka's default 1 MB on the dead-letter
// topic: the dead letter is written with its payload cut to fit.
func testHugeDeadLetter(t *testing.T, c cluster, in, out string) {
	t.Helper()
	value := make([]byte, 1536*1024)
	rand.New(rand.NewSource(1)).Read(value)
	w := &kafka.Writer{Addr: kafka.TCP(c.brokers...), Topic: in, RequiredAcks: kafka.RequireAll, BatchBytes: 4 << 20}
	if err := w.WriteMessages(context.Background(),
		kafka.Message{Key: []byte("huge"), Value: value, Headers: []kafka.Header{{Key: "origin", Value: []byte("test")}}}); err != nil {
		t.Fatalf("produce the 1.5 MB record: %v", err)
	}
	w.Close()
	produceTexts(t, c.brokers, in, 0, 5, 0)
	group := "huge-" + in
	cfg := streamingJob(c, in, out, group)
	cfg.Source.Kafka.Unbounded = false
	runEmbed(t, cfg)
	checkAllOnce(t, c.keyCounts(t, out), 5)
	var found bool
	for _, m := range c.readTopic(t, out+DeadLetterSuffix) {
		d, err := schemas.DecodeDeadLetter(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != "huge" {
			continue
		}
		found = true
		if !d.PayloadTruncated || d.PayloadBytes != int64(len(value)) || len(d.Payload) == 0 ||
			!bytes.Equal(d.Payload, value[:len(d.Payload)]) || d.Stage != StageDecode {
			t.Errorf("dead letter: truncated %v, %d of %d bytes, stage %s", d.PayloadTruncated, len(d.Payload), d.PayloadBytes, d.Stage)
		}
		if len(m.Value) > 1048588 {
			t.Errorf("dead letter of %d bytes exceeds the topic's limit", len(m.Value))
		}
	}
	if !found {
		t.Error("no dead letter for the 1.5 MB record")
	}
	if committed, end := c.committedAndEnd(t, group, in); committed != end {
		t.Errorf("committed %d of %d offsets", committed, end)
	}
}

// createSizedTopic creates topic with the given max.message.bytes.
func createSizedTopic(t *testing.T, brokers []string, topic string, maxBytes int) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	res, err := client.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: fmt.Sprint(maxBytes)}},
	}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

func TestHugeDeadLetterIsTruncatedFake(t *testing.T) {
	in, out := fmt.Sprintf("hg-in-%d", time.Now().UnixNano()), fmt.Sprintf("hg-out-%d", time.Now().UnixNano())
	c := fakeCluster(t, out)
	createSizedTopic(t, c.brokers, in, 2<<20)
	createSizedTopic(t, c.brokers, out+DeadLetterSuffix, 1048588)
	testHugeDeadLetter(t, c, in, out)
}

func TestHugeDeadLetterIsTruncatedRealBroker(t *testing.T) {
	in, out := fmt.Sprintf("hg-in-%d", time.Now().UnixNano()), fmt.Sprintf("hg-out-%d", time.Now().UnixNano())
	c := realCluster(t, out)
	createSizedTopic(t, c.brokers, in, 2<<20)
	createSizedTopic(t, c.brokers, out+DeadLetterSuffix, 1048588) // Kafka's default; kafka.sh's broker allows 10 MB
	testHugeDeadLetter(t, c, in, out)
}

// privateBroker starts a broker of its own with scripts/kafka/kafka.sh on
// free ports, so that stopping it disturbs no other test; run runs the
// script with a command (stop, start).
func privateBroker(t *testing.T) (c cluster, run func(cmd string)) {
	t.Helper()
	script, err := filepath.Abs("../scripts/kafka/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	port, cport := freePort(t), freePort(t)
	env := append(os.Environ(), fmt.Sprintf("FLAVABEAM_KAFKA_PORT=%d", port), fmt.Sprintf("FLAVABEAM_KAFKA_CONTROLLER_PORT=%d", cport),
		"FLAVABEAM_KAFKA_STATE="+t.TempDir(), "FLAVABEAM_KAFKA_HEAP=-Xms128m -Xmx512m",
		// A JVM starting on a loaded 2-core machine was seen to need more
		// than kafka.sh's default 90 s.
		"FLAVABEAM_KAFKA_START_TIMEOUT=300")
	run = func(cmd string) {
		x := exec.Command("bash", script, cmd)
		x.Env = env
		if out, err := x.CombinedOutput(); err != nil {
			t.Fatalf("kafka.sh %s: %v\n%s", cmd, err, out)
		}
	}
	run("start")
	t.Cleanup(func() { run("stop") })
	return cluster{brokers: []string{fmt.Sprintf("127.0.0.1:%d", port)}, real: true}, run
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestStreamingRidesOutBrokerRestartRealBroker stops the broker for more
// than 12 s while a streaming job runs: the job stays up, loses nothing,
// and after a drain has committed every offset.
func TestStreamingRidesOutBrokerRestartRealBroker(t *testing.T) {
	if os.Getenv(brokersEnv) == "" {
		t.Skipf("%s is not set: this test starts a broker of its own with scripts/kafka/kafka.sh, as CI does", brokersEnv)
	}
	c, script := privateBroker(t)
	in, out := fmt.Sprintf("rs-in-%d", time.Now().UnixNano()), fmt.Sprintf("rs-out-%d", time.Now().UnixNano())
	createTopicsOn(t, c, in, out, out+DeadLetterSuffix)
	group := "rs-group-" + in
	cfg := streamingJob(c, in, out, group)
	// The outage lasts the 12 s pause plus the broker's stop and start,
	// which on a loaded machine can take minutes: ride out up to 10.
	cfg.Source.Kafka.RetryTimeout = 10 * time.Minute
	cfg.Output.Kafka.RetryTimeout = 10 * time.Minute
	errc, _ := startJob(t, cfg)
	const half = 200
	produceTexts(t, c.brokers, in, 0, half, 2*time.Second)
	waitFor(t, errc, 3*time.Minute, "the first half", func() bool { return c.records(t, out) >= half })
	var outage atomic.Int64
	began := time.Now()
	script("stop")
	time.Sleep(12 * time.Second)
	script("start")
	outage.Store(int64(time.Since(began)))
	t.Logf("broker down for %v", time.Duration(outage.Load()).Round(time.Second))
	produceTexts(t, c.brokers, in, half, 2*half, 2*time.Second)
	waitFor(t, errc, 4*time.Minute, "every record after the restart", func() bool { return len(c.keyCounts(t, out)) >= 2*half })
	drainJob(t, errc)
	dups := checkAllOnce(t, c.keyCounts(t, out), 2*half)
	committed, end := c.committedAndEnd(t, group, in)
	t.Logf("outage %v: %d records, %d duplicates, committed %d of %d", time.Duration(outage.Load()).Round(time.Second), 2*half, dups, committed, end)
	if committed != end {
		t.Errorf("after drain the group committed %d of %d offsets", committed, end)
	}
}

// createTopicsOn creates topics with 2 partitions on c.
func createTopicsOn(t *testing.T, c cluster, topics ...string) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(c.brokers...), Timeout: 30 * time.Second}
	var cfgs []kafka.TopicConfig
	for _, tp := range topics {
		cfgs = append(cfgs, kafka.TopicConfig{Topic: tp, NumPartitions: 2, ReplicationFactor: 1})
	}
	if _, err := client.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: cfgs}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		meta, err := client.Metadata(context.Background(), &kafka.MetadataRequest{Topics: topics})
		ready := err == nil && len(meta.Topics) == len(topics)
		for _, tp := range meta.Topics {
			ready = ready && tp.Error == nil && len(tp.Partitions) == 2
			for _, p := range tp.Partitions {
				ready = ready && p.Leader.ID >= 0
			}
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topics not ready: %v", err)
		}
	}
}
