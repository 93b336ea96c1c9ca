package pipelines

import (
	"context"
	"fmt"
	"strconv"
	"time"

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
		dead(schemas.DeadLetter{
			ID:      string(r.Key),
			Stage:   StageDecode,
			Reason:  schemas.ReasonOf(err),
			Message: fmt.Sprintf("%s[%d]@%d: %v", r.Topic, r.Partition, r.Offset, err),
			Payload: r.Value,
			Time:    time.Now().UTC(),
		})
		return
	}
	emit(rec)
}

// outputRecord builds the Kafka record of one encoded output.
func outputRecord(key, value []byte, kind, modelID string, ts time.Time) kafkaio.Record {
	hs := []kafkaio.Header{
		{Key: schemas.HeaderSchemaVersion, Value: []byte(strconv.Itoa(schemas.SchemaVersion))},
		{Key: HeaderRecordType, Value: []byte(kind)},
	}
	if modelID != "" {
		hs = append(hs, kafkaio.Header{Key: HeaderModelID, Value: []byte(modelID)})
	}
	return kafkaio.Record{Key: key, Value: value, Headers: hs, Timestamp: ts}
}

// encodeFailed dead-letters an output that cannot be encoded (NaN or Inf
// in a vector); any other encoding error fails the bundle.
func encodeFailed(id string, err error, dead func(schemas.DeadLetter)) error {
	reason := schemas.ReasonOf(err)
	if reason != schemas.ReasonNonFinite {
		return fmt.Errorf("pipelines: encode %q: %w", id, err)
	}
	dead(schemas.DeadLetter{ID: id, Stage: StageEncode, Reason: reason, Message: err.Error(), Time: time.Now().UTC()})
	return nil
}

type encodeEmbeddingFn struct{}

func (f *encodeEmbeddingFn) ProcessElement(ctx context.Context, e schemas.Embedding, emit func(kafkaio.Record), dead func(schemas.DeadLetter)) error {
	k, v, err := schemas.EncodeEmbedding(e)
	if err != nil {
		return encodeFailed(e.ID, err, dead)
	}
	emit(outputRecord(k, v, "embedding", e.ModelID, e.EventTime))
	return nil
}

type encodeScoreFn struct{}

func (f *encodeScoreFn) ProcessElement(ctx context.Context, e schemas.Score, emit func(kafkaio.Record), dead func(schemas.DeadLetter)) error {
	k, v, err := schemas.EncodeScore(e)
	if err != nil {
		return encodeFailed(e.ID, err, dead)
	}
	emit(outputRecord(k, v, "score", e.ModelID, e.EventTime))
	return nil
}

type encodeMIMFn struct{}

func (f *encodeMIMFn) ProcessElement(ctx context.Context, e schemas.MIMLabel, emit func(kafkaio.Record), dead func(schemas.DeadLetter)) error {
	k, v, err := schemas.EncodeMIMLabel(e)
	if err != nil {
		return encodeFailed(e.ID, err, dead)
	}
	emit(outputRecord(k, v, "mim_label", e.ModelID, e.EventTime))
	return nil
}

type encodeDeadLetterFn struct{}

func (f *encodeDeadLetterFn) ProcessElement(ctx context.Context, d schemas.DeadLetter, emit func(kafkaio.Record)) error {
	k, v, err := schemas.EncodeDeadLetter(d)
	if err != nil {
		return fmt.Errorf("pipelines: encode dead letter %q: %w", d.ID, err)
	}
	emit(outputRecord(k, v, "dead_letter", "", d.Time))
	return nil
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
