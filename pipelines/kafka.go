package pipelines

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/schemas"
)

// Kafka record headers written with every output record.
const (
	// HeaderModelID carries the output's ModelID (e.g. facebook/flava-full).
	HeaderModelID = "flavabeam-model-id"
	// HeaderRecordType names the payload: embedding, score, mim_label or
	// dead_letter.
	HeaderRecordType = "flavabeam-record-type"
)

// StageDecode is the DeadLetter.Stage of Kafka payloads that do not decode.
const StageDecode = "pipelines.DecodeKafka"

// StageEncode is the DeadLetter.Stage of outputs that cannot be encoded
// (non-finite vectors).
const StageEncode = "pipelines.EncodeKafka"

func init() {
	register.DoFn4x0[context.Context, kafkaio.Record, func(schemas.ImageText), func(schemas.DeadLetter)](&decodeFn{})
	register.DoFn4x1[context.Context, schemas.Embedding, func(kafkaio.Record), func(schemas.DeadLetter), error](&encodeEmbeddingFn{})
	register.DoFn4x1[context.Context, schemas.Score, func(kafkaio.Record), func(schemas.DeadLetter), error](&encodeScoreFn{})
	register.DoFn4x1[context.Context, schemas.MIMLabel, func(kafkaio.Record), func(schemas.DeadLetter), error](&encodeMIMFn{})
	register.DoFn3x1[context.Context, schemas.DeadLetter, func(kafkaio.Record), error](&encodeDeadLetterFn{})
	register.Emitter1[kafkaio.Record]()
	register.Emitter1[schemas.ImageText]()
	register.Emitter1[schemas.DeadLetter]()
}

// decodeFn turns Kafka records into ImageText with the configured codec;
// a payload that does not decode becomes a dead letter carrying the raw
// value, with the reason schemas.ReasonOf gives (malformed_payload, or a
// more specific code such as unsupported_schema_version).
type decodeFn struct {
	Codec schemas.Codec
}

func (f *decodeFn) ProcessElement(ctx context.Context, r kafkaio.Record, emit func(schemas.ImageText), dead func(schemas.DeadLetter)) {
	hs := make([]schemas.Header, len(r.Headers))
	for i, h := range r.Headers {
		hs[i] = schemas.Header{Key: h.Key, Value: h.Value}
	}
	rec, err := f.Codec.DecodeImageText(r.Key, r.Value, hs)
	if err != nil {
		d := schemas.DeadLetter{
			ID:      recordID(r),
			Stage:   StageDecode,
			Reason:  schemas.ReasonOf(err),
			Message: fmt.Sprintf("%s[%d]@%d: %v", r.Topic, r.Partition, r.Offset, err),
			Payload: r.Value,
			Time:    time.Now().UTC(),
			Source:  sourceOf(r.Source),
		}
		if len(hs) > 0 {
			d.Headers = hs
		}
		dead(d)
		return
	}
	rec.Source = sourceOf(r.Source)
	emit(rec)
}

// recordID finds the id of a record that did not decode: its Kafka key, the
// flavabeam-id header, or the JSON "id" of its value, whichever exists first.
func recordID(r kafkaio.Record) string {
	if len(r.Key) > 0 && utf8.Valid(r.Key) {
		return string(r.Key)
	}
	for _, h := range r.Headers {
		if h.Key == schemas.HeaderID && len(h.Value) > 0 && utf8.Valid(h.Value) {
			return string(h.Value)
		}
	}
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(r.Value, &v) == nil && len(v.ID) > 0 {
		var id string
		if json.Unmarshal(v.ID, &id) == nil {
			return id
		}
		return string(v.ID) // a number, say
	}
	return string(r.Key)
}

// sourceOf and sinkSource convert between kafkaio's and schemas' record
// positions (schemas imports nothing of kafkaio).
func sourceOf(p kafkaio.Position) schemas.SourcePosition {
	return schemas.SourcePosition{Topic: p.Topic, Partition: int32(p.Partition), Offset: p.Offset, From: p.From, Base: p.Base}
}

func sinkSource(p schemas.SourcePosition) kafkaio.Position {
	return kafkaio.Position{Topic: p.Topic, Partition: int(p.Partition), Offset: p.Offset, From: p.From, Base: p.Base}
}

// outputRecord builds the Kafka record of one encoded output.
func outputRecord(key, value []byte, kind, modelID string, ts time.Time, src schemas.SourcePosition) kafkaio.Record {
	hs := []kafkaio.Header{
		{Key: schemas.HeaderSchemaVersion, Value: []byte(strconv.Itoa(schemas.SchemaVersion))},
		{Key: HeaderRecordType, Value: []byte(kind)},
	}
	if modelID != "" {
		hs = append(hs, kafkaio.Header{Key: HeaderModelID, Value: []byte(modelID)})
	}
	return kafkaio.Record{Key: key, Value: value, Headers: hs, Timestamp: ts, Source: sinkSource(src)}
}

// encodeFailed dead-letters an output that cannot be encoded (NaN or Inf
// in a vector); any other encoding error fails the bundle.
func encodeFailed(id string, src schemas.SourcePosition, err error, dead func(schemas.DeadLetter)) error {
	reason := schemas.ReasonOf(err)
	if reason != schemas.ReasonNonFinite {
		return fmt.Errorf("pipelines: encode %q: %w", id, err)
	}
	dead(schemas.DeadLetter{ID: id, Stage: StageEncode, Reason: reason, Message: err.Error(), Time: time.Now().UTC(), Source: src})
	return nil
}

