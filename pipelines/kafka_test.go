package pipelines

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/schemas"
)

// brokersEnv names the real broker the integration tests use (CI starts one
// with scripts/kafka/kafka.sh).
const brokersEnv = "FLAVABEAM_KAFKA_BROKERS"

// cluster is a Kafka cluster for a test: the in-process fake or the real broker.
type cluster struct {
	brokers []string
	real    bool
}

func fakeCluster(t *testing.T, topics ...string) cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return cluster{brokers: c.ListenAddrs()}
}

func realCluster(t *testing.T, topics ...string) cluster {
	t.Helper()
	v := os.Getenv(brokersEnv)
	if v == "" {
		t.Skipf("%s is not set: start a broker with scripts/kafka/kafka.sh start and export %s=127.0.0.1:9092 (the kfake variant of this test always runs)", brokersEnv, brokersEnv)
	}
	c := cluster{brokers: strings.Split(v, ","), real: true}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(c.brokers...), Timeout: 30 * time.Second}
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
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		ready := err == nil && len(meta.Topics) == len(topics)
		for _, tp := range meta.Topics {
			ready = ready && tp.Error == nil && len(tp.Partitions) == 2
		}
		if ready {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("topics %v not ready: %v", topics, err)
		}
	}
}

func (c cluster) conn() kafkaio.ConnConfig { return kafkaio.ConnConfig{Brokers: c.brokers} }

// produceRecords writes the test file's records with codec, plus one
// payload that is not a record at all. A record the codec refuses to encode
// (bad-empty has no input) is written as the bare JSON a careless producer
// would send.
func (c cluster) produceRecords(t *testing.T, topic string, codec schemas.Codec) (sent int) {
	t.Helper()
	recs, err := parquet.ReadFile[schemas.ImageText](records)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kafka.Message
	for _, r := range recs {
		k, v, hs, err := codec.EncodeImageText(r)
		if errors.Is(err, schemas.ErrMissingInput) {
			k, v, hs = []byte(r.ID), []byte(fmt.Sprintf(`{"schema_version":1,"id":%q}`, r.ID)), nil
			if codec == schemas.CodecBinary {
				v, hs = nil, []schemas.Header{{Key: schemas.HeaderID, Value: []byte(r.ID)}}
			}
		} else if err != nil {
			t.Fatal(err)
		}
		m := kafka.Message{Key: k, Value: v}
		for _, h := range hs {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		msgs = append(msgs, m)
	}
	malformed := kafka.Message{Key: []byte("malformed"), Value: []byte(`{"id": "malformed", "text": `)}
	if codec == schemas.CodecBinary {
		malformed.Headers = []kafka.Header{{Key: schemas.HeaderSchemaVersion, Value: []byte("not a number")}}
	}
	msgs = append(msgs, malformed)
	w := &kafka.Writer{Addr: kafka.TCP(c.brokers...), Topic: topic, Balancer: kafka.Murmur2Balancer{},
		BatchTimeout: 2 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return len(msgs)
}

// readTopic reads every message of every partition of topic. A broker that
// just restarted answers "not available" for a while: it retries for up to
// a minute.
func (c cluster) readTopic(t *testing.T, topic string) []kafka.Message {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		out, err := c.tryReadTopic(t, topic)
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %s: %v", topic, err)
		}
	}
}

func (c cluster) tryReadTopic(t *testing.T, topic string) ([]kafka.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(c.brokers...), Timeout: 30 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err == nil && (len(meta.Topics) != 1 || meta.Topics[0].Error != nil) {
		err = fmt.Errorf("metadata: %v", meta.Topics)
	}
	if err != nil {
		return nil, err
	}
	var out []kafka.Message
	for _, p := range meta.Topics[0].Partitions {
		offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
			topic: {kafka.LastOffsetOf(p.ID)}}})
		if err == nil && offs.Topics[topic][0].Error != nil {
			err = offs.Topics[topic][0].Error
		}
		if err != nil {
			return nil, err
		}
		end := offs.Topics[topic][0].LastOffset
		for off := int64(0); off < end; {
			res, err := client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p.ID, Offset: off, MaxBytes: 8 << 20})
			if err == nil {
				err = res.Error
			}
			if err != nil {
				return nil, fmt.Errorf("fetch %s[%d]@%d: %w", topic, p.ID, off, err)
			}
			for {
				r, err := res.Records.ReadRecord()
				if err != nil {
					break
				}
				m := kafka.Message{Offset: r.Offset, Key: readAll(t, r.Key), Value: readAll(t, r.Value), Headers: r.Headers, Time: r.Time}
				if r.Offset >= off {
					out = append(out, m)
					off = r.Offset + 1
				}
			}
		}
	}
	return out, nil
}

