package kafkaio

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}

func init() {
	register.Function1x1(recordKey)
	register.DoFn2x0[context.Context, Record](&collectFn{})
	beam.RegisterType(reflect.TypeOf((*collectFn)(nil)).Elem())
}

// brokersEnv names the real broker used by the integration tests.
const brokersEnv = "FLAVABEAM_KAFKA_BROKERS"

// realBrokers returns the real broker's addresses or skips the test.
func realBrokers(tb testing.TB) []string {
	tb.Helper()
	v := os.Getenv(brokersEnv)
	if v == "" {
		tb.Skipf("%s is not set: start a broker with scripts/kafka/kafka.sh start and export %s=127.0.0.1:9092", brokersEnv, brokersEnv)
	}
	return strings.Split(v, ",")
}

// fakeBrokers starts franz-go's in-process fake broker with the given topics.
func fakeBrokers(tb testing.TB, partitions int32, topics ...string) []string {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c.ListenAddrs()
}

// uniqueTopic returns a topic name no earlier run used.
func uniqueTopic(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// createTopic creates a topic on a real broker.
func createTopic(tb testing.TB, brokers []string, topic string, partitions int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
	}}})
	if err != nil {
		tb.Fatalf("create topic %s: %v", topic, err)
	}
	if err := res.Errors[topic]; err != nil {
		tb.Fatalf("create topic %s: %v", topic, err)
	}
	// Wait until the leader answers for every partition.
	for deadline := time.Now().Add(20 * time.Second); ; {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err == nil && len(meta.Topics) == 1 && len(meta.Topics[0].Partitions) == partitions && meta.Topics[0].Error == nil {
			ok := true
			for _, p := range meta.Topics[0].Partitions {
				ok = ok && p.Error == nil && p.Leader.ID >= 0
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("topic %s not ready: %v", topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testKey is the key of record i; tests check reads by keys.
func testKey(i int) string { return fmt.Sprintf("k%07d", i) }

// produce writes records [from, to) to topic with plain kafka-go (not Beam).
func produce(tb testing.TB, brokers []string, topic string, from, to, valueSize int) {
	tb.Helper()
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Balancer: kafka.Murmur2Balancer{},
		BatchTimeout: 2 * time.Millisecond, BatchSize: 200, RequiredAcks: kafka.RequireAll,
	}
	defer w.Close()
	value := make([]byte, valueSize)
	var msgs []kafka.Message
	flush := func() {
		// A broker that just (re)started may not have partition leaders
		// yet: retry for up to a minute.
		var err error
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			err = w.WriteMessages(ctx, msgs...)
			cancel()
			if err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			tb.Fatalf("produce: %v", err)
		}
		msgs = msgs[:0]
	}
	for i := from; i < to; i++ {
		msgs = append(msgs, kafka.Message{
			Key: []byte(testKey(i)), Value: value,
			Headers: []kafka.Header{{Key: "i", Value: []byte(fmt.Sprint(i))}},
		})
		if len(msgs) == 500 {
			flush()
		}
	}
	if len(msgs) > 0 {
		flush()
	}
}

func keysRange(from, to int) []any {
	out := make([]any, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, testKey(i))
	}
	return out
}

func recordKey(r Record) string { return string(r.Key) }

// collected gathers records seen by collectFn, per test name. Prism runs the
// SDK harness in this process, so a package-level map works.
var collected = struct {
	sync.Mutex
	keys map[string]map[string]int
}{keys: map[string]map[string]int{}}

// collectFn records every key it sees under Name, checking the header that
// produce set.
type collectFn struct {
	Name string
}

func (fn *collectFn) ProcessElement(_ context.Context, r Record) {
	collected.Lock()
	defer collected.Unlock()
	m := collected.keys[fn.Name]
	if m == nil {
		m = map[string]int{}
		collected.keys[fn.Name] = m
	}
	m[string(r.Key)]++
}

func collectedKeys(name string) map[string]int {
	collected.Lock()
	defer collected.Unlock()
	out := make(map[string]int, len(collected.keys[name]))
	for k, v := range collected.keys[name] {
		out[k] = v
	}
	return out
}

// lossAndDuplicates compares collected keys with keys [0, n).
func lossAndDuplicates(got map[string]int, n int) (missing []string, dups int) {
	for i := 0; i < n; i++ {
		c := got[testKey(i)]
		if c == 0 {
			missing = append(missing, testKey(i))
		} else {
			dups += c - 1
		}
	}
	sort.Strings(missing)
	return missing, dups
}
