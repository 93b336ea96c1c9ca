package pipelines

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flavabeam/flavabeam/io/kafkaio"
	"github.com/flavabeam/flavabeam/schemas"
)

// TestEveryJobKafkaToParquetFake completes the job × source × sink matrix:
// each job reads a bounded Kafka topic (JSON payloads, one malformed) and
// writes Parquet; outputs and dead letters are counted per reason.
func TestEveryJobKafkaToParquetFake(t *testing.T) {
	jobs := []struct {
		name, output string
		build        func(Job) (Summary, error)
		rows         func(t *testing.T, dir string) []string
	}{
		{"embed", OutputEmbeddings, func(j Job) (Summary, error) {
			p, err := Embed(EmbedConfig{Job: j})
			if err != nil {
				return Summary{}, err
			}
			return Run(context.Background(), p)
		}, func(t *testing.T, dir string) []string {
			return sortedIDs(readShards[schemas.Embedding](t, dir, OutputEmbeddings), func(e schemas.Embedding) string { return e.ID })
		}},
		{"score", OutputScores, func(j Job) (Summary, error) {
			p, err := Score(ScoreConfig{Job: j})
			if err != nil {
				return Summary{}, err
			}
			return Run(context.Background(), p)
		}, func(t *testing.T, dir string) []string {
			return sortedIDs(readShards[schemas.Score](t, dir, OutputScores), func(s schemas.Score) string { return s.ID })
		}},
		{"label-mim", OutputMIMLabels, func(j Job) (Summary, error) {
			p, err := LabelMIM(MIMConfig{Job: j})
			if err != nil {
				return Summary{}, err
			}
			return Run(context.Background(), p)
		}, func(t *testing.T, dir string) []string {
			return sortedIDs(readShards[schemas.MIMLabel](t, dir, OutputMIMLabels), func(m schemas.MIMLabel) string { return m.ID })
		}},
	}
	for _, job := range jobs {
		t.Run(job.name, func(t *testing.T) {
			in := fmt.Sprintf("in-%s-%d", job.name, time.Now().UnixNano())
			c := fakeCluster(t, in)
			c.produceRecords(t, in, schemas.CodecJSON)
			out := t.TempDir()
			sum := run(t, func() (Summary, error) {
				return job.build(Job{
					Source: Source{Kafka: KafkaSource{ReadConfig: kafkaio.ReadConfig{ConnConfig: c.conn(), Topics: []string{in}}, Codec: schemas.CodecJSON}},
					Output: Sink{Parquet: out},
				})
			})
			ids := job.rows(t, out)
			if len(ids) != goodRecords {
				t.Errorf("%d %s rows, want %d", len(ids), job.output, goodRecords)
			}
			for i := 1; i < len(ids); i++ {
				if ids[i] == ids[i-1] {
					t.Errorf("record %q written twice", ids[i])
				}
			}
			want := kafkaDead(schemas.CodecJSON)
			dead := readShards[schemas.DeadLetter](t, out, OutputDeadLetters)
			if len(dead) != len(want) {
				t.Errorf("%d dead letters, want %d (%v)", len(dead), len(want), want)
			}
			for _, d := range dead {
				if want[d.ID] != d.Reason {
					t.Errorf("dead letter %q: reason %q, want %q", d.ID, d.Reason, want[d.ID])
				}
			}
			if sum.RecordsOut != int64(goodRecords) || sum.DeadLetters != int64(len(want)) {
				t.Errorf("summary out %d dead %d, want %d and %d", sum.RecordsOut, sum.DeadLetters, goodRecords, len(want))
			}
		})
	}
}
