package imageproc

import (
	"encoding/binary"
	"os"
	"testing"
)

// TestResizeFiltersMatchPIL replays testdata/pil_filters.bin (made by
// testdata/gen_pil_filters.py with Pillow 9.4): every filter, up- and
// down-scaling, one-axis resizes and 1-pixel sources, all bit-exact.
func TestResizeFiltersMatchPIL(t *testing.T) {
	b, err := os.ReadFile("testdata/pil_filters.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 || string(b[:4]) != "PILR" {
		t.Fatal("pil_filters.bin: bad magic")
	}
	n := int(binary.LittleEndian.Uint32(b[4:]))
	b = b[8:]
	seen := map[Filter]int{}
	for i := 0; i < n; i++ {
		u := func(j int) int { return int(binary.LittleEndian.Uint16(b[2*j:])) }
		sw, sh, dw, dh, f := u(0), u(1), u(2), u(3), Filter(u(4))
		b = b[10:]
		src := &RGB{W: sw, H: sh, Pix: b[:sw*sh*3]}
		b = b[sw*sh*3:]
		want := b[:dw*dh*3]
		b = b[dw*dh*3:]
		got := Resize(src, dw, dh, f)
		if nd, worst := countDiff(got.Pix, want); nd != 0 {
			t.Errorf("case %d: %dx%d → %dx%d %s: %d bytes differ, worst by %d", i, sw, sh, dw, dh, f, nd, worst)
		}
		seen[f]++
	}
	if len(b) != 0 || len(seen) != 6 {
		t.Fatalf("trailing %d bytes; filters seen %v", len(b), seen)
	}
}
