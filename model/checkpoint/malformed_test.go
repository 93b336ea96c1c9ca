package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPyTorchSamples reads the generated samples of every pickle protocol,
// compressed, big-endian: views with offsets and strides, parameters, tensor
// subclasses and every supported dtype.
func TestPyTorchSamples(t *testing.T) {
	for _, name := range []string{"torch_p2.bin", "torch_p3.bin", "torch_p4.bin", "torch_p5.bin", "torch_deflate.bin", "torch_bigendian.bin"} {
		t.Run(name, func(t *testing.T) {
			sd, err := OpenPyTorch(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			defer sd.Close()
			checkSample(t, sd)
			// The same through an io.ReaderAt, without a memory map.
			b := readTestdata(t, name)
			sd2, err := ParsePyTorch(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			checkSample(t, sd2)
		})
	}
}

func checkSample(t *testing.T, sd *StateDict) {
	t.Helper()
	floats := map[string]struct {
		shape []int
		data  []float32
	}{
		"w":      {[]int{2, 3}, []float32{0, 1, 2, 3, 4, 5}},
		"w_t":    {[]int{3, 2}, []float32{0, 3, 1, 4, 2, 5}},
		"w_tail": {[]int{2}, []float32{4, 5}},
		"tied":   {[]int{2, 3}, []float32{0, 1, 2, 3, 4, 5}},
		"p":      {[]int{2}, []float32{1.5, -2}},
		"h":      {[]int{3}, []float32{1, -2, 0.333251953125}},
		"b":      {[]int{2}, []float32{1, 3.140625}},
		"scalar": {[]int{}, []float32{42}},
		"empty":  {[]int{0, 4}, []float32{}},
		"sub":    {[]int{1}, []float32{0.25}},
	}
	for name, want := range floats {
		got, err := sd.Float32(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(got.Shape, want.shape) || !slices.Equal(got.Data, want.data) {
			t.Errorf("%s = %v %v, want %v %v", name, got.Shape, got.Data, want.shape, want.data)
		}
	}
	ints := map[string][]int64{"ids": {-1, 0, 1 << 40}, "i32": {7, -7}, "mask": {1, 0, 1}, "u8": {0, 255}}
	for name, want := range ints {
		got, err := sd.Int64(name)
		if err != nil || !slices.Equal(got.Data, want) {
			t.Errorf("%s = %v (%v), want %v", name, got, err, want)
		}
	}
	for name, dt := range map[string]DType{"w": F32, "h": F16, "b": BF16, "ids": I64, "i32": I32, "mask": Bool, "u8": U8, "sub": F64} {
		if info, _ := sd.Info(name); info.DType != dt {
			t.Errorf("%s is %s, want %s", name, info.DType, dt)
		}
	}
	if sd.Len() != 14 {
		t.Errorf("%d tensors, want 14: %v", sd.Len(), sd.Names())
	}
	if !sd.Shared("w", "tied") || !sd.Shared("w", "w_tail") {
		t.Error("views of one storage do not share memory")
	}
	if sd.Shared("w", "p") {
		t.Error("tensors of different storages reported as shared")
	}
}

// TestPyTorchRejectsGlobals: a pickle naming anything off the allow-list is
// refused by name before anything runs.
func TestPyTorchRejectsGlobals(t *testing.T) {
	for file, global := range map[string]string{"bad_os_system.bin": "posix.system", "bad_eval.bin": "builtins.eval"} {
		_, err := OpenPyTorch(filepath.Join("testdata", file))
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), global) {
			t.Errorf("%s: got %v, want ErrUnsupported naming %s", file, err, global)
		}
	}
	for _, g := range []string{"os\nsystem", "builtins\nexec", "subprocess\nPopen", "torch\nload", "__builtin__\ngetattr", "torch._utils\n_rebuild_qtensor"} {
		pkl := []byte("\x80\x02c" + g + "\n)R.")
		_, err := parseTestPickle(pkl)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), strings.Replace(g, "\n", ".", 1)) {
			t.Errorf("global %q: got %v", g, err)
		}
	}
}

// parseTestPickle wraps a pickle in a torch-layout zip with one 4-float
// storage under key "0" and parses it.
func parseTestPickle(pkl []byte) (*StateDict, error) {
	b := torchZipBytes(map[string][]byte{"a/data.pkl": pkl, "a/data/0": make([]byte, 16)}, zip.Store)
	return ParsePyTorch(bytes.NewReader(b), int64(len(b)))
}

func torchZipBytes(entries map[string][]byte, method uint16) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: method})
		if err != nil {
			panic(err)
		}
		w.Write(entries[n])
	}
	zw.Close()
	return buf.Bytes()
}

