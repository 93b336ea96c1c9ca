package kafkaio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/filter"
	"github.com/segmentio/kafka-go"
)

func TestReadConfigValidateNamesBadField(t *testing.T) {
	cases := []struct {
		cfg  ReadConfig
		want string
	}{
		{ReadConfig{}, "Topics"},
		{ReadConfig{Topics: []string{""}}, "Topics[0]"},
		{ReadConfig{Topics: []string{"t"}, ConnConfig: ConnConfig{Brokers: []string{"nohost"}}}, "Brokers[0]"},
		{ReadConfig{Topics: []string{"t"}, StartFrom: "middle"}, "StartFrom"},
		{ReadConfig{Topics: []string{"t"}, StartFrom: StartCommitted}, "GroupID"},
		{ReadConfig{Topics: []string{"t"}, CommitOffsets: true}, "GroupID"},
		{ReadConfig{Topics: []string{"t"}, StartFrom: StartTimestamp}, "StartTime"},
		{ReadConfig{Topics: []string{"t"}, Partitions: []int{-1}}, "Partitions[0]"},
		{ReadConfig{Topics: []string{"t"}, IdleLag: -time.Second}, "IdleLag"},
		{ReadConfig{Topics: []string{"t"}, TimestampPolicy: "wall"}, "TimestampPolicy"},
		{ReadConfig{Topics: []string{"t"}, ConnConfig: ConnConfig{SASL: SASLConfig{Mechanism: "GSSAPI", Username: "u"}}}, "SASL.Mechanism"},
		{ReadConfig{Topics: []string{"t"}, ConnConfig: ConnConfig{SASL: SASLConfig{Mechanism: "PLAIN"}}}, "SASL.Username"},
		{ReadConfig{Topics: []string{"t"}, ConnConfig: ConnConfig{TLS: TLSConfig{CertFile: "c.pem"}}}, "TLS.CertFile"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if !errors.Is(err, ErrConfig) || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("Validate(%+v) = %v, want ErrConfig naming %s", c.cfg, err, c.want)
		}
	}
	if err := (ReadConfig{Topics: []string{"t"}}).Validate(); err != nil {
		t.Errorf("zero ReadConfig with Topics: %v", err)
	}
}

func TestWriteConfigValidateNamesBadField(t *testing.T) {
	cases := []struct {
		cfg  WriteConfig
		want string
	}{
		{WriteConfig{Compression: "brotli"}, "Compression"},
		{WriteConfig{Balancer: "sticky"}, "Balancer"},
		{WriteConfig{RequiredAcks: "two"}, "RequiredAcks"},
		{WriteConfig{BatchSize: -1}, "BatchSize"},
		{WriteConfig{ConnConfig: ConnConfig{DialTimeout: -1}}, "DialTimeout"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if !errors.Is(err, ErrConfig) || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("Validate(%+v) = %v, want ErrConfig naming %s", c.cfg, err, c.want)
		}
	}
	for _, comp := range []string{"", "none", "gzip", "snappy", "lz4", "zstd"} {
		if err := (WriteConfig{Compression: comp}).Validate(); err != nil {
			t.Errorf("Compression %q: %v", comp, err)
		}
	}
}

func TestTLSConfigLoadsFiles(t *testing.T) {
	c := ConnConfig{TLS: TLSConfig{CAFile: "testdata/does-not-exist.pem"}}
	if _, err := c.transport(); !errors.Is(err, ErrConfig) {
		t.Errorf("missing CA file: err = %v, want ErrConfig", err)
	}
	c = ConnConfig{TLS: TLSConfig{InsecureSkipVerify: true}, SASL: SASLConfig{Mechanism: "scram-sha-512", Username: "u", Password: "p"}}
	tr, err := c.transport()
	if err != nil {
		t.Fatal(err)
	}
	if tr.TLS == nil || !tr.TLS.InsecureSkipVerify || tr.SASL == nil || tr.SASL.Name() != SASLScramSHA512 {
		t.Errorf("transport TLS=%v SASL=%v", tr.TLS, tr.SASL)
	}
}

// writeRecords runs a Beam pipeline that writes n records with Write.
func writeRecords(t *testing.T, cfg WriteConfig, from, to, valueSize int) {
	t.Helper()
	var recs []any
	for i := from; i < to; i++ {
		v := bytes.Repeat([]byte{byte(i)}, valueSize)
		recs = append(recs, Record{
			Key: []byte(testKey(i)), Value: v,
			Headers: []Header{{Key: "i", Value: []byte(fmt.Sprint(i))}},
		})
	}
	p, s, col := ptest.Create(recs)
	Write(s, cfg, col)
	if err := ptest.Run(p); err != nil {
		t.Fatalf("write pipeline: %v", err)
	}
}

// checkRecordFn fails the pipeline on a record whose value or header does
// not match what writeRecords wrote for its key.
type checkRecordFn struct {
	ValueSize int
}

