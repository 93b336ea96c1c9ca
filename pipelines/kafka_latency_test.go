package pipelines

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/flavabeam/flavabeam/schemas"
)

// TestStreamingLatencyRealBroker measures a streaming embed job with the
// tiny model on the real broker: records produced at a steady rate (100/s)
// for a while (30 s), with offsets committed.
//
// Latency of a record = the broker's append time of its output (the output
// topic uses message.timestamp.type=LogAppendTime, so it is when Kafka
// acknowledged the write, to within the broker's clock) minus the time the
// test produced the input record (its Kafka timestamp). Both clocks are this
// machine's.
//
// Commit lag is sampled every second while the job runs: outputs
// acknowledged (the output topic's end offsets) minus offsets committed
// (the group's committed offsets on the input); every input record has one
// output here, so it is the number of records acknowledged but not yet
// committed.
//
// It reports p50/p90/p99/max latency and the commit lag's median and max;
// it asserts nothing about time (the machine is shared), only that every
// record arrived and that after the drain every offset is committed.
//
// Opt in with FLAVABEAM_KAFKA_LATENCY=1 (and FLAVABEAM_KAFKA_BROKERS).
// FLAVABEAM_KAFKA_LATENCY_SECONDS sets the duration (30),
// FLAVABEAM_KAFKA_LATENCY_RATE the records/s (100),
// FLAVABEAM_KAFKA_RESUME_DELAY and FLAVABEAM_KAFKA_CHECKPOINT_INTERVAL the
// ReadConfig fields, FLAVABEAM_KAFKA_BATCH_TIMEOUT WriteConfig.BatchTimeout
// (defaults: the packages' defaults).
func TestStreamingLatencyRealBroker(t *testing.T) {
	if os.Getenv("FLAVABEAM_KAFKA_LATENCY") == "" {
		t.Skip("set FLAVABEAM_KAFKA_LATENCY=1 (and FLAVABEAM_KAFKA_BROKERS) to measure streaming latency")
	}
	stamp := time.Now().UnixNano()
	in, out := fmt.Sprintf("lat-in-%d", stamp), fmt.Sprintf("lat-out-%d", stamp)
	group := "lat-" + in
	c := realCluster(t, in, out+DeadLetterSuffix)
	createTopic(t, c, out, map[string]string{"message.timestamp.type": "LogAppendTime"})
	cfg := streamingJob(c, in, out, group)
	cfg.Source.Kafka.ResumeDelay = envDuration(t, "FLAVABEAM_KAFKA_RESUME_DELAY")
	cfg.Source.Kafka.CheckpointInterval = envDuration(t, "FLAVABEAM_KAFKA_CHECKPOINT_INTERVAL")
	cfg.Output.Kafka.BatchTimeout = envDuration(t, "FLAVABEAM_KAFKA_BATCH_TIMEOUT")
	rate, seconds := envInt(t, "FLAVABEAM_KAFKA_LATENCY_RATE", 100), envInt(t, "FLAVABEAM_KAFKA_LATENCY_SECONDS", 30)

	errc, _ := startJob(t, cfg)
	// The job is up once it has committed the output of a first record.
	produceTexts(t, c.brokers, in, 0, 1, 0)
	waitFor(t, errc, 3*time.Minute, "a first commit", func() bool {
		committed, _, err := commitLag(c, group, in, out)
		return err == nil && committed >= 1
	})

	// Sample the commit lag every second while records flow.
	var lags []int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for tick := time.NewTicker(time.Second); ; {
			select {
			case <-stop:
				tick.Stop()
				return
			case <-tick.C:
			}
			if committed, acked, err := commitLag(c, group, in, out); err == nil {
				lags = append(lags, acked-committed)
			}
		}
	}()

	n := rate * seconds
	sent := make(map[string]time.Time, n)
	w := &kafka.Writer{Addr: kafka.TCP(c.brokers...), Topic: in, Balancer: kafka.Murmur2Balancer{},
		BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll, Async: true}
	start := time.Now()
	for i := 1; i <= n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		k, v, _, err := schemas.CodecJSON.EncodeImageText(schemas.ImageText{ID: textID(i), Text: fmt.Sprintf("caption %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		sent[textID(i)] = now
		if err := w.WriteMessages(context.Background(), kafka.Message{Key: k, Value: v, Time: now}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	waitFor(t, errc, 3*time.Minute, "every output", func() bool { return c.records(t, out) >= int64(n+1) })
	close(stop)
	wg.Wait()
	drainJob(t, errc)
	if committed, end := c.committedAndEnd(t, group, in); committed != end {
		t.Errorf("after the drain the group committed %d of %d offsets", committed, end)
	}

	var lat []time.Duration
	for _, m := range c.readTopic(t, out) {
		if s, ok := sent[string(m.Key)]; ok {
			lat = append(lat, m.Time.Sub(s))
		}
	}
	if len(lat) < n {
		t.Fatalf("%d latencies for %d records", len(lat), n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(time.Millisecond) }
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	var lagMed, lagMax int64
	if len(lags) > 0 {
		lagMed, lagMax = lags[len(lags)/2], lags[len(lags)-1]
	}
	rc := cfg.Source.Kafka
	t.Logf("%d records at %d/s (ResumeDelay %v, CheckpointInterval %v, BatchTimeout %v: 0 = default): "+
		"latency p50 %v, p90 %v, p99 %v, max %v; commit lag (acknowledged - committed, %d samples at 1/s) median %d, max %d records",
		len(lat), rate, rc.ResumeDelay, rc.CheckpointInterval, cfg.Output.Kafka.BatchTimeout,
		q(0.5), q(0.9), q(0.99), lat[len(lat)-1].Round(time.Millisecond), len(lags), lagMed, lagMax)
}

// createTopic creates a two-partition topic with configs on the real broker.
func createTopic(t *testing.T, c cluster, topic string, configs map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var entries []kafka.ConfigEntry
	for k, v := range configs {
		entries = append(entries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
	}
	client := &kafka.Client{Addr: kafka.TCP(c.brokers...), Timeout: 30 * time.Second}
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: topic, NumPartitions: 2, ReplicationFactor: 1, ConfigEntries: entries}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err == nil && len(meta.Topics) == 1 && meta.Topics[0].Error == nil && len(meta.Topics[0].Partitions) == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s not ready: %v", topic, err)
		}
	}
}

// commitLag returns the sum of group's committed offsets on in and the sum
// of out's end offsets. It does not fail the test (it runs in a goroutine).
func commitLag(c cluster, group, in, out string) (committed, acked int64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(c.brokers...), Timeout: 10 * time.Second}
	f, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{in: {0, 1}}})
	if err != nil {
		return 0, 0, err
	}
	for _, p := range f.Topics[in] {
		committed += max(0, p.CommittedOffset)
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		out: {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1)}}})
	if err != nil {
		return 0, 0, err
	}
	for _, p := range res.Topics[out] {
		if p.Error != nil {
			return 0, 0, p.Error
		}
		acked += p.LastOffset
	}
	return committed, acked, nil
}

func envDuration(t *testing.T, name string) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q is not a positive integer", name, v)
	}
	return n
}
