package pipelines

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/flavabeam/flavabeam/schemas"
)

// TestStreamingLatencyRealBroker measures end-to-end latency of a streaming
// embed job with the tiny model on the real broker: records produced at a
// steady 100 records/s for 30 s, latency = the output record's Kafka
// timestamp (set when the writer sends it; the produce is acknowledged a
// few ms later) minus the input record's produce time. It reports
// p50/p99/max; it asserts nothing about time (the machine is shared), only
// that every record arrived. Opt in with FLAVABEAM_KAFKA_LATENCY=1;
// FLAVABEAM_KAFKA_RESUME_DELAY sets ReadConfig.ResumeDelay (default: the
// package default), FLAVABEAM_KAFKA_LATENCY_SECONDS the duration (30).
func TestStreamingLatencyRealBroker(t *testing.T) {
	if os.Getenv("FLAVABEAM_KAFKA_LATENCY") == "" {
		t.Skip("set FLAVABEAM_KAFKA_LATENCY=1 (and FLAVABEAM_KAFKA_BROKERS) to measure streaming latency")
	}
	in, out := fmt.Sprintf("lat-in-%d", time.Now().UnixNano()), fmt.Sprintf("lat-out-%d", time.Now().UnixNano())
	c := realCluster(t, in, out, out+DeadLetterSuffix)
	cfg := streamingJob(c, in, out, "lat-"+in)
	cfg.Source.Kafka.ResumeDelay = 0
	if v := os.Getenv("FLAVABEAM_KAFKA_RESUME_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Source.Kafka.ResumeDelay = d
	}
	errc, _ := startJob(t, cfg)
	time.Sleep(5 * time.Second) // the job starts and reaches the end of the empty topic
	const rate = 100
	seconds := 30
	if v := os.Getenv("FLAVABEAM_KAFKA_LATENCY_SECONDS"); v != "" {
		fmt.Sscan(v, &seconds)
	}
	n := rate * seconds
	sent := make(map[string]time.Time, n)
	w := &kafka.Writer{Addr: kafka.TCP(c.brokers...), Topic: in, Balancer: kafka.Murmur2Balancer{},
		BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll, Async: true}
	start := time.Now()
	for i := 0; i < n; i++ {
		next := start.Add(time.Duration(i) * time.Second / rate)
		time.Sleep(time.Until(next))
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
	waitFor(t, errc, 3*time.Minute, "every output", func() bool { return c.records(t, out) >= int64(n) })
	drainJob(t, errc)
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
	t.Logf("%d records at %d/s, ResumeDelay %v: latency p50 %v, p90 %v, p99 %v, max %v",
		len(lat), rate, cfg.Source.Kafka.ResumeDelay, q(0.5), q(0.9), q(0.99), lat[len(lat)-1].Round(time.Millisecond))
}
