package pqrows

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/internal/fuzzguard"
	"github.com/flavabeam/flavabeam/schemas"
)

// FuzzReadParquet feeds arbitrary bytes through the same path Read takes
// for a file (Open, NewPlan, File.ReadRowGroup over every row group). It must return records
// or errors, never panic or hang. Seeds: files we and pyarrow wrote, plus
// testdata/fuzz/FuzzReadParquet.
func FuzzReadParquet(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteRows[schemas.ImageText](&buf, seqOf(fuzzRecords(5)...), parquet.MaxRowsPerRowGroup(2)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	buf.Reset()
	if err := WriteRows[schemas.ImageText](&buf, seqOf(fuzzRecords(3)...), parquet.DataPageVersion(1), parquet.Compression(&parquet.Uncompressed)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	for _, name := range []string{"../../testdata/imagetext.parquet", "../../testdata/hf_style.parquet"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// testdata/records.parquet with a footer length of 0xF0000000 (issue 15:
	// parquet-go allocated 4 GiB for it).
	f.Add(hugeFooter(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			pf, err := Open(bytes.NewReader(data), int64(len(data)), Limits{})
			if err != nil {
				return
			}
			p, err := NewPlan(pf.Schema(), Columns{})
			if err != nil {
				return
			}
			first := int64(0)
			for i, rg := range pf.RowGroups() {
				n := rg.NumRows()
				sink := Sink{
					Record: func(r schemas.ImageText) {
						if err := r.Validate(); err != nil {
							t.Fatalf("emitted an invalid record: %v", err)
						}
					},
					Bad: func(int64, string, error, schemas.ImageText) {},
				}
				done, err := pf.ReadRowGroup(context.Background(), i, p, "fuzz", first, sink)
				if err == nil && done != n {
					t.Fatalf("row group of %d rows handed out %d without error", n, done)
				}
				first += n
			}
		})
	})
}

func fuzzRecords(n int) []schemas.ImageText {
	out := make([]schemas.ImageText, n)
	for i := range out {
		out[i] = schemas.ImageText{ID: string(rune('a' + i)), Text: "t", Image: []byte{byte(i)}, Labels: []string{"x", "y"},
			Metadata: map[string]string{"k": "v"}, EventTime: time.Unix(int64(i), 0).UTC()}
	}
	return out
}

func seqOf[T any](rows ...T) func(func(T) bool) {
	return func(yield func(T) bool) {
		for _, r := range rows {
			if !yield(r) {
				return
			}
		}
	}
}