// tensorPickle is a state dict {"x": _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}
// over storage key "0" of the given numel.
func tensorPickle(storageType string, numel, offset int64, size, stride []int64) []byte {
	var p bytes.Buffer
	p.WriteString("\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00x")
	p.WriteString("ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n" + storageType + "\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu")
	long := func(v int64) {
		p.WriteByte(opLong1)
		p.WriteByte(8)
		binary.Write(&p, binary.LittleEndian, v)
	}
	long(numel)
	p.WriteString("tQ")
	long(offset)
	p.WriteByte('(')
	for _, d := range size {
		long(d)
	}
	p.WriteString("t(")
	for _, s := range stride {
		long(s)
	}
	p.WriteString("t\x89ccollections\nOrderedDict\n)RtRu.")
	return p.Bytes()
}

// TestPyTorchRejectsMalformed: hostile or broken checkpoints give errors
// wrapping ErrMalformed or ErrUnsupported and allocate next to nothing.
func TestPyTorchRejectsMalformed(t *testing.T) {
	cases := map[string][]byte{
		"memo index never stored":  []byte("\x80\x02}q\x00h\x07."),
		"long memo index":          []byte("\x80\x02}j\xff\xff\xff\xff."),
		"no STOP":                  []byte("\x80\x02}"),
		"empty pickle":             {},
		"STOP on empty stack":      []byte("."),
		"BINUNICODE8 of 2^63":      []byte("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x80."),
		"BINBYTES of 4 GiB":        []byte("\x80\x03B\xff\xff\xff\xff."),
		"LONG4 of 2 GiB":           []byte("\x80\x02\x8b\xff\xff\xff\x7f."),
		"unknown opcode":           []byte("\x80\x02\xff."),
		"protocol 6":               []byte("\x80\x06}."),
		"SETITEM on a list":        []byte("\x80\x02]K\x01K\x02s."),
		"APPENDS without MARK":     []byte("\x80\x02]e."),
		"TUPLE3 underflow":         []byte("\x80\x02K\x01\x87."),
		"REDUCE of a non-global":   []byte("\x80\x02K\x01)R."),
		"INST":                     []byte("(ios\nsystem\n."),
		"not a dict":               []byte("\x80\x02K\x01."),
		"huge shape":               tensorPickle("FloatStorage", 4, 0, []int64{math.MaxInt32, math.MaxInt32}, []int64{1, 1}),
		"shape past the storage":   tensorPickle("FloatStorage", 4, 0, []int64{5}, []int64{1}),
		"offset past the storage":  tensorPickle("FloatStorage", 4, 4, []int64{1}, []int64{1}),
		"stride past the storage":  tensorPickle("FloatStorage", 4, 0, []int64{2}, []int64{4}),
		"negative dimension":       tensorPickle("FloatStorage", 4, 0, []int64{-1}, []int64{1}),
		"dimension of 2^40":        tensorPickle("FloatStorage", 4, 0, []int64{1 << 40}, []int64{0}),
		"stride-0 expansion":       tensorPickle("FloatStorage", 4, 0, []int64{1 << 30, 1 << 30}, []int64{0, 0}),
		"stride-0 past the budget": tensorPickle("FloatStorage", 4, 0, []int64{1 << 20, 1 << 20}, []int64{0, 0}),
		"numel beyond the entry":   tensorPickle("FloatStorage", 5, 0, []int64{1}, []int64{1}),
		"numel of 2^62":            tensorPickle("FloatStorage", 1<<62, 0, []int64{1}, []int64{1}),
		"negative numel":           tensorPickle("FloatStorage", -1, 0, []int64{1}, []int64{1}),
		"size and stride differ":   tensorPickle("FloatStorage", 4, 0, []int64{2, 2}, []int64{1}),
		"unknown storage type":     tensorPickle("ComplexFloatStorage", 4, 0, []int64{1}, []int64{1}),
	}
	for name, pkl := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := parseTestPickle(pkl)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("got %v, want a malformed/unsupported error", err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Errorf("allocated %d bytes before failing", grew)
			}
			t.Log(err)
		})
	}
	// A well-formed tensor through the same helper, so the cases above fail
	// for their own reason.
	sd, err := parseTestPickle(tensorPickle("FloatStorage", 4, 1, []int64{3}, []int64{1}))
	if err != nil || !sd.Has("x") {
		t.Fatalf("control case: %v", err)
	}
}

// TestPyTorchCapsContainerCopies: OrderedDict(pairs) called again and again
// on one memoised list would copy it each time; the copies are charged to the
// allocation budget.
func TestPyTorchCapsContainerCopies(t *testing.T) {
	var p bytes.Buffer
	p.WriteString("\x80\x02ccollections\nOrderedDict\nq\x010]q\x00(")
	for i := 0; i < 5000; i++ {
		p.WriteString("K\x01K\x02\x86")
	}
	p.WriteString("e0")
	for i := 0; i < 20000; i++ {
		p.WriteString("h\x01h\x00\x85R0")
	}
	p.WriteString("}.")
	_, err := parseTestPickle(p.Bytes())
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "container") {
		t.Fatalf("got %v, want the copy budget to run out", err)
	}
}

