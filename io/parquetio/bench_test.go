package parquetio

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"testing"

	"github.com/flavabeam/flavabeam/io/parquetio/internal/pqrows"
	"github.com/flavabeam/flavabeam/schemas"
)

// benchJPEG encodes a 640×480 gradient-and-noise JPEG at quality 90.
func benchJPEG(b *testing.B) []byte {
	b.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	seed := uint32(1)
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			seed = seed*1664525 + 1013904223
			n := uint8(seed >> 28)
			img.Set(x, y, color.RGBA{uint8(x*255/640) + n, uint8(y*255/480) + n, uint8((x+y)/5) + n, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func benchRecords(b *testing.B, n int) []schemas.ImageText {
	jpg := benchJPEG(b)
	recs := make([]schemas.ImageText, n)
	for i := range recs {
		recs[i] = schemas.ImageText{ID: "bench-" + itoa(i), Image: jpg, Text: "a photo of a gradient with some noise", Labels: []string{"cat", "dog"}}
	}
	return recs
}

// BenchmarkWriteJPEGRecords writes ImageText records holding a 640×480 JPEG
// with the default options (snappy, 256-row groups) to io.Discard.
func BenchmarkWriteJPEGRecords(b *testing.B) {
	recs := benchRecords(b, 256)
	b.SetBytes(int64(len(recs[0].Image)))
	b.ResetTimer()
	i := 0
	err := writeRows[schemas.ImageText](io.Discard, func(yield func(schemas.ImageText) bool) {
		for ; i < b.N; i++ {
			if !yield(recs[i%len(recs)]) {
				return
			}
		}
	}, WriteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReadJPEGRecords reads an in-memory file of 256 such records
// (one row group) through Read's row-group path; one op is the whole file.
func BenchmarkReadJPEGRecords(b *testing.B) {
	recs := benchRecords(b, 256)
	var buf bytes.Buffer
	if err := writeRows[schemas.ImageText](&buf, seqOf(recs...), WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	ctx := context.Background()
	b.ResetTimer()
	read := 0
	for i := 0; i < b.N; i++ {
		pf, err := pqrows.Open(bytes.NewReader(data), int64(len(data)), pqrows.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		p, err := pqrows.NewPlan(pf.Schema(), pqrows.Columns{})
		if err != nil {
			b.Fatal(err)
		}
		for g := range pf.RowGroups() {
			sink := pqrows.Sink{Record: func(schemas.ImageText) { read++ }, Bad: func(_ int64, _ string, err error, _ schemas.ImageText) { b.Fatal(err) }}
			if _, err := pf.ReadRowGroup(ctx, g, p, "bench", 0, sink); err != nil {
				b.Fatal(err)
			}
		}
	}
	if read != b.N*len(recs) {
		b.Fatalf("read %d records, want %d", read, b.N*len(recs))
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
}
