package kafkaio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one Kafka message, as read or to be written.
//
// Read fills every field. Write uses Topic (falling back to
// WriteConfig.Topic), Key, Value, Headers and Timestamp (zero: the broker's or
// producer's current time); it ignores Partition and Offset and picks the
// partition with WriteConfig.Balancer.
type Record struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	// Timestamp is the record's Kafka timestamp (CreateTime or LogAppendTime,
	// as the topic is configured), millisecond precision.
	Timestamp time.Time
	// Source is the position of the input record this record stands for. Read
	// sets it to the record's own position; pipelines copy it onto whatever
	// they write for that input (its output or its dead letter), and Write
	// emits it as an acknowledgement once Kafka has acknowledged the write.
	// Commit commits offsets from those acknowledgements. Zero (Topic ""):
	// no source, no acknowledgement.
	Source Position
}

// Position names one record of a Read and the offsets it accounts for, so
// that Commit can tell when every offset below some point has been handled.
//
// Offsets [From, Offset] of the partition hold no other record of the read:
// From is the offset after the previous record the read delivered from the
// partition, or where the read (or its restriction) started. Base is the
// offset the read of the partition started at when the pipeline started.
type Position struct {
	Topic     string
	Partition int
	Offset    int64
	From      int64
	Base      int64
}

// IsZero reports whether p names no record.
func (p Position) IsZero() bool { return p.Topic == "" }

// ErrCorruptRecord reports bytes that do not decode as a Record (see
// DecodeRecord).
var ErrCorruptRecord = errors.New("kafkaio: corrupt encoded record")

// Record coder limits: a decoder rejects encodings that claim more.
const (
	maxEncodedField   = 1 << 30 // 1 GiB for one key, value or header value
	maxEncodedHeaders = 1 << 16
)

// AppendRecord appends the binary encoding of r to b. Beam uses it (with
// DecodeRecord) as the coder of Record: a compact length-prefixed layout that
// keeps nil and empty byte slices distinct.
//
// Layout: version byte (1 without a Source, 2 with one); uvarint-length
// Topic; varint Partition; varint Offset; varint Timestamp in Unix
// milliseconds (math.MinInt64 for the zero time); Key and Value as
// uvarint(len+1) then bytes (0 means nil); uvarint header count, then per
// header uvarint-length Key and a Key-like Value; version 2 then appends
// the Source: uvarint-length Topic, varint Partition, Offset, From, Base.
func AppendRecord(b []byte, r Record) []byte {
	version := byte(1)
	if !r.Source.IsZero() {
		version = 2
	}
	b = append(b, version)
	b = appendString(b, r.Topic)
	b = binary.AppendVarint(b, int64(r.Partition))
	b = binary.AppendVarint(b, r.Offset)
	ts := int64(math.MinInt64)
	if !r.Timestamp.IsZero() {
		ts = r.Timestamp.UnixMilli()
	}
	b = binary.AppendVarint(b, ts)
	b = appendNullable(b, r.Key)
	b = appendNullable(b, r.Value)
	b = binary.AppendUvarint(b, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		b = appendString(b, h.Key)
		b = appendNullable(b, h.Value)
	}
	if version == 2 {
		b = appendString(b, r.Source.Topic)
		b = binary.AppendVarint(b, int64(r.Source.Partition))
		b = binary.AppendVarint(b, r.Source.Offset)
		b = binary.AppendVarint(b, r.Source.From)
		b = binary.AppendVarint(b, r.Source.Base)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendNullable(b, v []byte) []byte {
	if v == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(v))+1)
	return append(b, v...)
}

// DecodeRecord decodes one Record encoded by AppendRecord. The byte slices of
// the result are copies, not views of data. Malformed input returns an error
// wrapping ErrCorruptRecord, never a panic; lengths are checked against the
// remaining input before anything is allocated.
func DecodeRecord(data []byte) (Record, error) {
	d := decoder{b: data}
	var r Record
	version := d.byte()
	if d.err == nil && version != 1 && version != 2 {
		return Record{}, fmt.Errorf("%w: version %d", ErrCorruptRecord, version)
	}
	r.Topic = d.string()
	r.Partition = d.partition()
	r.Offset = d.varint()
	if ts := d.varint(); d.err == nil && ts != math.MinInt64 {
		r.Timestamp = time.UnixMilli(ts)
	}
	r.Key = d.nullable()
	r.Value = d.nullable()
	n := d.uvarint()
	if d.err == nil && (n > maxEncodedHeaders || n*2 > uint64(len(d.b))) {
		d.fail("header count")
	}
	if d.err == nil && n > 0 {
		r.Headers = make([]Header, n)
		for i := range r.Headers {
			r.Headers[i].Key = d.string()
			r.Headers[i].Value = d.nullable()
		}
	}
	if version == 2 {
		r.Source.Topic = d.string()
		r.Source.Partition = d.partition()
		r.Source.Offset = d.varint()
		r.Source.From = d.varint()
		r.Source.Base = d.varint()
		if d.err == nil && r.Source.IsZero() {
			d.fail("version 2 without a source topic")
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return Record{}, d.err
	}
	return r, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorruptRecord, what)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) partition() int {
	p := d.varint()
	if d.err == nil && (p < math.MinInt32 || p > math.MaxInt32) {
		d.fail("partition out of range")
	}
	return int(p)
}

func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > maxEncodedField || n > uint64(len(d.b)) {
		d.fail("length exceeds input")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	return string(d.take(d.uvarint()))
}

func (d *decoder) nullable() []byte {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	v := d.take(n - 1)
	if d.err != nil {
		return nil
	}
	return append(make([]byte, 0, len(v)), v...)
}

// encodeRecordCoder and decodeRecordCoder adapt the codec to
// beam.RegisterCoder.
func encodeRecordCoder(r Record) ([]byte, error) {
	return AppendRecord(make([]byte, 0, 96+len(r.Topic)+len(r.Source.Topic)+len(r.Key)+len(r.Value)), r), nil
}

func decodeRecordCoder(b []byte) (Record, error) {
	return DecodeRecord(b)
}
