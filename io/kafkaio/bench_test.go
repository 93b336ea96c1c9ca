package kafkaio

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// benchValueSize is the size of a 640×480 JPEG, the pipelines' typical value.
const benchValueSize = 50 << 10

func init() {
	register.DoFn2x0[[]byte, func(Record)](&genRecordsFn{})
	register.Emitter1[Record]()
	register.DoFn1x0[Record](&countFn{})
}

// genRecordsFn emits N records of Size-byte values from an impulse, so a
// benchmark does not ship its data inside the pipeline description.
type genRecordsFn struct {
	N, Size int
}

func (fn *genRecordsFn) ProcessElement(_ []byte, emit func(Record)) {
	v := make([]byte, fn.Size)
	for i := range v {
		v[i] = byte(i * 7)
	}
	for i := 0; i < fn.N; i++ {
		emit(Record{Key: []byte(testKey(i)), Value: v})
	}
}

// benchWriteRead measures Write of b.N records through a Beam pipeline, then
// a bounded Read of them back.
func benchWriteRead(b *testing.B, brokers []string, topic string) {
	conn := ConnConfig{Brokers: brokers}
	b.Run("Write", func(b *testing.B) {
		p, s := beam.NewPipelineWithRoot()
		recs := beam.ParDo(s, &genRecordsFn{N: b.N, Size: benchValueSize}, beam.Impulse(s))
		Write(s, WriteConfig{ConnConfig: conn, Topic: topic}, recs)
		b.SetBytes(benchValueSize)
		b.ResetTimer()
		start := time.Now()
		if err := ptest.Run(p); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
	b.Run("Read", func(b *testing.B) {
		// Read b.N records: fill the topic up to b.N first (untimed).
		have := countOffsets(b, brokers, topic)
		if have < int64(b.N) {
			produce(b, brokers, topic, 0, b.N-int(have), benchValueSize)
		}
		p, s := beam.NewPipelineWithRoot()
		recs := Read(s, ReadConfig{ConnConfig: conn, Topics: []string{topic}})
		name := fmt.Sprintf("%s-%d", b.Name(), b.N)
		beam.ParDo0(s, &countFn{Name: name}, recs)
		n := countOffsets(b, brokers, topic)
		b.SetBytes(benchValueSize * n / int64(b.N))
		b.ResetTimer()
		start := time.Now()
		if err := ptest.Run(p); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
		if got := counted(name); got != n {
			b.Fatalf("read %d records, want %d", got, n)
		}
	})
}

// counts holds countFn's totals per name (prism runs workers in-process).
var counts sync.Map

// countFn counts records and bytes read, and nothing else, so the read
// benchmark measures the source rather than a sink.
type countFn struct {
	Name string
}

func (fn *countFn) ProcessElement(r Record) {
	v, _ := counts.LoadOrStore(fn.Name, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func counted(name string) int64 {
	v, ok := counts.Load(name)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// countOffsets is the number of records in topic (sum of end - start).
func countOffsets(tb testing.TB, brokers []string, topic string) int64 {
	tb.Helper()
	cfg := ReadConfig{ConnConfig: ConnConfig{Brokers: brokers}, Topics: []string{topic}}.withDefaults()
	client, tr, err := cfg.client()
	if err != nil {
		tb.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	ranges, err := resolvePartitions(context.Background(), client, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, r := range ranges {
		n += r.End - r.Start
	}
	return n
}

func BenchmarkFake(b *testing.B) {
	topic := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	benchWriteRead(b, fakeBrokers(b, 4, topic), topic)
}

func BenchmarkRealBroker(b *testing.B) {
	brokers := realBrokers(b)
	topic := uniqueTopic("bench")
	createTopic(b, brokers, topic, 4)
	benchWriteRead(b, brokers, topic)
}
