package pipelines

import (
	"context"
	"testing"
)

// BenchmarkEmbedParquetTinyPrism measures the whole embed job on prism over
// testdata/records.parquet with the tiny-random model: pipeline construction,
// job submission, Parquet read, preprocessing, the model and both sinks. With
// a toy model this is the framework's per-record overhead, not FLAVA's speed.
func BenchmarkEmbedParquetTinyPrism(b *testing.B) {
	var records int64
	for i := 0; i < b.N; i++ {
		p, err := Embed(EmbedConfig{Job: Job{Source: Source{Parquet: "../testdata/records.parquet"}, Output: Sink{Parquet: b.TempDir()}}})
		if err != nil {
			b.Fatal(err)
		}
		s, err := Run(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		records += s.RecordsIn
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