func (fn *checkRecordFn) ProcessElement(r Record) error {
	var i int
	if _, err := fmt.Sscanf(string(r.Key), "k%d", &i); err != nil {
		return fmt.Errorf("bad key %q", r.Key)
	}
	if want := bytes.Repeat([]byte{byte(i)}, fn.ValueSize); !bytes.Equal(r.Value, want) {
		return fmt.Errorf("record %d: value of %d bytes does not match", i, len(r.Value))
	}
	if len(r.Headers) != 1 || r.Headers[0].Key != "i" || string(r.Headers[0].Value) != fmt.Sprint(i) {
		return fmt.Errorf("record %d: headers %v", i, r.Headers)
	}
	if r.Topic == "" || r.Offset < 0 || r.Timestamp.IsZero() {
		return fmt.Errorf("record %d: topic %q offset %d timestamp %v", i, r.Topic, r.Offset, r.Timestamp)
	}
	return nil
}

func init() {
	register.Function1x1(forward)
	beam.RegisterFunction(recordKey)
	beam.RegisterDoFn(&checkRecordFn{})
}

// testWriteThenBoundedRead writes n records with Write, then reads them back
// with a bounded Read and checks every key arrives exactly once.
func testWriteThenBoundedRead(t *testing.T, brokers []string, topic string, n int, compression string) {
	conn := ConnConfig{Brokers: brokers}
	writeRecords(t, WriteConfig{ConnConfig: conn, Topic: topic, Compression: compression}, 0, n, 100)

	p, s := beam.NewPipelineWithRoot()
	recs := Read(s, ReadConfig{ConnConfig: conn, Topics: []string{topic}})
	beam.ParDo0(s, &checkRecordFn{ValueSize: 100}, recs)
	keys := beam.ParDo(s, recordKey, recs)
	passert.Equals(s, keys, keysRange(0, n)...)
	if err := ptest.Run(p); err != nil {
		t.Fatalf("read pipeline: %v", err)
	}
}

func TestWriteThenBoundedReadFake(t *testing.T) {
	for _, comp := range []string{"none", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			topic := uniqueTopic("wr-" + comp)
			brokers := fakeBrokers(t, 3, topic)
			testWriteThenBoundedRead(t, brokers, topic, 300, comp)
		})
	}
}

func TestBoundedReadStartPositionsFake(t *testing.T) {
	topic, out := uniqueTopic("start"), uniqueTopic("start-out")
	brokers := fakeBrokers(t, 2, topic, out)
	produce(t, brokers, topic, 0, 50, 10)
	conn := ConnConfig{Brokers: brokers}

	// latest: a bounded read from the end reads nothing.
	p, s := beam.NewPipelineWithRoot()
	passert.Empty(s, Read(s, ReadConfig{ConnConfig: conn, Topics: []string{topic}, StartFrom: StartLatest}))
	if err := ptest.Run(p); err != nil {
		t.Fatalf("latest: %v", err)
	}

	// committed: commit offsets with a first read, produce more, read again
	// from the committed offsets: only the new records.
	group := uniqueTopic("group")
	readAndCommit(t, brokers, topic, out, group, 50)
	checkCommitted(t, brokers, group, topic, 50)
	produce(t, brokers, topic, 50, 80, 10)
	p, s = beam.NewPipelineWithRoot()
	second := Read(s, ReadConfig{ConnConfig: conn, Topics: []string{topic}, GroupID: group, StartFrom: StartCommitted})
	passert.Equals(s, beam.ParDo(s, recordKey, second), keysRange(50, 80)...)
	if err := ptest.Run(p); err != nil {
		t.Fatalf("second committed read: %v", err)
	}

	// partitions: reading partition 0 and 1 separately covers everything.
	p, s = beam.NewPipelineWithRoot()
	a := Read(s.Scope("p0"), ReadConfig{ConnConfig: conn, Topics: []string{topic}, Partitions: []int{0}})
	b := Read(s.Scope("p1"), ReadConfig{ConnConfig: conn, Topics: []string{topic}, Partitions: []int{1}})
	passert.Equals(s, beam.ParDo(s, recordKey, beam.Flatten(s, a, b)), keysRange(0, 80)...)
	if err := ptest.Run(p); err != nil {
		t.Fatalf("partition reads: %v", err)
	}
}

// readAndCommit copies topic to out with a bounded Read, a Write and a
// Commit of the group's offsets, expecting n records.
func readAndCommit(t *testing.T, brokers []string, topic, out, group string, n int) {
	t.Helper()
	conn := ConnConfig{Brokers: brokers}
	p, s := beam.NewPipelineWithRoot()
	rc := ReadConfig{ConnConfig: conn, Topics: []string{topic}, GroupID: group, CommitOffsets: true}
	recs := Read(s, rc)
	passert.Count(s, recs, "records", n)
	acks := Write(s, WriteConfig{ConnConfig: conn, Topic: out}, beam.ParDo(s, forward, recs))
	Commit(s, rc, acks)
	if err := ptest.Run(p); err != nil {
		t.Fatalf("committing read: %v", err)
	}
}

// forward turns a read record into the record written for it: same key,
// value and headers, its Source kept so that Write acknowledges it.
func forward(r Record) Record {
	return Record{Key: r.Key, Value: r.Value, Headers: r.Headers, Source: r.Source}
}

