package imageproc

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/checkpoint"
)

// fixtureCase is one preprocess fixture folder: its tensors and the backend
// its manifest says produced them.
type fixtureCase struct {
	dir     string
	sd      *checkpoint.StateDict
	backend Backend
}

// fixtureCases discovers every preprocessing fixture folder: one holding
// expected.safetensors, a manifest and image settings in either file
// transformers writes (preprocessor_config.json, processor_config.json).
func fixtureCases(t *testing.T) []fixtureCase {
	t.Helper()
	var cases []fixtureCase
	for _, dir := range fixtures.PreprocessDirs(t) {
		sd, err := checkpoint.OpenSafetensors(filepath.Join(dir, "expected.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sd.Close() })
		b, err := ParseBackend(fixtures.PreprocessBackend(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, fixtureCase{dir: dir, sd: sd, backend: b})
	}
	return cases
}

// variants returns the "<image>.<variant>" prefixes that hold a decoded_u8.
func (c fixtureCase) variants(t *testing.T) []string {
	var out []string
	for _, n := range c.sd.Names() {
		if p, ok := strings.CutSuffix(n, ".decoded_u8"); ok {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no decoded_u8 tensors", c.dir)
	}
	return out
}

func (c fixtureCase) rgb(t *testing.T, name string) *RGB {
	t.Helper()
	pix, shape, err := c.sd.Uint8(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 3 || shape[2] != 3 {
		t.Fatalf("%s: shape %v, want [H W 3]", name, shape)
	}
	return &RGB{W: shape[1], H: shape[0], Pix: pix}
}

func countDiff(a, b []uint8) (n int, worst int) {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d != 0 {
			n++
		}
		worst = max(worst, d)
	}
	return n, worst
}

func TestResizeMatchesPIL(t *testing.T) {
	for _, c := range fixtureCases(t) {
		for _, v := range c.variants(t) {
			t.Run(filepath.Base(c.dir)+"/"+v, func(t *testing.T) {
				src := c.rgb(t, v+".decoded_u8")
				for _, tc := range []struct {
					key  string
					size int
					f    Filter
				}{{"resized_224_u8", 224, Bicubic}, {"resized_112_u8", 112, Lanczos}} {
					want := c.rgb(t, v+"."+tc.key)
					got := &RGB{}
					ResizeWith(got, src, tc.size, tc.size, tc.f, c.backend, nil)
					if n, worst := countDiff(got.Pix, want.Pix); n != 0 {
						t.Errorf("%s (%dx%d → %d, %s, backend %s): %d of %d bytes differ, worst by %d", tc.key, src.W, src.H, tc.size, tc.f, c.backend, n, len(want.Pix), worst)
					}
				}
			})
		}
	}
}
