package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*Position)(nil)).Elem())
	register.DoFn4x1[context.Context, beam.EventTime, Record, func(beam.EventTime, Position), error](&writeFn{})
	register.Emitter2[beam.EventTime, Position]()
}

// Balancer names for WriteConfig.Balancer.
const (
	BalancerMurmur2    = "murmur2"     // Java client's default for keyed records
	BalancerHash       = "hash"        // FNV-1a of the key (kafka-go's Hash)
	BalancerCRC32      = "crc32"       // librdkafka's default
	BalancerRoundRobin = "round_robin" // ignores keys
	BalancerLeastBytes = "least_bytes" // ignores keys
)

// WriteConfig configures Write. The zero value (with Topic set, or with every
// Record.Topic set) writes murmur2-partitioned, uncompressed batches acked by
// all in-sync replicas.
type WriteConfig struct {
	ConnConfig

	// Topic is used for records whose Topic is empty. Default "": every record
	// must name its topic.
	Topic string
	// Balancer picks the partition from the key: BalancerMurmur2 (default ""),
	// BalancerHash, BalancerCRC32, BalancerRoundRobin or BalancerLeastBytes.
	Balancer string
	// Compression is "none" (default ""), "gzip", "snappy", "lz4" or "zstd".
	Compression string
	// BatchSize is the most records in one produce batch per partition.
	// Default 100.
	BatchSize int
	// BatchBytes is the most bytes in one produce batch per partition.
	// Default: MaxMessageBytes. Kafka limits a whole batch to the topic's
	// max.message.bytes, so a larger value only makes the broker refuse
	// full batches.
	BatchBytes int64
	// MaxMessageBytes is the largest record (key + value + headers) Write
	// sends; a larger one fails the bundle with an error wrapping
	// ErrTooLarge that names the topic and the limit. Default 0: the
	// max.message.bytes of Topic, read from the cluster in Setup, less
	// MessageOverhead (1 MiB when the cluster does not say).
	MaxMessageBytes int64
	// BatchTimeout is how long a partial batch waits for more records before
	// it is sent. Default 5ms.
	BatchTimeout time.Duration
	// BufferBytes is how many record bytes a DoFn instance buffers before it
	// hands them to the writer and waits for their acks; the rest is flushed
	// in FinishBundle. Default 8 MiB.
	BufferBytes int
	// RequiredAcks is "all" (default ""), "one" or "none".
	RequiredAcks string
	// MaxAttempts is how many times kafka-go tries a batch within one
	// WriteMessages call. Default 3. Write retries failed records itself,
	// with backoff, until RetryTimeout.
	MaxAttempts int
	// RetryTimeout is how long Write retries records whose write fails with
	// a retriable error (broker unreachable or restarting, leader moving,
	// timeouts) before the bundle fails with an error naming the brokers
	// and this limit. Default DefaultRetryTimeout (2m).
	RetryTimeout time.Duration
	// WriteTimeout bounds one produce request. Default 30s.
	WriteTimeout time.Duration
	// AllowAutoTopicCreation lets the broker create missing topics (when it
	// allows that too). Default false.
	AllowAutoTopicCreation bool
}

// Validate reports the first invalid field, wrapping ErrConfig.
func (c WriteConfig) Validate() error {
	if err := c.ConnConfig.Validate(); err != nil {
		return err
	}
	if _, err := c.balancer(); err != nil {
		return err
	}
	if _, err := c.compression(); err != nil {
		return err
	}
	if _, err := c.acks(); err != nil {
		return err
	}
	switch {
	case c.BatchSize < 0:
		return fmt.Errorf("%w: BatchSize %d is negative", ErrConfig, c.BatchSize)
	case c.BatchBytes < 0:
		return fmt.Errorf("%w: BatchBytes %d is negative", ErrConfig, c.BatchBytes)
	case c.MaxMessageBytes < 0:
		return fmt.Errorf("%w: MaxMessageBytes %d is negative", ErrConfig, c.MaxMessageBytes)
	case c.RetryTimeout < 0:
		return fmt.Errorf("%w: RetryTimeout %v is negative", ErrConfig, c.RetryTimeout)
	case c.BatchTimeout < 0:
		return fmt.Errorf("%w: BatchTimeout %v is negative", ErrConfig, c.BatchTimeout)
	case c.BufferBytes < 0:
		return fmt.Errorf("%w: BufferBytes %d is negative", ErrConfig, c.BufferBytes)
	case c.MaxAttempts < 0:
		return fmt.Errorf("%w: MaxAttempts %d is negative", ErrConfig, c.MaxAttempts)
	case c.WriteTimeout < 0:
		return fmt.Errorf("%w: WriteTimeout %v is negative", ErrConfig, c.WriteTimeout)
	}
	return nil
}

