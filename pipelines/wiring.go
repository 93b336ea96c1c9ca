package pipelines

import (
	"reflect"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/io/parquetio"
	"github.com/flavabeam/flavabeam/schemas"
)

var (
	typeEmbedding = reflect.TypeOf(schemas.Embedding{})
	typeScore     = reflect.TypeOf(schemas.Score{})
	typeMIMLabel  = reflect.TypeOf(schemas.MIMLabel{})
)

func init() {
	for _, t := range []any{schemas.ImageText{}, schemas.Embedding{}, schemas.Score{}, schemas.LabelScore{}, schemas.MIMLabel{}, schemas.DeadLetter{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
}

// Stage is a job's model step: records (schemas.ImageText) in, results and
// dead letters (schemas.DeadLetter) out. The transforms composites have
// this shape once their options are bound.
type Stage func(s beam.Scope, records beam.PCollection) (out, dead beam.PCollection)

// Output names, used for Parquet file prefixes and metric names.
const (
	OutputEmbeddings  = "embeddings"
	OutputScores      = "scores"
	OutputMIMLabels   = "mim-labels"
	OutputDeadLetters = "dead-letters"
)

// Build adds a complete job to s: the source, stage, the output sink and
// the dead-letter sink, with the counters that Run's Summary and live
// progress read. output names the results ("embeddings", ...). The job
// must be valid (see Job.Validate): Build panics otherwise, as Beam
// transforms do for construction errors.
func Build(s beam.Scope, job Job, output string, stage Stage) {
	if err := job.Validate(); err != nil {
		panic(err)
	}
	ds := job.deadLetterSink()
	src := job.Source
	if src.Kafka.Unbounded || src.Kafka.CommitOffsets {
		// Refuse to start, before reading anything, when a sink topic is
		// missing: not at the first record (or first bad record) sent there.
		for _, sink := range []Sink{job.Output, ds} {
			if sink.isKafka() {
				src.Kafka.RequireTopics = append(src.Kafka.RequireTopics, sink.Kafka.Topic)
			}
		}
	}
	recs, srcDead := readSource(s, src)
	recs = countRecords(s, counterRead, recs)
	out, stageDead := stage(s, recs)
	out = countRecords(s, counterOut, out)
	dead := []beam.PCollection{srcDead, stageDead}
	var acks []beam.PCollection
	if job.Output.isKafka() {
		encoded, encDead := encodeForKafka(s, out)
		acks = append(acks, kafkaio.Write(s.Scope("output"), job.Output.Kafka, encoded))
		dead = append(dead, encDead)
	} else {
		parquetio.Write(s.Scope("output"), joinPath(job.Output.Parquet, output), out, job.Output.ParquetOptions)
	}
	all := countDeadLetters(s, beam.Flatten(s, dead...))
	if ds.isKafka() {
		encoded := beam.ParDo(s.Scope("pipelines.EncodeKafka"), &encodeDeadLetterFn{Sink: ds.Kafka}, all)
		acks = append(acks, kafkaio.Write(s.Scope("dead-letters"), ds.Kafka, encoded))
	} else {
		parquetio.Write(s.Scope("dead-letters"), joinPath(ds.Parquet, OutputDeadLetters), all, ds.ParquetOptions)
	}
	if src.Kafka.CommitOffsets {
		// Every input record becomes exactly one output or one dead letter,
		// each carrying the record's Source: an offset is committed once
		// the writes of every record before it are acknowledged.
		kafkaio.Commit(s, src.Kafka.ReadConfig, acks...)
	}
}

// readSource returns the source's records and its dead letters.
func readSource(s beam.Scope, src Source) (records, dead beam.PCollection) {
	if src.Parquet != "" {
		return parquetio.Read(s, src.Parquet, src.ParquetColumns)
	}
	raw := kafkaio.Read(s, src.Kafka.ReadConfig)
	return beam.ParDo2(s.Scope("pipelines.DecodeKafka"), &decodeFn{Codec: src.Kafka.Codec}, raw)
}

// joinPath joins a directory and a file prefix on local paths and URLs
// alike (filepath.Join would turn gs://b into gs:/b).
func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return strings.TrimSuffix(dir, "/") + "/" + name
}
