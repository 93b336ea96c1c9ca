package imageproc

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fuzzguard"
)

// FuzzDecodePreprocess feeds arbitrary bytes through Decode and, when they
// decode, through both preprocessing paths: no panic, errors only, outputs
// of the configured shape and finite. The pixel limit is lowered so that a
// mutated header cannot make one input allocate hundreds of megabytes.
func FuzzDecodePreprocess(f *testing.F) {
	for _, pattern := range []string{"testdata/pil_decode/*.*", "testdata/malformed/*"} {
		files, _ := filepath.Glob(pattern)
		for _, path := range files {
			if filepath.Ext(path) == ".rgb" {
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	// Progressive JPEGs whose scans cost seconds (issue 15): refused.
	f.Add(progressiveJPEG(1024, 1024, 300))
	f.Add(progressiveJPEG(64, 64, 20))
	// A 28-byte lossless WebP declaring 9000×9000 pixels (refused by the
	// pixel limit here, by MaxPixelsPerByte at the default one).
	f.Add(solidVP8L(9000, 9000))
	f.Add(solidVP8L(900, 900))
	p, err := NewProcessor(Config{MaxPixels: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			img, err := p.Decode(data)
			if err != nil {
				return
			}
			if img.W*img.H > 1<<20 || len(img.Pix) != img.W*img.H*3 {
				t.Fatalf("decoded %dx%d with %d bytes", img.W, img.H, len(img.Pix))
			}
			pv := p.PixelValues(img)
			cb := p.CodebookPixelValues(img)
			if len(pv) != 3*224*224 || len(cb) != 3*112*112 {
				t.Fatalf("lengths %d, %d", len(pv), len(cb))
			}
			for _, v := range append(pv, cb...) {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatal("non-finite output")
				}
			}
		})
	})
}

// FuzzParseConfig: arbitrary JSON never panics; accepted configs build a
// Processor.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"size": 3, "crop_size": {"height": 5, "width": 7}, "resample": 0, "mask_group_max_patches": 4}`))
	f.Add([]byte(`{"size": {"shortest_edge": 9}, "image_mean": [0, 0, 0], "image_std": [1, 1, 1]}`))
	if b, err := os.ReadFile("testdata/config_flava_full.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			cfg, err := ParseConfig(data)
			if err != nil {
				return
			}
			p, err := NewProcessor(cfg)
			if err != nil {
				t.Fatalf("ParseConfig accepted a config NewProcessor refuses: %v", err)
			}
			if s := p.s.pixel; s.crop && s.cropSize.Width*s.cropSize.Height > 1<<12 {
				return // keep each run small
			}
			img := NewRGB(3, 2)
			if s := p.s.pixel; s.resize && (s.size.ShortestEdge > 64 || s.size.Width*s.size.Height > 1<<12) {
				return
			}
			p.PixelValues(img)
			_ = p.Mask(1)
		})
	})
}