// TestPyTorchRejectsBadArchives: files that are not torch.save zips, or zips
// whose entries lie.
func TestPyTorchRejectsBadArchives(t *testing.T) {
	good := readTestdata(t, "torch_p2.bin")
	cases := map[string][]byte{
		"empty":          {},
		"random bytes":   []byte("this is not a zip file at all, not even close"),
		"zip, no pickle": torchZipBytes(map[string][]byte{"a/data/0": make([]byte, 16)}, zip.Store),
		"two pickles":    torchZipBytes(map[string][]byte{"a/data.pkl": []byte("}."), "b/data.pkl": []byte("}.")}, zip.Store),
		"missing storage entry": torchZipBytes(map[string][]byte{
			"a/data.pkl": tensorPickle("FloatStorage", 4, 0, []int64{1}, []int64{1})}, zip.Store),
		"bad byteorder": torchZipBytes(map[string][]byte{"a/data.pkl": []byte("}."), "a/byteorder": []byte("middle")}, zip.Store),
		"legacy":        readTestdata(t, "legacy.pt"),
	}
	for n := 1; n < len(good); n += 97 {
		cases["truncated at "+strconv.Itoa(n)] = good[:n]
	}
	corrupt := bytes.Clone(good)
	for i := len(corrupt) - 22; i < len(corrupt); i++ { // the end-of-central-directory record
		corrupt[i] ^= 0x5a
	}
	cases["corrupt directory"] = corrupt
	for name, b := range cases {
		_, err := ParsePyTorch(bytes.NewReader(b), int64(len(b)))
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if _, err := ParsePyTorch(bytes.NewReader(readTestdata(t, "legacy.pt")), 15); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "legacy") {
		t.Errorf("legacy format: %v", err)
	}
}

// TestPyTorchCorruptBytesNeverPanic flips every byte of two samples in turn:
// each result is an error or a readable state dict, never a panic.
func TestPyTorchCorruptBytesNeverPanic(t *testing.T) {
	for _, name := range []string{"torch_p4.bin", "torch_deflate.bin"} {
		orig := readTestdata(t, name)
		failed := 0
		for i := range orig {
			b := bytes.Clone(orig)
			b[i] ^= 0xff
			sd, err := ParsePyTorch(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				failed++
				continue
			}
			for _, n := range sd.Names() {
				sd.Float32(n)
				sd.Int64(n)
			}
		}
		if failed == 0 {
			t.Errorf("%s: no corruption was detected", name)
		}
	}
}

// TestSafetensorsRejectsMalformed covers the broken header shapes.
func TestSafetensorsRejectsMalformed(t *testing.T) {
	for _, name := range []string{"st_overlap", "st_out_of_range", "st_unknown_dtype", "st_header_too_long"} {
		b := readTestdata(t, name+".safetensors")
		if _, err := ParseSafetensors(b); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	good := readTestdata(t, "st_good.safetensors")
	for n := 0; n < len(good); n++ {
		if sd, err := ParseSafetensors(good[:n]); err == nil && sd.Len() == 2 {
			t.Errorf("truncated to %d bytes, still read both tensors", n)
		}
	}
	huge := binary.LittleEndian.AppendUint64(nil, math.MaxUint64)
	if _, err := ParseSafetensors(append(huge, "{}"...)); !errors.Is(err, ErrMalformed) {
		t.Errorf("header length 2^64-1: %v", err)
	}
	sd, err := ParseSafetensors(good)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := sd.Float32("h"); h == nil || !slices.Equal(h.Data, []float32{1, -2}) {
		t.Errorf("F16 tensor = %v", h)
	}
}

// TestHalfToFloat32 checks every binary16 value against math.Ldexp, and
// BF16 as the top half of a float32.
func TestHalfToFloat32(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
		var want float64
		switch exp {
		case 0x1f:
			if frac != 0 {
				if got := HalfToFloat32(h); !math.IsNaN(float64(got)) {
					t.Fatalf("%#04x: %v, want NaN", h, got)
				}
				continue
			}
			want = math.Inf(int(sign))
		case 0:
			want = sign * math.Ldexp(frac, -24)
		default:
			want = sign * math.Ldexp(1+frac/1024, exp-15)
		}
		got := HalfToFloat32(h)
		if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("%#04x: %v, want %v", h, got, want)
		}
	}
	// BF16 through a StateDict: the upper 16 bits of the float32.
	var body []byte
	vals := []float32{1, -3.140625, float32(math.Inf(1)), 1e-40, 65504}
	for _, v := range vals {
		body = binary.LittleEndian.AppendUint16(body, uint16(math.Float32bits(v)>>16))
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, []SafetensorsTensor{{Name: "b", DType: BF16, Shape: []int{len(vals)}, Data: body}}, nil); err != nil {
		t.Fatal(err)
	}
	sd, err := ParseSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := sd.Float32("b")
	for i, v := range vals {
		want := math.Float32frombits(math.Float32bits(v) &^ 0xffff)
		if math.Float32bits(got.Data[i]) != math.Float32bits(want) {
			t.Errorf("bf16 %v -> %v, want %v", v, got.Data[i], want)
		}
	}
}
