package imageproc

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func readPILRGB(t testing.TB, path string) *RGB {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w, h := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
	if len(b) != 8+w*h*3 {
		t.Fatalf("%s: %d bytes for %dx%d", path, len(b), w, h)
	}
	return &RGB{W: w, H: h, Pix: b[8:]}
}

// TestDecodeModesMatchPIL replays testdata/pil_decode (made with Pillow 9.4
// by gen_pil_decode.py): every PNG colour type and depth, tRNS, GIF
// transparency, BMP 1/8/32-bit, WebP, JPEG subsamplings, CMYK and the eight
// EXIF orientations in JPEG, PNG and WebP.
func TestDecodeModesMatchPIL(t *testing.T) {
	files, err := filepath.Glob("testdata/pil_decode/*.rgb")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/pil_decode/*.rgb: %v", err)
	}
	for _, wantPath := range files {
		src := strings.TrimSuffix(wantPath, ".rgb")
		name := filepath.Base(src)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			want := readPILRGB(t, wantPath)
			got, err := Decode(data, DecodeOptions{Backend: BackendPIL})
			if err != nil {
				t.Fatal(err)
			}
			if got.W != want.W || got.H != want.H {
				t.Fatalf("decoded %dx%d, PIL %dx%d", got.W, got.H, want.W, want.H)
			}
			n, worst := countDiff(got.Pix, want.Pix)
			bound := 0
			if strings.HasSuffix(name, ".jpg") && !baselineJPEG(data) {
				bound = maxLossyDelta // image/jpeg's IDCT
			}
			if name == "lossy.webp" {
				bound = maxLossyWebPDelta
			}
			if bound > 0 {
				t.Logf("%d of %d bytes differ, worst by %d (bound %d)", n, len(want.Pix), worst, bound)
			}
			if worst > bound {
				t.Errorf("%d of %d bytes differ, worst by %d > %d", n, len(want.Pix), worst, bound)
			}
		})
	}
}

// TestDecodeRejectsMalformed: every file of testdata/malformed is refused
// with the right sentinel, and the huge ones before allocating their pixels.
func TestDecodeRejectsMalformed(t *testing.T) {
	want := map[string]error{
		"empty.bin":       ErrEmpty,
		"garbage.bin":     ErrUnknownFormat,
		"truncated.jpg":   ErrCorrupt,
		"truncated.png":   ErrCorrupt,
		"header_only.gif": ErrCorrupt,
		"huge.png":        ErrTooLarge,
		"huge.jpg":        ErrTooLarge,
		"huge.gif":        ErrTooLarge,
		"huge.bmp":        ErrTooLarge,
		"huge.webp":       ErrTooLarge,
		"zero_width.gif":  ErrEmpty,
		"short_bmp.bmp":   ErrCorrupt,
	}
	files, _ := filepath.Glob("testdata/malformed/*")
	if len(files) != len(want) {
		t.Fatalf("%d files in testdata/malformed, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		_, err = Decode(data, DecodeOptions{Backend: BackendPIL})
		runtime.ReadMemStats(&ms1)
		if !errors.Is(err, want[name]) {
			t.Errorf("%s: error %v, want %v", name, err, want[name])
			continue
		}
		if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes before refusing", name, alloc)
		}
	}
}

func TestDecodePixelLimit(t *testing.T) {
	data, err := os.ReadFile("testdata/pil_decode/rgb8.png") // 23×17 = 391 pixels
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(data, DecodeOptions{MaxPixels: 390}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit 390: %v, want ErrTooLarge", err)
	}
	if _, err := Decode(data, DecodeOptions{MaxPixels: 391}); err != nil {
		t.Errorf("limit 391: %v", err)
	}
}

func TestIgnoreOrientation(t *testing.T) {
	data, err := os.ReadFile("testdata/pil_decode/orient6.jpg")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Decode(data, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(data, DecodeOptions{IgnoreOrientation: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.W != b.H || a.H != b.W || a.W == a.H {
		t.Fatalf("orientation 6: %dx%d applied, %dx%d ignored", a.W, a.H, b.W, b.H)
	}
}
