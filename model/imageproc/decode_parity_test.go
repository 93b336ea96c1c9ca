package imageproc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// maxLossyDelta is the largest per-byte difference allowed between our
// decode of a lossy file (JPEG) and PIL's libjpeg-turbo decode. Measured on
// the fixtures: see TestDecodeMatchesPIL's log and doc.go.
const maxLossyDelta = 3

// maxLossyWebPDelta bounds lossy WebP (VP8) against libwebp, measured on
// testdata/pil_decode/lossy.webp.
const maxLossyWebPDelta = 21

type manifest struct {
	Images map[string]struct {
		File     string                     `json:"file"`
		Format   string                     `json:"format"`
		Variants map[string]json.RawMessage `json:"variants"`
	} `json:"images"`
}

func readManifest(t *testing.T, dir string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Images) == 0 {
		t.Fatalf("%s: manifest lists no images", dir)
	}
	return m
}

// lossy reports whether PIL's decode of this format cannot be reproduced bit
// for bit by Go's decoders (different IDCT).
func lossy(format string, data []byte) bool {
	switch format {
	case "JPEG":
		return true
	case "WEBP":
		// VP8L (lossless) is exact; VP8 (lossy) goes through libwebp's
		// upsampler, which this package does not reproduce.
		return len(data) >= 16 && string(data[12:16]) == "VP8 "
	}
	return false
}

func TestDecodeMatchesPIL(t *testing.T) {
	for _, c := range fixtureCases(t) {
		man := readManifest(t, c.dir)
		names := make([]string, 0, len(man.Images))
		for n := range man.Images {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, name := range names {
			im := man.Images[name]
			data, err := os.ReadFile(filepath.Join(c.dir, im.File))
			if err != nil {
				t.Fatal(err)
			}
			for _, variant := range []string{"path", "pil"} {
				key := name + "." + variant + ".decoded_u8"
				if !c.sd.Has(key) {
					continue
				}
				t.Run(name+"/"+variant, func(t *testing.T) {
					want := c.rgb(t, key)
					got, err := Decode(data, DecodeOptions{IgnoreOrientation: variant == "pil"})
					if err != nil {
						t.Fatal(err)
					}
					if got.W != want.W || got.H != want.H {
						t.Fatalf("decoded %dx%d, PIL %dx%d", got.W, got.H, want.W, want.H)
					}
					n, worst := countDiff(got.Pix, want.Pix)
					if lossy(im.Format, data) {
						t.Logf("%s (%s): %d of %d bytes differ from libjpeg-turbo, worst by %d", im.File, im.Format, n, len(want.Pix), worst)
						if worst > maxLossyDelta {
							t.Errorf("worst difference %d > bound %d", worst, maxLossyDelta)
						}
						return
					}
					if n != 0 {
						t.Errorf("%s (%s): %d of %d bytes differ, worst by %d", im.File, im.Format, n, len(want.Pix), worst)
					}
				})
			}
		}
	}
}