func readAll(t *testing.T, b interface{ Read([]byte) (int, error) }) []byte {
	if b == nil {
		return nil
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := b.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// checkKafkaEmbeddings checks the output and dead-letter topics of an embed
// run: every good record embedded as the model API does, keyed by ID, with
// the headers; the bad ones (and any malformed payload) dead-lettered.
func checkKafkaEmbeddings(t *testing.T, c cluster, out, dead string, wantDead map[string]string, sum *Summary) {
	t.Helper()
	msgs := c.readTopic(t, out)
	if len(msgs) != goodRecords {
		t.Errorf("%d messages on %s, want %d", len(msgs), out, goodRecords)
	}
	in := inputRecords(t)
	ref := newReference(t, pretrained.TinyRandom)
	for _, m := range msgs {
		e, err := schemas.DecodeEmbedding(m.Value)
		if err != nil {
			t.Fatalf("output does not decode: %v", err)
		}
		if string(m.Key) != e.ID || header(m, HeaderModelID) != pretrained.TinyRandom ||
			header(m, schemas.HeaderSchemaVersion) != strconv.Itoa(schemas.SchemaVersion) || header(m, HeaderRecordType) != "embedding" {
			t.Errorf("%s: key %q, headers %v", e.ID, m.Key, m.Headers)
		}
		r := in[e.ID]
		closeVec(t, e.ID+" image", e.ImageVector, ref.imageVector(t, r.Image))
		closeVec(t, e.ID+" text", e.TextVector, ref.textVector(t, r.Text))
	}
	got := map[string]string{}
	for _, m := range c.readTopic(t, dead) {
		d, err := schemas.DecodeDeadLetter(m.Value)
		if err != nil {
			t.Fatalf("dead letter does not decode: %v", err)
		}
		got[d.ID] = d.Reason
		if d.Reason == schemas.ReasonPayload && len(d.Payload) == 0 {
			t.Errorf("malformed payload dead letter lacks the raw value: %+v", d)
		}
	}
	if fmt.Sprint(sortedMap(got)) != fmt.Sprint(sortedMap(wantDead)) {
		t.Errorf("dead letters %v, want %v", got, wantDead)
	}
	if sum != nil && (sum.RecordsOut != goodRecords || sum.DeadLetters != int64(len(wantDead)) || sum.RecordsIn != goodRecords+int64(len(wantDead))) {
		t.Errorf("summary in/out/dead = %d/%d/%d", sum.RecordsIn, sum.RecordsOut, sum.DeadLetters)
	}
}

func sortedMap(m map[string]string) []string {
	var s []string
	for k, v := range m {
		s = append(s, k+"="+v)
	}
	sort.Strings(s)
	return s
}

func runEmbed(t *testing.T, cfg EmbedConfig) Summary {
	t.Helper()
	return run(t, func() (Summary, error) {
		p, err := Embed(cfg)
		if err != nil {
			return Summary{}, err
		}
		return Run(context.Background(), p)
	})
}

// kafkaDead is what a Kafka source dead-letters: the file's bad records (the
// empty one already at decoding) and the malformed payload.
func kafkaDead(codec schemas.Codec) map[string]string {
	m := map[string]string{
		"bad-corrupt-image": schemas.ReasonDecode,
		"bad-empty":         schemas.ReasonMissingInput,
		"malformed":         schemas.ReasonPayload,
	}
	return m
}

func testEmbedKafkaToKafka(t *testing.T, newCluster func(*testing.T, ...string) cluster, codec schemas.Codec) {
	in, out := fmt.Sprintf("in-%d", time.Now().UnixNano()), fmt.Sprintf("out-%d", time.Now().UnixNano())
	c := newCluster(t, in, out, out+DeadLetterSuffix)
	c.produceRecords(t, in, codec)
	sum := runEmbed(t, EmbedConfig{Job: Job{
		Source: Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{ConnConfig: c.conn(), Topics: []string{in}}, Codec: codec}},
		Output: Sink{Kafka: kafkaio.WriteConfig{ConnConfig: c.conn(), Topic: out}},
	}})
	checkKafkaEmbeddings(t, c, out, out+DeadLetterSuffix, kafkaDead(codec), &sum)
}

