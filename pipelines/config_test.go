package pipelines

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/io/parquetio"
	"github.com/flavabeam/flavabeam/transforms"
)

func TestValidateNamesBadField(t *testing.T) {
	pq := Source{Parquet: "in/*.parquet"}
	out := Sink{Parquet: "out"}
	kafkaSrc := Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{Topics: []string{"in"}}}}
	kafkaOut := Sink{Kafka: kafkaio.WriteConfig{Topic: "out"}}
	cases := []struct {
		name  string
		err   error
		field string
	}{
		{"no source", EmbedConfig{Job: Job{Output: out}}.Validate(), "Source"},
		{"two sources", EmbedConfig{Job: Job{Source: Source{Parquet: "x", Kafka: kafkaSrc.Kafka}, Output: out}}.Validate(), "Source"},
		{"no output", EmbedConfig{Job: Job{Source: pq}}.Validate(), "Output"},
		{"two outputs", EmbedConfig{Job: Job{Source: pq, Output: Sink{Parquet: "o", Kafka: kafkaOut.Kafka}}}.Validate(), "Output"},
		{"glob output", EmbedConfig{Job: Job{Source: pq, Output: Sink{Parquet: "o/*"}}}.Validate(), "Output.Parquet"},
		{"shards", EmbedConfig{Job: Job{Source: pq, Output: Sink{Parquet: "o", ParquetOptions: parquetio.WriteOptions{NumShards: -1}}}}.Validate(), "Output.ParquetOptions"},
		{"compression", MIMConfig{Job: Job{Source: pq, Output: out, DeadLetters: Sink{Parquet: "d", ParquetOptions: parquetio.WriteOptions{Compression: "lzma"}}}}.Validate(), "DeadLetters.ParquetOptions"},
		{"kafka start", EmbedConfig{Job: Job{Source: Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{Topics: []string{"in"}, StartFrom: "yesterday"}}}, Output: out}}.Validate(), "Source.Kafka"},
		{"codec", EmbedConfig{Job: Job{Source: Source{Kafka: KafkaSource{ReadConfig: kafkaSrc.Kafka.ReadConfig, Codec: 7}}, Output: out}}.Validate(), "Source.Kafka.Codec"},
		{"unbounded to parquet", EmbedConfig{Job: Job{Source: Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{Topics: []string{"in"}, Unbounded: true}}}, Output: out}}.Validate(), "Output"},
		{"unbounded dead letters to parquet", EmbedConfig{Job: Job{Source: Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{Topics: []string{"in"}, Unbounded: true}}}, Output: kafkaOut, DeadLetters: out}}.Validate(), "Output"},
		{"batch size", EmbedConfig{Job: Job{Source: pq, Output: out}, Options: transforms.EmbedOptions{Options: transforms.Options{BatchSize: -1}}}.Validate(), "Options"},
		{"mode", ScoreConfig{Job: Job{Source: pq, Output: out}, Mode: "triplets"}.Validate(), "Mode"},
		{"template", ScoreConfig{Job: Job{Source: pq, Output: out}, Mode: ModeZeroShot, Options: transforms.ZeroShotOptions{Template: "no slot"}}.Validate(), "Options"},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrConfig) {
			t.Errorf("%s: error %v does not wrap ErrConfig", c.name, c.err)
			continue
		}
		if !strings.Contains(c.err.Error(), ": "+c.field+": ") {
			t.Errorf("%s: error %q does not name %s", c.name, c.err, c.field)
		}
	}
	for _, ok := range []error{
		EmbedConfig{Job: Job{Source: pq, Output: out}}.Validate(),
		ScoreConfig{Job: Job{Source: kafkaSrc, Output: kafkaOut}, Mode: ModeZeroShot}.Validate(),
		MIMConfig{Job: Job{Source: Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{Topics: []string{"in"}, Unbounded: true}}}, Output: kafkaOut}}.Validate(),
	} {
		if ok != nil {
			t.Errorf("valid config refused: %v", ok)
		}
	}
}

func TestDeadLettersDefaultBesideOutput(t *testing.T) {
	j := Job{Output: Sink{Kafka: kafkaio.WriteConfig{Topic: "emb", Compression: "zstd"}}}
	if d := j.deadLetterSink(); d.Kafka.Topic != "emb"+DeadLetterSuffix || d.Kafka.Compression != "zstd" {
		t.Errorf("Kafka default dead-letter sink %+v", d.Kafka)
	}
	j = Job{Output: Sink{Parquet: "gs://bucket/out", ParquetOptions: parquetio.WriteOptions{NumShards: 3}}}
	if d := j.deadLetterSink(); d.Parquet != "gs://bucket/out" || d.ParquetOptions.NumShards != 3 {
		t.Errorf("Parquet default dead-letter sink %+v", d)
	}
	if got := joinPath("gs://bucket/out/", OutputDeadLetters); got != "gs://bucket/out/dead-letters" {
		t.Errorf("joinPath = %q", got)
	}
}

func TestParquetRowsCountsFooters(t *testing.T) {
	n, ok, err := ParquetRows("../testdata/*.parquet")
	if err != nil || !ok || n != goodRecords+int64(len(badRecords)) {
		t.Errorf("ParquetRows = %d, %v, %v; want %d", n, ok, err, goodRecords+len(badRecords))
	}
	if _, ok, _ := ParquetRows("gs://bucket/*.parquet"); ok {
		t.Error("ParquetRows claims to count a remote glob")
	}
}

func TestSummaryFormat(t *testing.T) {
	s := Summary{
		RecordsIn: 24, RecordsOut: 22, DeadLetters: 2, Wall: 2 * time.Second,
		DeadByReason: map[string]int64{"decode_error": 1, "missing_input": 1},
		DeadByStage:  map[string]int64{"parquetio.Read": 1, "transforms.Preprocess": 1},
		Distributions: []Distribution{
			{Namespace: "flavabeam", Name: "inference_batch_latency_micro_secs", Count: 3, Sum: 30000, Min: 5000, Max: 15000},
			{Namespace: "flavabeam", Name: "load_model_latency_milli_secs", Count: 1, Sum: 1500, Min: 1500, Max: 1500},
		},
	}
	var b strings.Builder
	s.Format(&b)
	for _, want := range []string{
		"records in: 24, out: 22, dead-lettered: 2 in 2s (12.0 records/s)",
		"dead letters, reason decode_error: 1",
		"dead letters, stage transforms.Preprocess: 1",
		"inference_batch_latency                     3     10.000      5.000     15.000 ms",
		"load_model_latency                          1   1500.000   1500.000   1500.000 ms",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}
