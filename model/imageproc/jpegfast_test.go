package imageproc

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fuzzguard"
)

// withBaselineJPEG runs f with the baseline decoder on or off.
func withBaselineJPEG(t testing.TB, on bool, f func()) {
	t.Helper()
	saved := useBaselineJPEG
	useBaselineJPEG = on
	defer func() { useBaselineJPEG = saved }()
	f()
}

// goJPEG encodes a random-ish image (smooth gradients plus noise, so that
// both flat and busy blocks occur) with Go's encoder: 4:2:0 colour or gray.
func goJPEG(t testing.TB, rng *rand.Rand, w, h, quality int, gray bool) []byte {
	t.Helper()
	var m image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = uint8(i*7/(w+1) + rng.IntN(40))
		}
		m = g
	} else {
		c := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c.Set(x, y, color.RGBA{uint8(x*255/w + rng.IntN(30)), uint8(y*255/h + rng.IntN(30)), uint8(rng.IntN(256)), 255})
			}
		}
		m = c
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBaselineJPEGAgreesWithImageJPEG: on Go-encoded JPEGs of odd sizes and
// extreme qualities, the baseline decoder takes the file, and its pixels
// are within the IDCT bound of image/jpeg's (the two IDCTs differ by ±1 per
// sample, the rest is shared), so Huffman decoding, block placement and
// upsampling agree.
func TestBaselineJPEGAgreesWithImageJPEG(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 20))
	for _, sz := range [][2]int{{1, 1}, {2, 3}, {7, 5}, {8, 8}, {9, 17}, {16, 16}, {17, 33}, {64, 48}, {333, 217}} {
		for _, q := range []int{1, 50, 100} {
			for _, gray := range []bool{false, true} {
				name := fmt.Sprintf("%dx%d/q%d/gray=%v", sz[0], sz[1], q, gray)
				data := goJPEG(t, rng, sz[0], sz[1], q, gray)
				if !baselineJPEG(data) {
					t.Errorf("%s: baseline decoder refused a Go-encoded baseline JPEG", name)
					continue
				}
				var fast, slow *RGB
				var err1, err2 error
				withBaselineJPEG(t, true, func() { fast, err1 = Decode(data, DecodeOptions{}) })
				withBaselineJPEG(t, false, func() { slow, err2 = Decode(data, DecodeOptions{}) })
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: %v / %v", name, err1, err2)
				}
				if fast.W != slow.W || fast.H != slow.H {
					t.Fatalf("%s: %dx%d vs %dx%d", name, fast.W, fast.H, slow.W, slow.H)
				}
				if n, worst := countDiff(fast.Pix, slow.Pix); worst > maxLossyDelta {
					t.Errorf("%s: %d bytes differ from image/jpeg, worst by %d", name, n, worst)
				}
			}
		}
	}
}

// TestBaselineJPEGDamaged truncates and corrupts JPEGs (pil_decode's
// baseline files and a Go-encoded one with every byte position hit once):
// no panic, and whenever the baseline decoder accepts a file, image/jpeg
// decodes it too, at the same size — the baseline path never turns a file
// Decode used to refuse into pixels.
func TestBaselineJPEGDamaged(t *testing.T) {
	var seeds [][]byte
	for _, name := range []string{"s444.jpg", "s422.jpg", "odd420.jpg", "gray.jpg", "orient6.jpg"} {
		b, err := os.ReadFile(filepath.Join("testdata/pil_decode", name))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	rng := rand.New(rand.NewPCG(5, 21))
	seeds = append(seeds, goJPEG(t, rng, 40, 24, 75, false))
	accepted := 0
	for _, seed := range seeds {
		var variants [][]byte
		for cut := 2; cut < len(seed); cut += max(1, len(seed)/97) {
			variants = append(variants, seed[:cut])
		}
		for i := 2; i < len(seed); i++ {
			v := bytes.Clone(seed)
			v[i] ^= uint8(1 + rng.IntN(255))
			variants = append(variants, v)
		}
		for _, v := range variants {
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(v))
			if err != nil || cfg.Width*cfg.Height > 1<<16 {
				continue
			}
			m, _, ok := decodeJPEGBaseline(v, cfg.Width, cfg.Height)
			if !ok {
				continue
			}
			accepted++
			ref, err := jpeg.Decode(bytes.NewReader(v))
			if err != nil {
				t.Fatalf("baseline decoder accepted a file image/jpeg refuses (%v)", err)
			}
			if m.Bounds() != ref.Bounds() {
				t.Fatalf("bounds %v vs image/jpeg %v", m.Bounds(), ref.Bounds())
			}
		}
	}
	if accepted == 0 {
		t.Fatal("no damaged variant decoded; the test checks nothing")
	}
	t.Logf("%d damaged variants decoded by both", accepted)
}

