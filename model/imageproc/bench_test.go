package imageproc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
)

func benchJPEG(b *testing.B) []byte {
	data, err := os.ReadFile(filepath.Join(fixtures.Root(b), "preprocess", "images", "landscape_640x480_rgb.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkPreprocessJPEG: a 640×480 JPEG through decode, the 224 bicubic
// and 112 Lanczos paths and normalisation, one goroutine, per backend (PIL:
// ~56 img/s on one core of this machine class, FINDINGS.md).
func BenchmarkPreprocessJPEG(b *testing.B) {
	for _, backend := range Backends {
		b.Run(string(backend), func(b *testing.B) { benchPreprocessJPEG(b, backend) })
	}
}

func benchPreprocessJPEG(b *testing.B, backend Backend) {
	data := benchJPEG(b)
	p, err := NewProcessor(Config{Backend: backend})
	if err != nil {
		b.Fatal(err)
	}
	pv := make([]float32, 3*224*224)
	cb := make([]float32, 3*112*112)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		img, err := p.Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		p.PixelValuesInto(pv, img)
		p.CodebookPixelValuesInto(cb, img)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkPreprocessDecoded: the same from decoded pixels (PIL: ~72 img/s).
func BenchmarkPreprocessDecoded(b *testing.B) {
	for _, backend := range Backends {
		b.Run(string(backend), func(b *testing.B) { benchPreprocessDecoded(b, backend) })
	}
}

func benchPreprocessDecoded(b *testing.B, backend Backend) {
	p, err := NewProcessor(Config{Backend: backend})
	if err != nil {
		b.Fatal(err)
	}
	img, err := p.Decode(benchJPEG(b))
	if err != nil {
		b.Fatal(err)
	}
	pv := make([]float32, 3*224*224)
	cb := make([]float32, 3*112*112)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.PixelValuesInto(pv, img)
		p.CodebookPixelValuesInto(cb, img)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkDecodeJPEG: decoding alone (Go's IDCT + the libjpeg colour path).
func BenchmarkDecodeJPEG(b *testing.B) {
	data := benchJPEG(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