func testEmbedParquetToKafka(t *testing.T, newCluster func(*testing.T, ...string) cluster) {
	out, dead := fmt.Sprintf("out-%d", time.Now().UnixNano()), fmt.Sprintf("dead-%d", time.Now().UnixNano())
	c := newCluster(t, out, dead)
	sum := runEmbed(t, EmbedConfig{Job: Job{
		Source:      Source{Parquet: records},
		Output:      Sink{Kafka: kafkaio.WriteConfig{ConnConfig: c.conn(), Topic: out}},
		DeadLetters: Sink{Kafka: kafkaio.WriteConfig{ConnConfig: c.conn(), Topic: dead}},
	}})
	checkKafkaEmbeddings(t, c, out, dead, badRecords, &sum)
}

func TestEmbedKafkaToKafkaFake(t *testing.T) {
	for _, codec := range []schemas.Codec{schemas.CodecJSON, schemas.CodecBinary} {
		t.Run(codec.String(), func(t *testing.T) { testEmbedKafkaToKafka(t, fakeCluster, codec) })
	}
}

func TestEmbedParquetToKafkaFake(t *testing.T) { testEmbedParquetToKafka(t, fakeCluster) }

func TestEmbedKafkaToKafkaRealBroker(t *testing.T) {
	testEmbedKafkaToKafka(t, realCluster, schemas.CodecJSON)
}

func TestEmbedParquetToKafkaRealBroker(t *testing.T) { testEmbedParquetToKafka(t, realCluster) }

// records counts the records of topic (the sum of its partitions' end offsets).
func (c cluster) records(t *testing.T, topic string) int64 {
	t.Helper()
	// A broker that just restarted answers "not available" for a while:
	// retry for up to a minute.
	var err error
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		var n int64
		if n, err = c.endOffsetSum(topic); err == nil {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("end offsets of %s: %v", topic, err)
		}
	}
}

func (c cluster) endOffsetSum(topic string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(c.brokers...), Timeout: 30 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err == nil && (len(meta.Topics) != 1 || meta.Topics[0].Error != nil) {
		err = fmt.Errorf("metadata: %v", meta.Topics)
	}
	if err != nil {
		return 0, err
	}
	var reqs []kafka.OffsetRequest
	for _, p := range meta.Topics[0].Partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			return 0, po.Error
		}
		n += po.LastOffset
	}
	return n, nil
}

// TestEmbedKafkaStreamingFake runs the embed job on an unbounded Kafka source:
// records produced while the job runs are embedded and dead-lettered, then the
// job stops on cancel.
func TestEmbedKafkaStreamingFake(t *testing.T) {
	in, out := fmt.Sprintf("sin-%d", time.Now().UnixNano()), fmt.Sprintf("sout-%d", time.Now().UnixNano())
	c := fakeCluster(t, in, out, out+DeadLetterSuffix)
	p, err := Embed(EmbedConfig{Job: Job{
		Source: Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{ConnConfig: c.conn(), Topics: []string{in},
			Unbounded: true, ResumeDelay: 100 * time.Millisecond}}},
		Output: Sink{Kafka: kafkaio.WriteConfig{ConnConfig: c.conn(), Topic: out}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := Run(ctx, p)
		errc <- err
	}()
	time.Sleep(time.Second) // produce after the job has started
	c.produceRecords(t, in, schemas.CodecJSON)
	want := kafkaDead(schemas.CodecJSON)
	for deadline := time.Now().Add(90 * time.Second); c.records(t, out) < goodRecords || c.records(t, out+DeadLetterSuffix) < int64(len(want)); {
		select {
		case err := <-errc:
			t.Fatalf("streaming job ended early: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90s: %d outputs, %d dead letters", c.records(t, out), c.records(t, out+DeadLetterSuffix))
		}
	}
	cancel()
	select {
	case <-errc:
	case <-time.After(30 * time.Second):
		t.Error("streaming job did not stop within 30s of cancel")
	}
	checkKafkaEmbeddings(t, c, out, out+DeadLetterSuffix, want, nil)
}