type encodeEmbeddingFn struct{}

func (f *encodeEmbeddingFn) ProcessElement(ctx context.Context, e schemas.Embedding, emit func(kafkaio.Record), dead func(schemas.DeadLetter)) error {
	k, v, err := schemas.EncodeEmbedding(e)
	if err != nil {
		return encodeFailed(e.ID, e.Source, err, dead)
	}
	emit(outputRecord(k, v, "embedding", e.ModelID, e.EventTime, e.Source))
	return nil
}

type encodeScoreFn struct{}

func (f *encodeScoreFn) ProcessElement(ctx context.Context, e schemas.Score, emit func(kafkaio.Record), dead func(schemas.DeadLetter)) error {
	k, v, err := schemas.EncodeScore(e)
	if err != nil {
		return encodeFailed(e.ID, e.Source, err, dead)
	}
	emit(outputRecord(k, v, "score", e.ModelID, e.EventTime, e.Source))
	return nil
}

type encodeMIMFn struct{}

func (f *encodeMIMFn) ProcessElement(ctx context.Context, e schemas.MIMLabel, emit func(kafkaio.Record), dead func(schemas.DeadLetter)) error {
	k, v, err := schemas.EncodeMIMLabel(e)
	if err != nil {
		return encodeFailed(e.ID, e.Source, err, dead)
	}
	emit(outputRecord(k, v, "mim_label", e.ModelID, e.EventTime, e.Source))
	return nil
}

// encodeDeadLetterFn encodes dead letters for a Kafka topic. A dead letter
// too large for the topic (its payload is base64 in JSON, a third larger
// than the input record) is still written: its payload is cut to fit,
// PayloadTruncated set and PayloadBytes the original size; if even that does
// not fit, the input's headers are dropped and the message shortened.
type encodeDeadLetterFn struct {
	// Sink is the dead-letter topic's configuration; its MaxMessageBytes,
	// else the topic's max.message.bytes, sets the limit.
	Sink kafkaio.WriteConfig

	limit int
}

func (f *encodeDeadLetterFn) Setup(ctx context.Context) error {
	limit := f.Sink.MaxMessageBytes
	if limit == 0 {
		limit = kafkaio.DefaultMaxMessageBytes - kafkaio.MessageOverhead
		if f.Sink.Topic != "" {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			v, err := kafkaio.TopicMaxMessageBytes(ctx, f.Sink.ConnConfig, f.Sink.Topic)
			if err != nil {
				return fmt.Errorf("pipelines: dead-letter topic: %w", err)
			}
			limit = v - kafkaio.MessageOverhead
		}
	}
	f.limit = int(limit)
	return nil
}

func (f *encodeDeadLetterFn) ProcessElement(ctx context.Context, d schemas.DeadLetter, emit func(kafkaio.Record)) error {
	r, err := f.encode(d)
	if err != nil {
		return err
	}
	if n := kafkaio.RecordBytes(r); f.limit > 0 && n > f.limit {
		d = fitDeadLetter(d, n-f.limit)
		if r, err = f.encode(d); err != nil {
			return err
		}
	}
	emit(r)
	return nil
}

func (f *encodeDeadLetterFn) encode(d schemas.DeadLetter) (kafkaio.Record, error) {
	k, v, err := schemas.EncodeDeadLetter(d)
	if err != nil {
		return kafkaio.Record{}, fmt.Errorf("pipelines: encode dead letter %q: %w", d.ID, err)
	}
	return outputRecord(k, v, "dead_letter", "", d.Time, d.Source), nil
}

// fitDeadLetter shrinks d by at least over bytes of encoded size (plus room
// for the fields it sets): the payload first (base64: 4 bytes per 3), then
// the headers and the message.
func fitDeadLetter(d schemas.DeadLetter, over int) schemas.DeadLetter {
	need := over + 64 // "payload_truncated":true,"payload_bytes":N
	if !d.PayloadTruncated {
		d.PayloadBytes = int64(len(d.Payload))
	}
	cut := (need*3 + 3) / 4
	if cut <= len(d.Payload) {
		d.Payload = d.Payload[:len(d.Payload)-cut]
		d.PayloadTruncated = true
		return d
	}
	need -= len(d.Payload) * 4 / 3
	d.Payload, d.PayloadTruncated = nil, d.PayloadBytes > 0
	for _, h := range d.Headers {
		need -= len(h.Key) + (len(h.Value)*4+2)/3 + 20
	}
	d.Headers = nil
	if need > 0 && len(d.Message) > 1024 {
		d.Message = d.Message[:1024]
	}
	return d
}

// encodeForKafka returns the Kafka records of col (a PCollection of
// Embedding, Score or MIMLabel) and the dead letters of outputs that could
// not be encoded.
func encodeForKafka(s beam.Scope, col beam.PCollection) (records, dead beam.PCollection) {
	s = s.Scope("pipelines.EncodeKafka")
	var fn any
	switch col.Type().Type() {
	case typeEmbedding:
		fn = &encodeEmbeddingFn{}
	case typeScore:
		fn = &encodeScoreFn{}
	case typeMIMLabel:
		fn = &encodeMIMFn{}
	default:
		panic(fmt.Sprintf("pipelines: no Kafka encoding for %v", col.Type()))
	}
	return beam.ParDo2(s, fn, col)
}
