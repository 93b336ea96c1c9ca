package pipelines

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/io/parquetio"
	"github.com/flavabeam/flavabeam/schemas"
)

// ErrConfig is wrapped by every Validate error; the message names the field.
var ErrConfig = errors.New("pipelines: invalid configuration")

func bad(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
}

// Source says where the input records come from: set exactly one of
// Parquet and Kafka.Topics.
type Source struct {
	// Parquet is a glob of Parquet files of image–text rows, on any Beam
	// filesystem (local paths, gs://, ...). Default "": not a Parquet source.
	Parquet string
	// ParquetColumns overrides how columns map onto schemas.ImageText.
	// Default: the zero parquetio.ReadOptions (columns found by their usual
	// names).
	ParquetColumns parquetio.ReadOptions
	// Kafka reads records from Kafka when Kafka.Topics is set. Default: not a
	// Kafka source.
	Kafka KafkaSource
}

// KafkaSource reads schemas.ImageText payloads from Kafka topics.
type KafkaSource struct {
	// ReadConfig is the kafkaio read: brokers (default 127.0.0.1:9092),
	// Topics (required), StartFrom (default earliest), Unbounded (default
	// false: read up to the end offsets seen at start, then finish), ...
	kafkaio.ReadConfig
	// Codec is the payload layout: schemas.CodecJSON (default) or
	// schemas.CodecBinary (value = image bytes, other fields in headers).
	Codec schemas.Codec
}

// Sink says where records go: set exactly one of Parquet and Kafka.Topic.
type Sink struct {
	// Parquet is the output directory (any Beam filesystem). Files are named
	// <dir>/<name>-SSSSS-of-NNNNN.parquet, where name is the job's output
	// name ("embeddings", "scores", "mim-labels", "dead-letters"). Default "".
	Parquet string
	// ParquetOptions: shards (default 1), compression (default snappy), row
	// group size and page version.
	ParquetOptions parquetio.WriteOptions
	// Kafka writes JSON payloads (the only layout schemas has for outputs)
	// to Kafka.Topic, keyed by record ID, with the headers HeaderModelID and
	// schemas.HeaderSchemaVersion. Default: not a Kafka sink.
	Kafka kafkaio.WriteConfig
}

func (s Sink) isParquet() bool { return s.Parquet != "" }
func (s Sink) isKafka() bool   { return s.Kafka.Topic != "" }
func (s Sink) isZero() bool    { return !s.isParquet() && !s.isKafka() }

// Job is what every pipeline needs besides its model stage.
type Job struct {
	// Source of the input records. Required.
	Source Source
	// Output is where the job's results go. Required.
	Output Sink
	// DeadLetters is where records that could not be processed go, as
	// schemas.DeadLetter. Default (zero): beside the output — the same
	// Parquet directory (files dead-letters-*.parquet, same options) or, for
	// a Kafka output, the topic <output topic>-dead-letters on the same
	// cluster (it must exist unless the broker auto-creates topics).
	DeadLetters Sink
}

// DeadLetterSuffix is appended to a Kafka output topic to name the default
// dead-letter topic.
const DeadLetterSuffix = "-dead-letters"

// deadLetterSink resolves the DeadLetters default.
func (j Job) deadLetterSink() Sink {
	if !j.DeadLetters.isZero() {
		return j.DeadLetters
	}
	d := j.Output
	if d.isKafka() {
		d.Kafka.Topic += DeadLetterSuffix
	}
	return d
}

// Validate names the first bad field.
func (j Job) Validate() error {
	src := j.Source
	switch {
	case src.Parquet != "" && len(src.Kafka.Topics) > 0:
		return bad("Source", "both Parquet and Kafka.Topics are set; choose one")
	case src.Parquet == "" && len(src.Kafka.Topics) == 0:
		return bad("Source", "neither Parquet nor Kafka.Topics is set")
	case src.Parquet != "":
		if err := src.ParquetColumns.Validate(); err != nil {
			return bad("Source.ParquetColumns", "%v", err)
		}
	default:
		if err := src.Kafka.ReadConfig.Validate(); err != nil {
			return bad("Source.Kafka", "%v", err)
		}
		if err := src.Kafka.Codec.Validate(); err != nil {
			return bad("Source.Kafka.Codec", "%v", err)
		}
	}
	if err := validateSink("Output", j.Output, true); err != nil {
		return err
	}
	if err := validateSink("DeadLetters", j.DeadLetters, false); err != nil {
		return err
	}
	if j.Output.isKafka() && j.DeadLetters.isZero() && len(j.Output.Kafka.Topic)+len(DeadLetterSuffix) > 249 {
		return bad("Output.Kafka.Topic", "too long to derive the dead-letter topic; set DeadLetters")
	}
	if src.Kafka.Unbounded && (j.Output.isParquet() || j.deadLetterSink().isParquet()) {
		return bad("Output", "an unbounded Kafka source needs Kafka sinks: Parquet files are written once, at the end of a bounded input")
	}
	if src.Kafka.CommitOffsets && (j.Output.isParquet() || j.deadLetterSink().isParquet()) {
		return bad("Source.Kafka.CommitOffsets", "offsets are committed once Kafka acknowledges each record's output or dead letter: both must be Kafka topics")
	}
	return nil
}

func validateSink(field string, s Sink, required bool) error {
	switch {
	case s.isParquet() && s.isKafka():
		return bad(field, "both Parquet and Kafka.Topic are set; choose one")
	case s.isZero():
		if required {
			return bad(field, "neither Parquet nor Kafka.Topic is set")
		}
		return nil
	case s.isParquet():
		if err := s.ParquetOptions.Validate(); err != nil {
			return bad(field+".ParquetOptions", "%v", err)
		}
		if strings.ContainsAny(s.Parquet, "*?[") {
			return bad(field+".Parquet", "%q is a glob; give a directory", s.Parquet)
		}
	default:
		if err := s.Kafka.Validate(); err != nil {
			return bad(field+".Kafka", "%v", err)
		}
	}
	return nil
}
