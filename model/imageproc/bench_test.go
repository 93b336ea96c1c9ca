package imageproc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
)

// rate runs the timed loop of a benchmark and reports images/s (wall) and
// images/cpu-s (process CPU time, steadier on a loaded machine).
func rate(b *testing.B, each func()) {
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		each()
	}
	c1 := cpuSeconds()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	if c1 > c0 {
		b.ReportMetric(float64(b.N)/(c1-c0), "images/cpu-s")
	}
}

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
	rate(b, func() {
		img, err := p.Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		p.PixelValuesInto(pv, img)
		p.CodebookPixelValuesInto(cb, img)
	})
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
	rate(b, func() {
		p.PixelValuesInto(pv, img)
		p.CodebookPixelValuesInto(cb, img)
	})
}

// BenchmarkDecodeJPEG: decoding alone (Go's IDCT + the libjpeg colour path).
func BenchmarkDecodeJPEG(b *testing.B) {
	data := benchJPEG(b)
	rate(b, func() {
		if _, err := Decode(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkDecodeJPEGPaths: the same decode through this package's
// baseline decoder and through image/jpeg (the fallback), paired in one
// run.
func BenchmarkDecodeJPEGPaths(b *testing.B) {
	data := benchJPEG(b)
	for _, path := range []struct {
		name     string
		baseline bool
	}{{"baseline", true}, {"image-jpeg", false}} {
		b.Run(path.name, func(b *testing.B) {
			saved := useBaselineJPEG
			useBaselineJPEG = path.baseline
			defer func() { useBaselineJPEG = saved }()
			rate(b, func() {
				if _, err := Decode(data, DecodeOptions{}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