func (c WriteConfig) balancer() (kafka.Balancer, error) {
	switch strings.ToLower(c.Balancer) {
	case "", BalancerMurmur2:
		return kafka.Murmur2Balancer{}, nil
	case BalancerHash:
		return &kafka.Hash{}, nil
	case BalancerCRC32:
		return kafka.CRC32Balancer{}, nil
	case BalancerRoundRobin:
		return &kafka.RoundRobin{}, nil
	case BalancerLeastBytes:
		return &kafka.LeastBytes{}, nil
	}
	return nil, fmt.Errorf("%w: Balancer %q is not murmur2, hash, crc32, round_robin or least_bytes", ErrConfig, c.Balancer)
}

func (c WriteConfig) compression() (kafka.Compression, error) {
	switch strings.ToLower(c.Compression) {
	case "", "none":
		return 0, nil
	case "gzip":
		return compress.Gzip, nil
	case "snappy":
		return compress.Snappy, nil
	case "lz4":
		return compress.Lz4, nil
	case "zstd":
		return compress.Zstd, nil
	}
	return 0, fmt.Errorf("%w: Compression %q is not none, gzip, snappy, lz4 or zstd", ErrConfig, c.Compression)
}

func (c WriteConfig) acks() (kafka.RequiredAcks, error) {
	switch strings.ToLower(c.RequiredAcks) {
	case "", "all", "-1":
		return kafka.RequireAll, nil
	case "one", "1":
		return kafka.RequireOne, nil
	case "none", "0":
		return kafka.RequireNone, nil
	}
	return 0, fmt.Errorf("%w: RequiredAcks %q is not all, one or none", ErrConfig, c.RequiredAcks)
}

// Write writes every Record of col to Kafka, at least once, and returns the
// acknowledgements: the Source of every written record that has one, emitted
// (with the record's event time) only after Kafka acknowledged the write.
// Commit turns them into consumer-group offset commits.
//
// A bundle finishes only after all its records are acknowledged. Records
// that fail with a retriable error are retried with backoff for
// cfg.RetryTimeout (a broker outage is ridden out); then, or at once for a
// permanent error, the bundle fails so that the runner retries it, which may
// write records of that bundle twice. Set Record.Key to a stable id so
// consumers can de-duplicate. It panics on an invalid configuration (a
// programmer error, reported at pipeline construction).
//
// col must be in the global window when the acknowledgements are used:
// they are emitted when buffered records are flushed, in FinishBundle.
func Write(s beam.Scope, cfg WriteConfig, col beam.PCollection) beam.PCollection {
	s = s.Scope("kafkaio.Write")
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return beam.ParDo(s, &writeFn{Cfg: cfg}, col)
}

// MessageOverhead is what Kafka adds to a record's key, value and headers in
// a batch of one (batch header, record framing), with room to spare: a record
// fits a topic when its bytes plus MessageOverhead are at most the topic's
// max.message.bytes.
const MessageOverhead = 512

// writeFn owns one kafka-go Writer per DoFn instance.
type writeFn struct {
	Cfg WriteConfig

	writer   *kafka.Writer
	maxBytes int64
	buf      []pending
	bufBytes int
	records  beam.Counter
	bytes    beam.Counter
}

// pending is a buffered record with what its acknowledgement needs.
type pending struct {
	msg    kafka.Message
	size   int
	et     beam.EventTime
	source Position
}

func (fn *writeFn) Setup(ctx context.Context) error {
	maxBytes := fn.Cfg.MaxMessageBytes
	if maxBytes == 0 {
		maxBytes = 1 << 20
		if fn.Cfg.Topic != "" {
			limit, err := maxMessageBytes(ctx, fn.Cfg.ConnConfig, fn.Cfg.Topic, fn.retryTimeout())
			if err != nil {
				return err
			}
			maxBytes = limit - MessageOverhead
		}
	}
	cfg := fn.Cfg
	if cfg.BatchBytes == 0 {
		cfg.BatchBytes = maxBytes + MessageOverhead
	}
	w, err := newWriter(cfg)
	if err != nil {
		return err
	}
	fn.writer, fn.maxBytes = w, maxBytes
	fn.records = beam.NewCounter(metricsNamespace, "records_written")
	fn.bytes = beam.NewCounter(metricsNamespace, "bytes_written")
	return nil
}

