package imageproc

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
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
	Images map[string]manifestImage `json:"images"`
}

type manifestImage struct {
	File     string                    `json:"file"`
	Format   string                    `json:"format"`
	Variants map[string]manifestResult `json:"variants"`
}

// manifestResult is what one variant gave: stored tensors, the same as
// another variant, or an error.
type manifestResult struct {
	Stored bool   `json:"stored"`
	SameAs string `json:"same_as"`
	Error  string `json:"error"`
}

// resolve follows same_as links to the variant whose tensors are stored,
// or returns the recorded error.
func (im manifestImage) resolve(t *testing.T, variant string) (stored, err string) {
	t.Helper()
	for range 8 {
		r, ok := im.Variants[variant]
		switch {
		case !ok:
			t.Fatalf("%s: variant %q not in manifest", im.File, variant)
		case r.Error != "":
			return "", r.Error
		case r.SameAs != "":
			variant = r.SameAs
		case r.Stored:
			return variant, ""
		default:
			t.Fatalf("%s: variant %q neither stored, same_as nor error", im.File, variant)
		}
	}
	t.Fatalf("%s: same_as loop at %q", im.File, variant)
	return "", ""
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

// baselineJPEG reports whether data goes through decodeJPEGBaseline (and
// must then decode exactly as libjpeg-turbo).
func baselineJPEG(data []byte) bool {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return false
	}
	_, planes, ok := decodeJPEGBaseline(data, cfg.Width, cfg.Height)
	releasePlanes(planes)
	return ok
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

// TestDecodeMatchesPIL decodes every image of every preprocessing fixture
// for each variant its manifest records — path, pil (a PIL image as
// opened), pil_rgb (a PIL image with do_convert_rgb=True) — with the
// fixture's backend, and compares with decoded_u8; a variant the manifest
// records as an error must fail too.
func TestDecodeMatchesPIL(t *testing.T) {
	inputs := map[string]InputKind{"path": InputPath, "pil": InputPIL, "pil_rgb": InputPILRGB}
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
			variants := make([]string, 0, len(im.Variants))
			for v := range im.Variants {
				variants = append(variants, v)
			}
			slices.Sort(variants)
			for _, variant := range variants {
				input, ok := inputs[variant]
				if !ok {
					t.Fatalf("%s: %s: unknown variant %q", c.dir, name, variant)
				}
				t.Run(filepath.Base(c.dir)+"/"+name+"/"+variant, func(t *testing.T) {
					stored, wantErr := im.resolve(t, variant)
					got, err := Decode(data, DecodeOptions{Backend: c.backend, Input: input})
					if wantErr != "" {
						if err == nil {
							t.Fatalf("decoded %dx%d; transformers fails: %s", got.W, got.H, wantErr)
						}
						t.Logf("refused as transformers is (%s): %v", wantErr, err)
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					want := c.rgb(t, name+"."+stored+".decoded_u8")
					if got.W != want.W || got.H != want.H {
						t.Fatalf("decoded %dx%d, reference %dx%d", got.W, got.H, want.W, want.H)
					}
					n, worst := countDiff(got.Pix, want.Pix)
					if im.Format == "JPEG" && baselineJPEG(data) {
						// This package's baseline decoder: libjpeg-turbo's samples.
						if n != 0 {
							t.Errorf("%s: baseline JPEG decoder: %d of %d bytes differ from libjpeg-turbo, worst by %d", im.File, n, len(want.Pix), worst)
						}
						return
					}
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
