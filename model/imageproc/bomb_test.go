package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"runtime/metrics"
	"strings"
	"testing"
)

func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// decodeAllocs decodes data and returns the error and the bytes allocated.
func decodeAllocs(data []byte, opts DecodeOptions) (*RGB, error, uint64) {
	before := heapAllocated()
	img, err := Decode(data, opts)
	return img, err, heapAllocated() - before
}

// bitWriter writes JPEG entropy-coded bits, stuffing a zero after 0xff.
type bitWriter struct {
	out   []byte
	acc   uint32
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.nbits++
		if w.nbits == 8 {
			w.out = append(w.out, byte(w.acc))
			if byte(w.acc) == 0xff {
				w.out = append(w.out, 0)
			}
			w.acc, w.nbits = 0, 0
		}
	}
}

func (w *bitWriter) flush() []byte {
	for w.nbits != 0 {
		w.write(1, 1)
	}
	return w.out
}

func segment(marker byte, body ...byte) []byte {
	return append([]byte{0xff, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)}, body...)
}

// progressiveJPEG is a gray w×h progressive JPEG of one DC scan (every
// block 0) and acScans AC scans of bands 1..63 that skip all blocks with
// end-of-band runs of 32,767 blocks (15 bits each): a few bytes per scan,
// each of which image/jpeg walks over every block.
func progressiveJPEG(w, h, acScans int) []byte {
	b := []byte{0xff, 0xd8}
	b = append(b, segment(0xdb, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...)...)
	b = append(b, segment(0xc2, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)...)
	one := make([]byte, 16)
	one[0] = 1                                                                     // one code of length 1
	b = append(b, segment(0xc4, append(append([]byte{0x00}, one...), 0x00)...)...) // DC: category 0
	b = append(b, segment(0xc4, append(append([]byte{0x10}, one...), 0xe0)...)...) // AC: EOBRUN 2^14+extra
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	b = append(b, segment(0xda, 1, 1, 0x00, 0, 0, 0)...)
	dc := &bitWriter{}
	for i := 0; i < blocks; i++ {
		dc.write(0, 1)
	}
	b = append(b, dc.flush()...)
	for s := 0; s < acScans; s++ {
		b = append(b, segment(0xda, 1, 1, 0x00, 1, 63, 0)...)
		ac := &bitWriter{}
		for left := blocks; left > 0; left -= 32767 {
			run := min(left, 32767)
			ac.write(0, 1)                  // the EOB14 symbol
			ac.write(uint32(run-1<<14), 14) // run = 2^14 + extra bits
		}
		b = append(b, ac.flush()...)
	}
	return append(b, 0xff, 0xd9)
}

func TestDecodeRefusesJPEGWithManyScans(t *testing.T) {
	// The generator makes valid files: a few scans decode.
	img, err := Decode(progressiveJPEG(64, 48, 4), DecodeOptions{})
	if err != nil || img.W != 64 || img.H != 48 {
		t.Fatalf("a 5-scan progressive JPEG: %v", err)
	}
	for _, c := range []struct{ w, h, scans int }{
		{64, 48, maxJPEGScans + 10}, // too many scans for any size
		{4096, 4096, 300},           // 16.7 MP: 256 scans would be 4.3G scan-pixels
		{8192, 8192, 80},            // 67 MP (within PIL's limit) × 80 scans
	} {
		data := progressiveJPEG(c.w, c.h, c.scans)
		_, err, allocs := decodeAllocs(data, DecodeOptions{})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%dx%d with %d scans (%d bytes): err %v, want ErrTooLarge", c.w, c.h, c.scans+1, len(data), err)
		}
		if allocs > 1<<20 {
			t.Errorf("%dx%d with %d scans: refusing it allocated %d bytes", c.w, c.h, c.scans+1, allocs)
		}
	}
}

