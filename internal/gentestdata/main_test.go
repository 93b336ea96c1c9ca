package main

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/schemas"
)

const committed = "../../testdata/records.parquet"

// TestGeneratedFileIsCommitted proves testdata/records.parquet is exactly what
// this generator writes: run `go generate ./internal/gentestdata` after a change.
func TestGeneratedFileIsCommitted(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf); err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatalf("%s (%d bytes) differs from the generator's output (%d bytes): run go generate ./internal/gentestdata", committed, len(have), buf.Len())
	}
	if len(have) > 1<<20 {
		t.Fatalf("%s is %d bytes; keep it under 1 MiB", committed, len(have))
	}
}

// TestRecordsDecodeAsIntended checks the file's contents: the good records'
// images decode and they are valid; the two bad ones fail the way their IDs say.
func TestRecordsDecodeAsIntended(t *testing.T) {
	f, err := os.Open(committed)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pf.RowGroups()); n != (Good+Bad+RowGroupRows-1)/RowGroupRows {
		t.Fatalf("%d row groups, want %d", n, (Good+Bad+RowGroupRows-1)/RowGroupRows)
	}
	recs, err := parquet.Read[schemas.ImageText](f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != Good+Bad {
		t.Fatalf("%d records, want %d", len(recs), Good+Bad)
	}
	sizes := map[[2]int]bool{}
	for _, r := range recs {
		switch r.ID {
		case "bad-corrupt-image":
			if _, err := imageproc.Decode(r.Image, imageproc.DecodeOptions{}); !errors.Is(err, imageproc.ErrUnknownFormat) {
				t.Errorf("%s: decode error %v, want ErrUnknownFormat", r.ID, err)
			}
			continue
		case "bad-empty":
			if err := r.Validate(); !errors.Is(err, schemas.ErrMissingInput) {
				t.Errorf("%s: Validate() = %v, want ErrMissingInput", r.ID, err)
			}
			continue
		}
		if err := r.Validate(); err != nil || r.Text == "" || len(r.Labels) == 0 || r.EventTime.IsZero() {
			t.Errorf("%s: invalid good record (err %v)", r.ID, err)
		}
		img, err := imageproc.Decode(r.Image, imageproc.DecodeOptions{})
		if err != nil {
			t.Errorf("%s: %v", r.ID, err)
			continue
		}
		sizes[[2]int{img.W, img.H}] = true
	}
	if len(sizes) < 4 {
		t.Errorf("only %d distinct image sizes", len(sizes))
	}
}
