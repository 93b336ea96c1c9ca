package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

func init() {
	register.DoFn2x1[context.Context, Record, error](&writeFn{})
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
	// BatchBytes is the most bytes in one produce batch per partition; a
	// single larger record fails. Keep it at or below the broker's
	// message.max.bytes. Default 1 MiB (1048576).
	BatchBytes int64
	// BatchTimeout is how long a partial batch waits for more records before
	// it is sent. Default 5ms.
	BatchTimeout time.Duration
	// BufferBytes is how many record bytes a DoFn instance buffers before it
	// hands them to the writer and waits for their acks; the rest is flushed
	// in FinishBundle. Default 8 MiB.
	BufferBytes int
	// RequiredAcks is "all" (default ""), "one" or "none".
	RequiredAcks string
	// MaxAttempts is how many times kafka-go tries a batch before the bundle
	// fails. Default 10.
	MaxAttempts int
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

// Write writes every Record of col to Kafka, at least once: a bundle finishes
// only after all its records are acknowledged, and a failed write (after
// kafka-go's MaxAttempts) fails the bundle so that the runner retries it,
// which may write records of that bundle twice. Set Record.Key to a stable id
// so consumers can de-duplicate. It panics on an invalid configuration (a
// programmer error, reported at pipeline construction).
func Write(s beam.Scope, cfg WriteConfig, col beam.PCollection) {
	s = s.Scope("kafkaio.Write")
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	beam.ParDo0(s, &writeFn{Cfg: cfg}, col)
}

// writeFn owns one kafka-go Writer per DoFn instance.
type writeFn struct {
	Cfg WriteConfig

	writer   *kafka.Writer
	buf      []kafka.Message
	bufBytes int
	records  beam.Counter
	bytes    beam.Counter
}

func (fn *writeFn) Setup() error {
	w, err := newWriter(fn.Cfg)
	if err != nil {
		return err
	}
	fn.writer = w
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
		MaxAttempts:            10,
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

func (fn *writeFn) ProcessElement(ctx context.Context, r Record) error {
	topic := r.Topic
	if topic == "" {
		topic = fn.Cfg.Topic
	}
	if topic == "" {
		return fmt.Errorf("%w: record has no Topic and WriteConfig.Topic is empty", ErrWrite)
	}
	m := kafka.Message{Topic: topic, Key: r.Key, Value: r.Value, Time: r.Timestamp}
	size := len(r.Key) + len(r.Value)
	if len(r.Headers) > 0 {
		m.Headers = make([]kafka.Header, len(r.Headers))
		for i, h := range r.Headers {
			m.Headers[i] = kafka.Header{Key: h.Key, Value: h.Value}
			size += len(h.Key) + len(h.Value)
		}
	}
	fn.buf = append(fn.buf, m)
	fn.bufBytes += size
	if fn.bufBytes >= fn.bufferLimit() {
		return fn.flush(ctx)
	}
	return nil
}

// FinishBundle writes what is buffered and waits for the acks, so a finished
// bundle is durable on the broker.
func (fn *writeFn) FinishBundle(ctx context.Context) error {
	return fn.flush(ctx)
}

func (fn *writeFn) flush(ctx context.Context) error {
	if len(fn.buf) == 0 {
		return nil
	}
	msgs, size := fn.buf, fn.bufBytes
	fn.buf, fn.bufBytes = fn.buf[:0:0], 0
	if err := fn.writer.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("%w: %d records: %w", ErrWrite, len(msgs), summarize(err))
	}
	fn.records.Inc(ctx, int64(len(msgs)))
	fn.bytes.Inc(ctx, int64(size))
	return nil
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
