package processor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/imageproc"
)

// BenchmarkTextMLM: a batch of 32 captions to FLAVA pretraining text inputs
// (ids, mask, type ids, masked ids, labels), one goroutine.
func BenchmarkTextMLM(b *testing.B) {
	tok := bertUncased(b)
	p, err := New(tok, imageproc.Config{}, Options{MLM: true})
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, 32)
	for i := range texts {
		texts[i] = mlmCaptions[i%len(mlmCaptions)]
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Process(Request{Texts: texts, Seed: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "captions/s")
}

// BenchmarkImagePair: one 640×480 JPEG plus its caption to pretraining
// inputs (pixels, codebook pixels, mask, text, MLM), one goroutine.
func BenchmarkImagePair(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(fixtures.Root(b), "preprocess", "images", "landscape_640x480_rgb.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(bertUncased(b), imageproc.Config{}, Options{MLM: true, ReturnCodebookPixels: true, ReturnImageMask: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Process(Request{Images: [][]byte{data}, Texts: mlmCaptions[:1], Seed: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