// An honest but highly compressible PNG (a 4096×4096 black image is 50 KB)
// costs what its pixels cost, no more: the pixel limit is the bound.
func TestDecodeCompressiblePNGCostsItsPixels(t *testing.T) {
	const w, h = 4096, 4096
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	img, err, allocs := decodeAllocs(buf.Bytes(), DecodeOptions{})
	if err != nil || img.W != w {
		t.Fatalf("decode: %v", err)
	}
	// Gray decode (1 B/px) + RGB output (3 B/px) + inflate buffers.
	if perPixel := float64(allocs) / (w * h); perPixel > 6 {
		t.Errorf("%d-byte PNG of %dx%d allocated %d bytes, %.1f per pixel, want <= 6", buf.Len(), w, h, allocs, perPixel)
	}
	_, err = Decode(buf.Bytes(), DecodeOptions{MaxPixels: w*h - 1})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxPixels one below: %v", err)
	}
}

// Decode takes the first frame of a GIF: more frames cost nothing.
func TestDecodeManyFrameGIFCostsOneFrame(t *testing.T) {
	frames := func(n int) []byte {
		pal := color.Palette{color.Black, color.White}
		g := &gif.GIF{}
		for i := 0; i < n; i++ {
			m := image.NewPaletted(image.Rect(0, 0, 256, 256), pal)
			m.Pix[i%len(m.Pix)] = 1
			g.Image = append(g.Image, m)
			g.Delay = append(g.Delay, 0)
		}
		var buf bytes.Buffer
		if err := gif.EncodeAll(&buf, g); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	_, err, one := decodeAllocs(frames(1), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	many := frames(500)
	_, err, all := decodeAllocs(many, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if all > 2*one+(64<<10) {
		t.Errorf("a 500-frame GIF (%d bytes) allocated %d bytes, a 1-frame one %d", len(many), all, one)
	}
}

// checkJPEGScans must not be fooled by 0xff bytes in entropy data (stuffed)
// or restart markers, and counts scans of a real file.
func TestCheckJPEGScansCounts(t *testing.T) {
	data := progressiveJPEG(64, 48, 9) // 10 scans
	if err := checkJPEGScans(data, 1<<32/10); err != nil {
		t.Errorf("10 scans at the scan-pixel bound: %v", err)
	}
	if err := checkJPEGScans(data, 1<<32/10+1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("10 scans one pixel past the bound: %v", err)
	}
	// A length field pointing past the end, and truncated data, end the walk.
	if err := checkJPEGScans([]byte{0xff, 0xd8, 0xff, 0xda, 0xff}, 1); err != nil {
		t.Error(err)
	}
	b := binary.BigEndian.AppendUint16([]byte{0xff, 0xd8, 0xff, 0xe1}, 0xffff)
	if err := checkJPEGScans(b, 1); err != nil {
		t.Error(err)
	}
}

// lsbWriter writes the least-significant-bit-first bit stream of WebP
// lossless (VP8L).
type lsbWriter struct {
	b []byte
	n uint
}

func (w *lsbWriter) bits(v uint32, n uint) {
	for i := uint(0); i < n; i++ {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>i&1 == 1 {
			w.b[len(w.b)-1] |= 1 << (w.n % 8)
		}
		w.n++
	}
}

// solidVP8L is a valid lossless WebP of w×h transparent black pixels in 28
// bytes: five single-symbol prefix codes, so every pixel takes zero bits.
func solidVP8L(w, h int) []byte {
	bw := &lsbWriter{}
	bw.bits(0x2f, 8) // signature
	bw.bits(uint32(w-1), 14)
	bw.bits(uint32(h-1), 14)
	bw.bits(0, 1) // alpha hint
	bw.bits(0, 3) // version
	bw.bits(0, 1) // no transform
	bw.bits(0, 1) // no colour cache
	bw.bits(0, 1) // no meta prefix codes
	for i := 0; i < 5; i++ {
		bw.bits(1, 1) // simple code
		bw.bits(0, 1) // one symbol
		bw.bits(0, 1) // of 1 bit
		bw.bits(0, 1) // symbol 0
	}
	data := bw.b
	chunk := binary.LittleEndian.AppendUint32([]byte("VP8L"), uint32(len(data)))
	chunk = append(chunk, data...)
	if len(data)%2 == 1 {
		chunk = append(chunk, 0)
	}
	out := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(chunk)))
	return append(append(out, "WEBP"...), chunk...)
}

func TestDecodeRefusesTinyWebPDeclaringManyPixels(t *testing.T) {
	// Honest: it really is 9000×9000 pixels, and x/image/webp spends ~20 s
	// and 570 MB on it (measured on the loaded 2-core test machine).
	data := solidVP8L(9000, 9000)
	_, err, allocs := decodeAllocs(data, DecodeOptions{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("%d-byte WebP of 9000x9000: %v, want ErrTooLarge", len(data), err)
	}
	if allocs > 1<<20 {
		t.Errorf("refusing it allocated %d bytes", allocs)
	}
	// 1 MP and below decodes whatever the ratio, and the ratio is an option.
	img, err := Decode(solidVP8L(1024, 1024), DecodeOptions{})
	if err != nil || img.W != 1024 {
		t.Errorf("1024x1024 from %d bytes: %v", len(data), err)
	}
	if _, err := Decode(solidVP8L(1100, 1000), DecodeOptions{MaxPixelsPerByte: 1 << 20}); err != nil {
		t.Errorf("1.1 MP in 28 bytes with MaxPixelsPerByte 1M: %v", err)
	}
	if _, err := Decode(solidVP8L(1100, 1000), DecodeOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1.1 MP in 28 bytes by default: %v, want ErrTooLarge", err)
	}
}

// A bilevel document scan compresses beyond DefaultMaxPixelsPerByte: the
// default refuses it before decoding, and Config.MaxPixelsPerByte (the
// CLI's --max-pixels-per-byte) lets it through the Processor.
func TestMaxPixelsPerByteIsAConfigSetting(t *testing.T) {
	m := image.NewPaletted(image.Rect(0, 0, 2000, 2000), color.Palette{color.White, color.Black})
	for x := 0; x < 2000; x++ {
		m.SetColorIndex(x, 1000, 1)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	perByte := int64(2000*2000) / int64(buf.Len())
	if perByte <= DefaultMaxPixelsPerByte {
		t.Fatalf("test image has %d pixels per byte, want more than %d", perByte, DefaultMaxPixelsPerByte)
	}
	p, err := NewProcessor(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Decode(buf.Bytes()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("default settings, %d pixels per byte: %v, want ErrTooLarge", perByte, err)
	}
	p, err = NewProcessor(Config{MaxPixelsPerByte: perByte + 1})
	if err != nil {
		t.Fatal(err)
	}
	img, err := p.Decode(buf.Bytes())
	if err != nil || img.W != 2000 || img.H != 2000 {
		t.Fatalf("MaxPixelsPerByte %d: %v", perByte+1, err)
	}
	if _, err := NewProcessor(Config{MaxPixelsPerByte: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("negative MaxPixelsPerByte: %v, want ErrConfig", err)
	}
}

// The decode-memory estimate is checked before decoding and bounds what a
// decode allocates: within 10 % above the estimate at most (it is meant to
// be an upper bound up to the decoder's small tables), and a limit below
// the estimate refuses the image having allocated almost nothing.
func TestMaxDecodeBytesBoundsWhatADecodeAllocates(t *testing.T) {
	photo := image.NewRGBA(image.Rect(0, 0, 1200, 900))
	for i := range photo.Pix {
		photo.Pix[i] = byte(i * 7)
	}
	var baseline, png16 bytes.Buffer
	if err := jpeg.Encode(&baseline, photo, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	deep := image.NewRGBA64(image.Rect(0, 0, 1000, 700))
	for i := range deep.Pix {
		deep.Pix[i] = byte(i * 13)
	}
	if err := png.Encode(&png16, deep); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"baseline 4:2:0 JPEG", baseline.Bytes()},
		{"progressive gray JPEG", progressiveJPEG(2048, 1536, 4)},
		{"16-bit RGBA PNG", png16.Bytes()},
	} {
		f, _ := Sniff(c.data)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(c.data))
		if err != nil {
			t.Fatal(err)
		}
		est := decodeBytes(f, c.data, cfg, false)
		img, err, allocs := decodeAllocs(c.data, DecodeOptions{MaxPixelsPerByte: 1 << 30})
		if err != nil || img.W != cfg.Width {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%s: allocated %d, estimated %d", c.name, allocs, est)
		if float64(allocs) > 1.1*float64(est) || float64(allocs) < 0.5*float64(est) {
			t.Errorf("%s: allocated %d bytes, estimated %d: the estimate is not a tight upper bound", c.name, allocs, est)
		}
		_, err, allocs = decodeAllocs(c.data, DecodeOptions{MaxPixelsPerByte: 1 << 30, MaxDecodeBytes: est - 1})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "MiB") {
			t.Errorf("%s with MaxDecodeBytes just below the estimate: %v, want ErrTooLarge", c.name, err)
		}
		if allocs > 1<<20 {
			t.Errorf("%s: refusing it allocated %d bytes", c.name, allocs)
		}
	}
	// Through a Processor's Config.
	p, err := NewProcessor(Config{MaxDecodeBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Decode(baseline.Bytes()); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Config.MaxDecodeBytes 1 MiB: %v, want ErrTooLarge", err)
	}
	if _, err := NewProcessor(Config{MaxDecodeBytes: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("negative MaxDecodeBytes: %v, want ErrConfig", err)
	}
}

// checkJPEGScansByteLoop is checkJPEGScans as it was before the IndexByte
// skip: the byte-by-byte reference for TestCheckJPEGScansSkip.
func checkJPEGScansByteLoop(data []byte, pixels int64) error {
	scans := 0
	for i := 2; i+1 < len(data); {
		if data[i] != 0xff {
			i++
			continue
		}
		m := data[i+1]
		switch {
		case m == 0xff || m == 0x00 || m >= 0xd0 && m <= 0xd7 || m == 0x01:
			i += 2
			continue
		case m == 0xd9:
			return nil
		}
		if i+3 >= len(data) {
			return nil
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		i += 2 + n
		if m != 0xda {
			continue
		}
		scans++
		if scans > maxJPEGScans || int64(scans)*pixels > maxJPEGScanPixels {
			return ErrTooLarge
		}
		for i+1 < len(data) && !(data[i] == 0xff && data[i+1] != 0 && (data[i+1] < 0xd0 || data[i+1] > 0xd7)) {
			i++
		}
	}
	return nil
}

// TestCheckJPEGScansSkip: the IndexByte skip over entropy-coded data
// counts the same scans as the byte loop, on progressive files, their
// truncations and random marker soup (0xff, stuffed zeros, RST, SOS).
func TestCheckJPEGScansSkip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var inputs [][]byte
	for _, scans := range []int{1, 9, 300} {
		p := progressiveJPEG(64, 48, scans)
		for cut := 2; cut <= len(p); cut += 1 + len(p)/50 {
			inputs = append(inputs, p[:cut])
		}
	}
	alphabet := []byte{0xff, 0x00, 0xd0, 0xd7, 0xda, 0xd9, 0x01, 0x02, 0x10, 0xc4}
	for i := 0; i < 20000; i++ {
		b := []byte{0xff, 0xd8}
		for j := rng.IntN(60); j > 0; j-- {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		inputs = append(inputs, b)
	}
	for _, b := range inputs {
		for _, px := range []int64{1, 1 << 26} {
			got, want := checkJPEGScans(b, px), checkJPEGScansByteLoop(b, px)
			if (got == nil) != (want == nil) {
				t.Fatalf("% x (%d pixels): %v, byte loop %v", b, px, got, want)
			}
		}
	}
}