// checkCommitted asserts that the group's committed offsets of topic add up
// to total records. Commits are made by the pipeline before it returns; it
// polls for up to 10s all the same, as a reader of the group would.
func checkCommitted(t *testing.T, brokers []string, group, topic string, total int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sum, parts := committedSum(t, brokers, group, topic)
		if sum == total {
			return
		}
		if time.Now().After(deadline) || sum > total {
			t.Fatalf("committed offsets of group %s add up to %d, want %d (%+v)", group, sum, total, parts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func committedSum(t *testing.T, brokers []string, group, topic string) (int64, []kafka.OffsetFetchPartition) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(brokers...)}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	var parts []int
	for _, p := range meta.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range res.Topics[topic] {
		if p.CommittedOffset > 0 {
			sum += p.CommittedOffset
		}
	}
	return sum, res.Topics[topic]
}

func TestReadUnknownTopicFails(t *testing.T) {
	brokers := fakeBrokers(t, 1, "present")
	p, s := beam.NewPipelineWithRoot()
	Read(s, ReadConfig{ConnConfig: ConnConfig{Brokers: brokers}, Topics: []string{"absent"}})
	if err := ptest.Run(p); err == nil {
		t.Fatal("reading an absent topic succeeded")
	}
}

// runUnbounded runs an unbounded read collecting keys under name, while
// produceFn runs; it cancels the pipeline once wait returns true or after
// limit.
func runUnbounded(t *testing.T, cfg ReadConfig, name string, during func(), done func() bool, limit time.Duration) {
	t.Helper()
	cfg.Unbounded = true
	p, s := beam.NewPipelineWithRoot()
	beam.ParDo0(s, &collectFn{Name: name}, Read(s, cfg))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := prism.Execute(ctx, p)
		errc <- err
	}()
	during()
	deadline := time.Now().Add(limit)
	for !done() && time.Now().Before(deadline) {
		select {
		case err := <-errc:
			cancel()
			t.Fatalf("unbounded pipeline ended early: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
			t.Errorf("pipeline: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("pipeline did not stop within 30s of cancel")
	}
}

func TestUnboundedReadFake(t *testing.T) {
	topic := uniqueTopic("unb")
	brokers := fakeBrokers(t, 3, topic)
	produce(t, brokers, topic, 0, 100, 10)
	name := t.Name() + "/" + topic // unique per run: -count=N reuses t.Name()
	const n = 300
	runUnbounded(t, ReadConfig{ConnConfig: ConnConfig{Brokers: brokers}, Topics: []string{topic}, ResumeDelay: 100 * time.Millisecond},
		name,
		func() {
			time.Sleep(time.Second)
			produce(t, brokers, topic, 100, n, 10)
		},
		func() bool { return len(collectedKeys(name)) >= n },
		60*time.Second)
	missing, dups := lossAndDuplicates(collectedKeys(name), n)
	if len(missing) > 0 {
		t.Errorf("%d of %d records missing, first %v", len(missing), n, missing[0])
	}
	if dups > 0 {
		t.Errorf("%d duplicates", dups)
	}
}

func init() {
	register.DoFn2x0[context.Context, string](&firedFn{})
}

// fired counts per-window results that reached firedFn, per Name.
var fired sync.Map

// firedFn counts elements after a windowed GroupByKey: they only arrive once
// the watermark passes the end of their window.
type firedFn struct {
	Name string
}

func (fn *firedFn) ProcessElement(_ context.Context, _ string) {
	v, _ := fired.LoadOrStore(fn.Name, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// TestUnboundedWatermarkFiresWindows checks the watermark estimator: with
// record timestamps and idle advancement, fixed windows downstream of an
// unbounded read fire while the pipeline is still running.
func TestUnboundedWatermarkFiresWindows(t *testing.T) {
	topic := uniqueTopic("wm")
	brokers := fakeBrokers(t, 2, topic)
	produce(t, brokers, topic, 0, 50, 10)
	name := t.Name() + "/" + topic // unique per run: -count=N reuses t.Name()
	count := func() int64 {
		v, ok := fired.Load(name)
		if !ok {
			return 0
		}
		return v.(*atomic.Int64).Load()
	}
	p, s := beam.NewPipelineWithRoot()
	recs := Read(s, ReadConfig{ConnConfig: ConnConfig{Brokers: brokers}, Topics: []string{topic}, Unbounded: true,
		ResumeDelay: 100 * time.Millisecond, IdleLag: 500 * time.Millisecond})
	windowed := beam.WindowInto(s, window.NewFixedWindows(time.Second), recs)
	keys := beam.ParDo(s, recordKey, windowed)
	distinct := filter.Distinct(s, keys)
	beam.ParDo0(s, &firedFn{Name: name}, distinct)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := prism.Execute(ctx, p)
		errc <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for count() < 50 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	<-errc
	if got := count(); got != 50 {
		t.Errorf("%d of 50 records came out of 1s fixed windows while the read ran; the watermark did not advance", got)
	}
}