// FuzzBaselineJPEG: arbitrary bytes through the baseline decoder under the
// fuzz watchdog; when it accepts them image/jpeg must too, at the same size.
func FuzzBaselineJPEG(f *testing.F) {
	files, _ := filepath.Glob("testdata/pil_decode/*.jpg")
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	rng := rand.New(rand.NewPCG(6, 22))
	f.Add(goJPEG(f, rng, 19, 11, 90, false))
	f.Add(goJPEG(f, rng, 19, 11, 90, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil || cfg.Width*cfg.Height > 1<<20 {
				return
			}
			m, _, ok := decodeJPEGBaseline(data, cfg.Width, cfg.Height)
			if !ok {
				return
			}
			ref, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("baseline decoder accepted a file image/jpeg refuses (%v)", err)
			}
			if m.Bounds() != ref.Bounds() {
				t.Fatalf("bounds %v vs image/jpeg %v", m.Bounds(), ref.Bounds())
			}
		})
	})
}

// TestBaselineJPEGCoverage: every JPEG of testdata/pil_decode except the
// progressive and CMYK ones goes through the baseline decoder (so
// TestDecodeModesMatchPIL holds it to exact equality with PIL): 4:4:4,
// 4:2:2, 4:2:0 (odd size), 4:4:0, gray, restart intervals of 1, 2, 3, 5
// blocks and one MCU row, Huffman-optimised tables, 16-bit quantisation
// tables (SOF1), EXIF.
func TestBaselineJPEGCoverage(t *testing.T) {
	files, err := filepath.Glob("testdata/pil_decode/*.jpg")
	if err != nil || len(files) < 20 {
		t.Fatalf("pil_decode JPEGs: %d, %v", len(files), err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		want := name != "progressive.jpg" && name != "cmyk.jpg"
		if got := baselineJPEG(data); got != want {
			t.Errorf("%s: baseline decoder takes it: %v, want %v", name, got, want)
		}
	}
}

// TestIDCTKernelMatchesGo runs random dequantised blocks — sparse and
// dense, small, typical, at the kernel's 2^13 bound and far beyond it
// (where libjpeg's range-limit wrap-around shows) — through the AVX2 IDCT
// and the Go IDCT: whenever the kernel takes a block its samples are
// identical, and it takes every block of small magnitude (random dense
// blocks of larger magnitude exceed its workspace bound, real ones rarely:
// see the profile in BENCHMARKS.md).
func TestIDCTKernelMatchesGo(t *testing.T) {
	if !haveSIMD {
		t.Skip("no kernels on this CPU/platform")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	const stride = 13 // rows of a wider plane
	for _, mag := range []int32{3, 60, 1000, 4000, 8191, 20000, 1 << 22} {
		taken := 0
		for i := 0; i < 3000; i++ {
			var blk [64]int32
			n := 1 + rng.IntN(64)
			last := 0
			for j := 0; j < n; j++ {
				k := rng.IntN(64)
				blk[jpegNatural[k]] = rng.Int32N(2*mag+1) - mag
				last = max(last, k)
			}
			if i%7 == 0 {
				blk[0] = rng.Int32N(2*mag+1) - mag
			}
			fast := make([]uint8, 7*stride+8)
			slow := make([]uint8, 7*stride+8)
			for j := range fast {
				fast[j], slow[j] = 0xa5, 0xa5
			}
			b := blk
			ok := idctSIMD(fast, stride, &b)
			if b != blk {
				t.Fatal("kernel modified the block")
			}
			idctIslow(slow, stride, &blk, 63)
			if !ok {
				if !bytes.Equal(fast, bytes.Repeat([]uint8{0xa5}, len(fast))) {
					t.Fatal("kernel refused a block but wrote samples")
				}
				continue
			}
			taken++
			if !bytes.Equal(fast, slow) {
				t.Fatalf("magnitude %d, block %v: kernel %v, Go %v", mag, blk, fast, slow)
			}
		}
		t.Logf("magnitude %d: kernel took %d of 3000 blocks", mag, taken)
		if mag <= 60 && taken != 3000 {
			t.Errorf("magnitude %d: kernel took only %d of 3000 blocks", mag, taken)
		}
	}
}

// TestProcessorConcurrentJPEG: goroutines sharing one Processor decode and
// preprocess different baseline JPEGs (recycled planes, per-worker resize
// scratch) and get exactly the sequential results.
func TestProcessorConcurrentJPEG(t *testing.T) {
	files, err := filepath.Glob("testdata/pil_decode/*.jpg")
	if err != nil || len(files) == 0 {
		t.Fatal("no JPEGs")
	}
	p, err := NewProcessor(Config{})
	if err != nil {
		t.Fatal(err)
	}
	type result struct{ pv, cb []float32 }
	var inputs [][]byte
	var want []result
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := p.Decode(data)
		if err != nil {
			continue // CMYK etc. with the default input kind
		}
		inputs = append(inputs, data)
		want = append(want, result{p.PixelValues(img), p.CodebookPixelValues(img)})
	}
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func(g int) {
			for round := 0; round < 5; round++ {
				for i := range inputs {
					k := (i + g) % len(inputs)
					img, err := p.Decode(inputs[k])
					if err != nil {
						errs <- err
						return
					}
					pv, cb := p.PixelValues(img), p.CodebookPixelValues(img)
					if !slicesEqual(pv, want[k].pv) || !slicesEqual(cb, want[k].cb) {
						errs <- fmt.Errorf("goroutine %d, input %d: results differ from the sequential ones", g, k)
						return
					}
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