func newWriter(cfg WriteConfig) (*kafka.Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr, err := cfg.transport()
	if err != nil {
		return nil, err
	}
	bal, _ := cfg.balancer()
	comp, _ := cfg.compression()
	acks, _ := cfg.acks()
	w := &kafka.Writer{
		Addr:                   kafka.TCP(cfg.brokers()...),
		Balancer:               bal,
		Compression:            comp,
		RequiredAcks:           acks,
		BatchSize:              100,
		BatchBytes:             1 << 20,
		BatchTimeout:           5 * time.Millisecond,
		MaxAttempts:            3,
		WriteBackoffMin:        50 * time.Millisecond,
		WriteBackoffMax:        500 * time.Millisecond,
		WriteTimeout:           30 * time.Second,
		ReadTimeout:            30 * time.Second,
		Transport:              tr,
		AllowAutoTopicCreation: cfg.AllowAutoTopicCreation,
	}
	if cfg.BatchSize > 0 {
		w.BatchSize = cfg.BatchSize
	}
	if cfg.BatchBytes > 0 {
		w.BatchBytes = cfg.BatchBytes
	}
	if cfg.BatchTimeout > 0 {
		w.BatchTimeout = cfg.BatchTimeout
	}
	if cfg.MaxAttempts > 0 {
		w.MaxAttempts = cfg.MaxAttempts
	}
	if cfg.WriteTimeout > 0 {
		w.WriteTimeout = cfg.WriteTimeout
		w.ReadTimeout = cfg.WriteTimeout
	}
	return w, nil
}

func (fn *writeFn) bufferLimit() int {
	if fn.Cfg.BufferBytes > 0 {
		return fn.Cfg.BufferBytes
	}
	return 8 << 20
}

func (fn *writeFn) retryTimeout() time.Duration {
	if fn.Cfg.RetryTimeout > 0 {
		return fn.Cfg.RetryTimeout
	}
	return DefaultRetryTimeout
}

func (fn *writeFn) ProcessElement(ctx context.Context, et beam.EventTime, r Record, ack func(beam.EventTime, Position)) error {
	topic := r.Topic
	if topic == "" {
		topic = fn.Cfg.Topic
	}
	if topic == "" {
		return fmt.Errorf("%w: record has no Topic and WriteConfig.Topic is empty", ErrWrite)
	}
	m := kafka.Message{Topic: topic, Key: r.Key, Value: r.Value, Time: r.Timestamp}
	size := RecordBytes(r)
	if int64(size) > fn.maxBytes {
		return fmt.Errorf("%w: record %q of %d bytes for topic %s is over the limit of %d bytes "+
			"(the topic's max.message.bytes less %d, or WriteConfig.MaxMessageBytes)",
			ErrTooLarge, r.Key, size, topic, fn.maxBytes, MessageOverhead)
	}
	if len(r.Headers) > 0 {
		m.Headers = make([]kafka.Header, len(r.Headers))
		for i, h := range r.Headers {
			m.Headers[i] = kafka.Header{Key: h.Key, Value: h.Value}
		}
	}
	fn.buf = append(fn.buf, pending{msg: m, size: size, et: et, source: r.Source})
	fn.bufBytes += size
	if fn.bufBytes >= fn.bufferLimit() {
		return fn.flush(ctx, ack)
	}
	return nil
}

