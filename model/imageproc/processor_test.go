package imageproc

import (
	"math"
	"path/filepath"
	"testing"
)

func TestPixelValuesMatchReference(t *testing.T) {
	for _, c := range fixtureCases(t) {
		cfg, _, err := LoadDir(c.dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Backend = c.backend
		p, err := NewProcessor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range c.variants(t) {
			t.Run(filepath.Base(c.dir)+"/"+v, func(t *testing.T) {
				src := c.rgb(t, v+".decoded_u8")
				for _, tc := range []struct {
					key string
					got []float32
				}{
					{"pixel_values", p.PixelValues(src)},
					{"codebook_pixel_values", p.CodebookPixelValues(src)},
				} {
					want, err := c.sd.Float32(v + "." + tc.key)
					if err != nil {
						t.Fatal(err)
					}
					if len(want.Data) != len(tc.got) {
						t.Fatalf("%s: %d values, want %d (shape %v)", tc.key, len(tc.got), len(want.Data), want.Shape)
					}
					bad := 0
					for i := range tc.got {
						if math.Float32bits(tc.got[i]) != math.Float32bits(want.Data[i]) {
							bad++
						}
					}
					if bad != 0 {
						t.Errorf("%s: %d of %d values not bit-identical", tc.key, bad, len(tc.got))
					}
				}
			})
		}
	}
}

func TestZeroConfigIsFlavaFull(t *testing.T) {
	for _, c := range fixtureCases(t) {
		cfg, file, err := LoadDir(c.dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.UnknownKeys) != 0 {
			t.Errorf("%s: keys not read: %v", file, cfg.UnknownKeys)
		}
		got, want := cfg.settings(), Config{}.settings()
		if got != want {
			t.Errorf("%s: settings from file\n%+v\ndiffer from the zero Config's\n%+v", c.dir, got, want)
		}
	}
}
