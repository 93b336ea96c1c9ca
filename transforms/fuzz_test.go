package transforms

import (
	"context"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fuzzguard"
	"github.com/flavabeam/flavabeam/schemas"
)

// FuzzPrepareRecord feeds arbitrary image bytes and text through the
// per-record half of every stage (validation, decoding, preprocessing,
// tokenisation): it must never panic, and every failure must map to a known
// dead-letter reason. Seeds: testdata/fuzz/FuzzPrepareRecord and the ones
// added here.
func FuzzPrepareRecord(f *testing.F) {
	h, err := setupModel(context.Background(), Options{MaxPixels: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pngBytes(f, 9, 7, 1), "a dog")
	f.Add(jpegBytes(f, 16, 12, 2), "")
	f.Add(hugePNG(f, 5000, 5000), "two cats")
	f.Add([]byte("\x89PNG\r\n\x1a\nshort"), " \t")
	f.Add([]byte{}, "caf\xe9")
	f.Fuzz(func(t *testing.T, img []byte, text string) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			rec := schemas.ImageText{ID: "fuzz", Image: img, Text: text}
			p, err := prepareImage(context.Background(), h, rec, true, true)
			if err == nil {
				err = tokenizeInto(context.Background(), h, 16, &p)
			}
			if err != nil {
				if r := reasonOf(err); r == schemas.ReasonUnknown || r == "" {
					t.Fatalf("error without a dead-letter reason: %v", err)
				}
				return
			}
			if p.HasImage() && len(p.Pixels) != p.PixelShape[0]*p.PixelShape[1]*p.PixelShape[2] {
				t.Fatalf("%d pixel values for shape %v", len(p.Pixels), p.PixelShape)
			}
			if p.HasText() && len(p.InputIDs) != 16 {
				t.Fatalf("%d ids, want 16", len(p.InputIDs))
			}
		})
	})
}