// mergeAcks returns the acknowledgements of batch with the Sources of
// consecutive records of one partition merged into one Position (From of
// the first, Offset of the last): fewer elements for Commit, same meaning.
// Each merged acknowledgement keeps the earliest event time of its records.
func mergeAcks(batch []pending) []pending {
	var acks []pending
	for _, p := range batch {
		if !p.source.IsZero() {
			acks = append(acks, p)
		}
	}
	sort.Slice(acks, func(i, j int) bool {
		a, b := acks[i].source, acks[j].source
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.From < b.From
	})
	out := acks[:0]
	for _, a := range acks {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.source.Topic == a.source.Topic && last.source.Partition == a.source.Partition &&
				last.source.Base == a.source.Base && a.source.From == last.source.Offset+1 {
				last.source.Offset = a.source.Offset
				last.et = min(last.et, a.et)
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// RecordBytes is the size Write counts for r: key, value, header keys and
// values.
func RecordBytes(r Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// FinishBundle writes what is buffered and waits for the acks, so a finished
// bundle is durable on the broker, then emits the acknowledgements.
func (fn *writeFn) FinishBundle(ctx context.Context, ack func(beam.EventTime, Position)) error {
	return fn.flush(ctx, ack)
}

func (fn *writeFn) flush(ctx context.Context, ack func(beam.EventTime, Position)) error {
	if len(fn.buf) == 0 {
		return nil
	}
	batch, size := fn.buf, fn.bufBytes
	fn.buf, fn.bufBytes = fn.buf[:0:0], 0
	if err := fn.writeAll(ctx, batch); err != nil {
		return err
	}
	for _, a := range mergeAcks(batch) {
		ack(a.et, a.source)
	}
	fn.records.Inc(ctx, int64(len(batch)))
	fn.bytes.Inc(ctx, int64(size))
	return nil
}

// writeAll writes batch, retrying the records that failed with a retriable
// error with backoff (100ms doubling to 5s) until RetryTimeout.
func (fn *writeFn) writeAll(ctx context.Context, batch []pending) error {
	msgs := make([]kafka.Message, len(batch))
	for i, p := range batch {
		msgs[i] = p.msg
	}
	var since time.Time
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn.writer.WriteMessages(ctx, msgs...)
		if err == nil {
			if !since.IsZero() {
				log.Infof(ctx, "kafkaio: write to %s succeeded after %v of retries", fn.brokerList(), time.Since(since).Round(time.Millisecond))
			}
			return nil
		}
		failed, permanent := failedMessages(msgs, err)
		if permanent != nil {
			return fmt.Errorf("%w: %d records to %s: %w", ErrWrite, len(failed), fn.brokerList(), permanent)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %d records: %w", ErrWrite, len(failed), ctx.Err())
		}
		if since.IsZero() {
			since = time.Now()
		}
		if time.Since(since) > fn.retryTimeout() {
			return fmt.Errorf("%w: %d records to broker %s failed for %v, over the limit of %v "+
				"(WriteConfig.RetryTimeout, flag --kafka-retry-timeout): %w",
				ErrWrite, len(failed), fn.brokerList(), time.Since(since).Round(time.Second), fn.retryTimeout(), summarize(err))
		}
		if attempt == 1 || attempt%10 == 0 {
			log.Warnf(ctx, "kafkaio: write of %d records to %s: %v; retrying with backoff (failing for %v, limit %v)",
				len(failed), fn.brokerList(), summarize(err), time.Since(since).Round(time.Second), fn.retryTimeout())
		}
		sleep(ctx, backoff)
		backoff = min(2*backoff, 5*time.Second)
		msgs = failed
	}
}

func (fn *writeFn) brokerList() string { return strings.Join(fn.Cfg.brokers(), ",") }

// failedMessages returns the messages of msgs that err says failed, and a
// non-nil permanent error when one of them cannot succeed by retrying.
func failedMessages(msgs []kafka.Message, err error) (failed []kafka.Message, permanent error) {
	var we kafka.WriteErrors
	if errors.As(err, &we) && len(we) == len(msgs) {
		for i, e := range we {
			if e == nil {
				continue
			}
			failed = append(failed, msgs[i])
			if permanent == nil && !retriable(e) {
				permanent = e
			}
		}
		return failed, permanent
	}
	if !retriable(err) {
		return msgs, err
	}
	return msgs, nil
}

// retriable reports whether a write or commit error may succeed later: a
// Kafka error the protocol marks temporary (leader or coordinator moving or
// loading, timeouts), or a network, I/O or timeout error (broker down or
// restarting). Oversized records, authorization and invalid requests are
// permanent.
func retriable(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	var tl kafka.MessageTooLargeError
	if errors.As(err, &tl) {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	return true
}

// summarize shortens kafka-go's per-message WriteErrors to the first error
// and a count.
func summarize(err error) error {
	var we kafka.WriteErrors
	if !errors.As(err, &we) {
		return err
	}
	var first error
	n := 0
	for _, e := range we {
		if e != nil {
			if first == nil {
				first = e
			}
			n++
		}
	}
	if first == nil {
		return err
	}
	return fmt.Errorf("%d of %d failed, first: %w", n, len(we), first)
}

func (fn *writeFn) Teardown() error {
	if fn.writer == nil {
		return nil
	}
	err := fn.writer.Close()
	fn.writer = nil
	return err
}
