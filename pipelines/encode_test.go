package pipelines

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/schemas"
	"github.com/flavabeam/flavabeam/transforms"
)

// TestEncodeNonFiniteIsDeadLettered: an output the JSON codec cannot carry
// (NaN in a vector) becomes a dead letter, not a failed bundle.
func TestEncodeNonFiniteIsDeadLettered(t *testing.T) {
	var recs []kafkaio.Record
	var dead []schemas.DeadLetter
	emit := func(r kafkaio.Record) { recs = append(recs, r) }
	deadFn := func(d schemas.DeadLetter) { dead = append(dead, d) }
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fn := &encodeEmbeddingFn{}
	if err := fn.ProcessElement(context.Background(), schemas.Embedding{ID: "ok", ModelID: "m", ImageVector: []float32{1, 2}, EventTime: ts}, emit, deadFn); err != nil {
		t.Fatal(err)
	}
	if err := fn.ProcessElement(context.Background(), schemas.Embedding{ID: "nan", ModelID: "m", ImageVector: []float32{float32(math.NaN())}}, emit, deadFn); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || string(recs[0].Key) != "ok" || !recs[0].Timestamp.Equal(ts) {
		t.Fatalf("records %+v", recs)
	}
	hs := map[string]string{}
	for _, h := range recs[0].Headers {
		hs[h.Key] = string(h.Value)
	}
	if hs[HeaderModelID] != "m" || hs[HeaderRecordType] != "embedding" || hs[schemas.HeaderSchemaVersion] != strconv.Itoa(schemas.SchemaVersion) {
		t.Errorf("headers %v", hs)
	}
	if len(dead) != 1 || dead[0].ID != "nan" || dead[0].Reason != schemas.ReasonNonFinite || dead[0].Stage != StageEncode {
		t.Fatalf("dead letters %+v", dead)
	}
}

// TestDecodeKeepsMalformedPayload: a payload that does not decode is
// dead-lettered with its raw bytes, its key as ID and the schemas reason.
func TestDecodeKeepsMalformedPayload(t *testing.T) {
	var dead []schemas.DeadLetter
	fn := &decodeFn{Codec: schemas.CodecJSON}
	for _, v := range []string{`{"id": "x", `, `{"schema_version": 99, "id": "y", "text": "hi"}`} {
		fn.ProcessElement(context.Background(), kafkaio.Record{Topic: "t", Key: []byte("k"), Value: []byte(v)},
			func(schemas.ImageText) { t.Errorf("%q decoded", v) }, func(d schemas.DeadLetter) { dead = append(dead, d) })
	}
	if len(dead) != 2 || dead[0].Reason != schemas.ReasonPayload || dead[1].Reason != schemas.ReasonUnsupportedVersion ||
		string(dead[0].Payload) != `{"id": "x", ` || dead[0].ID != "k" || dead[0].Stage != StageDecode {
		t.Fatalf("dead letters %+v", dead)
	}
}

// TestScoreAndLabelMIMToKafkaFake covers the Score and MIMLabel Kafka
// encodings end to end.
func TestScoreAndLabelMIMToKafkaFake(t *testing.T) {
	scores, mims := fmt.Sprintf("scores-%d", time.Now().UnixNano()), fmt.Sprintf("mim-%d", time.Now().UnixNano())
	c := fakeCluster(t, scores, scores+DeadLetterSuffix, mims, mims+DeadLetterSuffix)
	sink := func(topic string) Sink { return Sink{Kafka: kafkaio.WriteConfig{ConnConfig: c.conn(), Topic: topic}} }
	run(t, func() (Summary, error) {
		p, err := Score(ScoreConfig{Job: Job{Source: Source{Parquet: records}, Output: sink(scores)}, Mode: ModeZeroShot, Options: transforms.ZeroShotOptions{TopK: 1}})
		if err != nil {
			return Summary{}, err
		}
		return Run(context.Background(), p)
	})
	run(t, func() (Summary, error) {
		p, err := LabelMIM(MIMConfig{Job: Job{Source: Source{Parquet: records}, Output: sink(mims)}})
		if err != nil {
			return Summary{}, err
		}
		return Run(context.Background(), p)
	})
	for topic, decode := range map[string]func([]byte) (string, error){
		scores: func(v []byte) (string, error) {
			s, err := schemas.DecodeScore(v)
			if err == nil && len(s.TopK) != 1 {
				err = fmt.Errorf("%s: %d labels", s.ID, len(s.TopK))
			}
			return s.ID, err
		},
		mims: func(v []byte) (string, error) {
			m, err := schemas.DecodeMIMLabel(v)
			if err == nil && (len(m.CodebookIDs) == 0 || len(m.MaskedPositions) == 0) {
				err = fmt.Errorf("%s: empty labels", m.ID)
			}
			return m.ID, err
		},
	} {
		msgs := c.readTopic(t, topic)
		if len(msgs) != goodRecords {
			t.Errorf("%s: %d records, want %d", topic, len(msgs), goodRecords)
		}
		for _, m := range msgs {
			id, err := decode(m.Value)
			if err != nil || id != string(m.Key) {
				t.Errorf("%s: record %q: %v", topic, m.Key, err)
			}
		}
		if n := len(c.readTopic(t, topic+DeadLetterSuffix)); n != len(badRecords) {
			t.Errorf("%s: %d dead letters, want %d", topic, n, len(badRecords))
		}
	}
}
