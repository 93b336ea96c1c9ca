package checkpoint

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strings"
)

// maxExpansion bounds the bytes a PyTorch checkpoint may make us allocate
// (copies of entries read without a memory map, decompressed entries,
// non-contiguous tensors made contiguous, byte-swapped big-endian data) to
// maxExpansion times the file size plus 1 MiB. A torch.save file read through
// a memory map needs none of it: its entries are stored uncompressed and its
// tensors are contiguous views of them.
const maxExpansion = 4

// OpenPyTorch memory-maps a torch.save checkpoint (the zip format PyTorch has
// written since 1.6, e.g. a Hub pytorch_model.bin) and returns its tensors.
// Entries stored uncompressed — all of those torch writes — are used in place
// without a copy; F32 tensors stay valid until Close.
func OpenPyTorch(path string) (*StateDict, error) {
	data, closer, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	sd, err := parsePyTorch(bytes.NewReader(data), int64(len(data)), data)
	if err != nil {
		closer()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sd.closers = append(sd.closers, closer)
	return sd, nil
}

// ParsePyTorch reads a torch.save zip checkpoint of the given size from r.
// Tensor bytes are copied out of r.
func ParsePyTorch(r io.ReaderAt, size int64) (*StateDict, error) {
	return parsePyTorch(r, size, nil)
}

// torchStorageTypes maps the storage classes torch writes in persistent ids to
// element types.
var torchStorageTypes = map[pyGlobal]DType{
	{"torch", "FloatStorage"}:            F32,
	{"torch", "DoubleStorage"}:           F64,
	{"torch", "HalfStorage"}:             F16,
	{"torch", "BFloat16Storage"}:         BF16,
	{"torch", "LongStorage"}:             I64,
	{"torch", "IntStorage"}:              I32,
	{"torch", "ShortStorage"}:            I16,
	{"torch", "CharStorage"}:             I8,
	{"torch", "ByteStorage"}:             U8,
	{"torch", "BoolStorage"}:             Bool,
	{"torch", "UntypedStorage"}:          U8,
	{"torch.storage", "UntypedStorage"}:  U8,
	{"torch.storage", "_UntypedStorage"}: U8,
}

// torchGlobals is the allow-list of callables and type markers besides the
// storage classes. Anything else in a pickle is rejected by name.
var torchGlobals = map[pyGlobal]bool{
	{"collections", "OrderedDict"}:                    true,
	{"torch._utils", "_rebuild_tensor_v2"}:            true,
	{"torch._utils", "_rebuild_parameter"}:            true,
	{"torch._utils", "_rebuild_parameter_with_state"}: true,
	{"torch._tensor", "_rebuild_from_type_v2"}:        true,
	{"torch", "Tensor"}:                               true, // type markers for _rebuild_from_type_v2
	{"torch.nn.parameter", "Parameter"}:               true,
	{"builtins", "set"}:                               true,
	{"builtins", "frozenset"}:                         true,
	{"__builtin__", "set"}:                            true,
}

// torchStorage is one storage: a zip entry under <archive>/data/<key>.
type torchStorage struct {
	key   string
	dtype DType
	numel int64
	data  []byte // numel * dtype.Size() bytes
}

// torchTensor is a tensor rebuilt from a storage view.
type torchTensor struct {
	dtype DType
	shape []int
	raw   []byte
}

type torchReader struct {
	r       io.ReaderAt
	size    int64
	mapped  []byte // the whole file when memory-mapped, else nil
	budget  int64  // bytes we may still allocate
	entries map[string]*zip.File
	prefix  string // "<archive>/"
	swap    bool   // storages are big-endian
	storage map[string]*torchStorage
}

func parsePyTorch(r io.ReaderAt, size int64, mapped []byte) (*StateDict, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrMalformed)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		var head [16]byte
		n, _ := r.ReadAt(head[:], 0)
		if isLegacyTorch(head[:n]) {
			return nil, fmt.Errorf("%w: legacy (pre-1.6, non-zip) torch.save format; re-save it with a current PyTorch or convert it to safetensors", ErrUnsupported)
		}
		return nil, fmt.Errorf("%w: not a torch.save zip archive: %v", ErrMalformed, err)
	}
	tr := &torchReader{r: r, size: size, mapped: mapped, budget: maxExpansion*size + 1<<20,
		entries: map[string]*zip.File{}, storage: map[string]*torchStorage{}}
	var pkl []string
	for _, f := range zr.File {
		if _, dup := tr.entries[f.Name]; dup {
			return nil, fmt.Errorf("%w: zip entry %q appears twice", ErrMalformed, f.Name)
		}
		tr.entries[f.Name] = f
		if dir, file := path.Split(f.Name); file == "data.pkl" && dir != "" && strings.Count(dir, "/") == 1 {
			pkl = append(pkl, f.Name)
		}
	}
	switch len(pkl) {
	case 0:
		return nil, fmt.Errorf("%w: zip archive has no <archive>/data.pkl (not a torch.save checkpoint)", ErrMalformed)
	case 1:
	default:
		sort.Strings(pkl)
		return nil, fmt.Errorf("%w: zip archive has several pickles %v", ErrMalformed, pkl)
	}
	tr.prefix = strings.TrimSuffix(pkl[0], "data.pkl")
	if f, ok := tr.entries[tr.prefix+"byteorder"]; ok {
		if f.UncompressedSize64 > 16 {
			return nil, fmt.Errorf("%w: byteorder entry of %d bytes", ErrMalformed, f.UncompressedSize64)
		}
		b, err := tr.read(f)
		if err != nil {
			return nil, err
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			tr.swap = true
		default:
			return nil, fmt.Errorf("%w: byteorder %q", ErrMalformed, b)
		}
	}
	pickle, err := tr.read(tr.entries[pkl[0]])
	if err != nil {
		return nil, err
	}
	return tr.unpickle(pickle)
}

// unpickle runs data.pkl with the torch allow-list and collects the tensors.
func (tr *torchReader) unpickle(pickle []byte) (*StateDict, error) {
	u := &unpickler{
		data: pickle,
		allowed: func(g pyGlobal) bool {
			_, storage := torchStorageTypes[g]
			return storage || torchGlobals[g]
		},
		call:           tr.call,
		persistentLoad: tr.persistentLoad,
	}
	root, err := u.run()
	if err != nil {
		return nil, err
	}
	return tr.stateDict(root)
}

// isLegacyTorch reports whether b starts like a bare pickle, as the pre-zip
// torch.save format does (protocol 2 and a pickled magic number).
func isLegacyTorch(b []byte) bool {
	return len(b) >= 3 && b[0] == opProto && b[1] == 2 && b[2] == opLong1
}

// take charges n bytes of allocation to the budget.
func (tr *torchReader) take(n int64, what string) error {
	if n < 0 || n > tr.budget {
		return fmt.Errorf("%w: %s needs %d bytes, more than the checkpoint's size allows", ErrMalformed, what, n)
	}
	tr.budget -= n
	return nil
}

// read returns a zip entry's bytes: a view of the mapping for stored entries
// of a mapped file, else a budgeted copy.
func (tr *torchReader) read(f *zip.File) ([]byte, error) {
	off, err := f.DataOffset()
	if err != nil {
		return nil, fmt.Errorf("%w: zip entry %q: %v", ErrMalformed, f.Name, err)
	}
	if off < 0 || f.CompressedSize64 > uint64(tr.size) || off > tr.size-int64(f.CompressedSize64) {
		return nil, fmt.Errorf("%w: zip entry %q runs past the end of the file", ErrMalformed, f.Name)
	}
	n := int64(f.CompressedSize64)
	if f.Method == zip.Store {
		if f.UncompressedSize64 != f.CompressedSize64 {
			return nil, fmt.Errorf("%w: stored zip entry %q has sizes %d and %d", ErrMalformed, f.Name, f.CompressedSize64, f.UncompressedSize64)
		}
		if tr.mapped != nil {
			return tr.mapped[off : off+n : off+n], nil
		}
		if err := tr.take(n, "zip entry "+f.Name); err != nil {
			return nil, err
		}
		b := make([]byte, n)
		if _, err := tr.r.ReadAt(b, off); err != nil && !(err == io.EOF && n > 0) {
			return nil, fmt.Errorf("%w: zip entry %q: %v", ErrMalformed, f.Name, err)
		}
		return b, nil
	}
	if f.UncompressedSize64 > math.MaxInt64 {
		return nil, fmt.Errorf("%w: zip entry %q claims %d bytes", ErrMalformed, f.Name, f.UncompressedSize64)
	}
	want := int64(f.UncompressedSize64)
	if err := tr.take(want, "compressed zip entry "+f.Name); err != nil {
		return nil, err
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: zip entry %q: %v", ErrUnsupported, f.Name, err)
	}
	defer rc.Close()
	b := make([]byte, want)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("%w: zip entry %q: %v", ErrMalformed, f.Name, err)
	}
	// Reading to EOF makes archive/zip check the size and CRC-32.
	if n, err := rc.Read(make([]byte, 1)); n != 0 || (err != io.EOF && err != nil) {
		return nil, fmt.Errorf("%w: zip entry %q: longer than declared or corrupt (%v)", ErrMalformed, f.Name, err)
	}
	return b, nil
}

// persistentLoad resolves ('storage', storage_type, key, location, numel).
func (tr *torchReader) persistentLoad(pid any) (any, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 {
		return nil, fmt.Errorf("%w: persistent id %s is not a 5-tuple", ErrMalformed, describe(pid))
	}
	if tag, _ := t[0].(string); tag != "storage" {
		return nil, fmt.Errorf("%w: persistent id of kind %s", ErrUnsupported, describe(t[0]))
	}
	g, ok := t[1].(pyGlobal)
	dtype, known := torchStorageTypes[g]
	if !ok || !known {
		return nil, fmt.Errorf("%w: storage type %s", ErrUnsupported, describe(t[1]))
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("%w: storage key %s is not a string", ErrMalformed, describe(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 || numel > tr.size/int64(dtype.Size()) {
		return nil, fmt.Errorf("%w: storage %q claims %s elements of %s in a %d-byte file", ErrMalformed, key, describe(t[4]), dtype, tr.size)
	}
	if s, ok := tr.storage[key]; ok {
		if s.dtype != dtype || s.numel != numel {
			return nil, fmt.Errorf("%w: storage %q used as %d×%s and %d×%s", ErrMalformed, key, s.numel, s.dtype, numel, dtype)
		}
		return s, nil
	}
	f, ok := tr.entries[tr.prefix+"data/"+key]
	if !ok {
		return nil, fmt.Errorf("%w: storage %q has no zip entry %sdata/%s", ErrMalformed, key, tr.prefix, key)
	}
	nbytes := numel * int64(dtype.Size())
	if f.UncompressedSize64 < uint64(nbytes) {
		return nil, fmt.Errorf("%w: storage %q holds %d bytes, fewer than %d×%s", ErrMalformed, key, f.UncompressedSize64, numel, dtype)
	}
	data, err := tr.read(f)
	if err != nil {
		return nil, err
	}
	data = data[:nbytes:nbytes]
	if tr.swap && dtype.Size() > 1 {
		if err := tr.take(nbytes, "byte-swapping storage "+key); err != nil {
			return nil, err
		}
		data = swapBytes(data, dtype.Size())
	}
	s := &torchStorage{key: key, dtype: dtype, numel: numel, data: data}
	tr.storage[key] = s
	return s, nil
}

// call applies an allowed global.
func (tr *torchReader) call(g pyGlobal, args pyTuple) (any, error) {
	switch g {
	case pyGlobal{"collections", "OrderedDict"}:
		d := newPyDict()
		if len(args) == 0 {
			return d, nil
		}
		if len(args) != 1 {
			return nil, fmt.Errorf("%w: OrderedDict with %d arguments", ErrMalformed, len(args))
		}
		if err := tr.fillPairs(d, args[0]); err != nil {
			return nil, err
		}
		return d, nil
	case pyGlobal{"builtins", "set"}, pyGlobal{"builtins", "frozenset"}, pyGlobal{"__builtin__", "set"}:
		d := newPyDict()
		if len(args) == 1 {
			var items []any
			switch v := args[0].(type) {
			case *pyList:
				items = v.items
			case pyTuple:
				items = v
			default:
				return nil, fmt.Errorf("%w: %s of a %s", ErrMalformed, g, describe(v))
			}
			if err := tr.chargeCopy(len(items)); err != nil {
				return nil, err
			}
			for _, it := range items {
				if err := d.set(it, nil); err != nil {
					return nil, err
				}
			}
		} else if len(args) > 1 {
			return nil, fmt.Errorf("%w: %s with %d arguments", ErrMalformed, g, len(args))
		}
		return d, nil
	case pyGlobal{"torch._utils", "_rebuild_tensor_v2"}:
		if len(args) != 6 && len(args) != 7 {
			return nil, fmt.Errorf("%w: _rebuild_tensor_v2 with %d arguments", ErrMalformed, len(args))
		}
		return tr.rebuildTensor(args[0], args[1], args[2], args[3])
	case pyGlobal{"torch._utils", "_rebuild_parameter"}, pyGlobal{"torch._utils", "_rebuild_parameter_with_state"}:
		if len(args) < 1 {
			return nil, fmt.Errorf("%w: %s without arguments", ErrMalformed, g)
		}
		t, ok := args[0].(*torchTensor)
		if !ok {
			return nil, fmt.Errorf("%w: %s of a %s", ErrMalformed, g, describe(args[0]))
		}
		return t, nil
	case pyGlobal{"torch._tensor", "_rebuild_from_type_v2"}:
		if len(args) != 4 {
			return nil, fmt.Errorf("%w: _rebuild_from_type_v2 with %d arguments", ErrMalformed, len(args))
		}
		fn, ok1 := args[0].(pyGlobal)
		inner, ok2 := args[2].(pyTuple)
		if !ok1 || !ok2 || fn == g {
			return nil, fmt.Errorf("%w: _rebuild_from_type_v2(%s, _, %s)", ErrMalformed, describe(args[0]), describe(args[2]))
		}
		if fn.module != "torch._utils" {
			return nil, fmt.Errorf("%w: _rebuild_from_type_v2 of %s", ErrUnsupported, fn)
		}
		return tr.call(fn, inner)
	}
	return nil, fmt.Errorf("%w: %s is not callable here", ErrUnsupported, g)
}

// chargeCopy charges the copy of n container items to the budget: a pickle
// can call OrderedDict(x) or set(x) on one large container many times
// through the memo, and each call copies it.
func (tr *torchReader) chargeCopy(n int) error {
	return tr.take(int64(n)*48, "copying a pickled container")
}

// fillPairs fills d from an iterable of (key, value) pairs.
func (tr *torchReader) fillPairs(d *pyDict, v any) error {
	var items []any
	switch v := v.(type) {
	case *pyList:
		items = v.items
	case pyTuple:
		items = v
	case *pyDict:
		if err := tr.chargeCopy(len(v.keys)); err != nil {
			return err
		}
		for i, k := range v.keys {
			if err := d.set(k, v.values[i]); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("%w: OrderedDict of a %s", ErrMalformed, describe(v))
	}
	if err := tr.chargeCopy(len(items)); err != nil {
		return err
	}
	for _, it := range items {
		p, ok := it.(pyTuple)
		if !ok || len(p) != 2 {
			return fmt.Errorf("%w: OrderedDict item %s is not a pair", ErrMalformed, describe(it))
		}
		if err := d.set(p[0], p[1]); err != nil {
			return err
		}
	}
	return nil
}

// rebuildTensor is _rebuild_tensor_v2(storage, storage_offset, size, stride, ...).
func (tr *torchReader) rebuildTensor(sv, ov, sizev, stridev any) (*torchTensor, error) {
	s, ok := sv.(*torchStorage)
	if !ok {
		return nil, fmt.Errorf("%w: tensor storage is a %s", ErrMalformed, describe(sv))
	}
	offset, ok := ov.(int64)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("%w: tensor storage offset %s", ErrMalformed, describe(ov))
	}
	sizes, err := intTuple(sizev, "size")
	if err != nil {
		return nil, err
	}
	strides, err := intTuple(stridev, "stride")
	if err != nil {
		return nil, err
	}
	if len(strides) != len(sizes) {
		return nil, fmt.Errorf("%w: tensor size %v with stride %v", ErrMalformed, sizes, strides)
	}
	shape, n, err := checkShape(sizes)
	if err != nil {
		return nil, fmt.Errorf("%w: tensor of storage %q: %v", ErrMalformed, s.key, err)
	}
	es := int64(s.dtype.Size())
	t := &torchTensor{dtype: s.dtype, shape: shape}
	if n == 0 {
		t.raw = []byte{}
		return t, nil
	}
	if offset >= s.numel {
		return nil, fmt.Errorf("%w: tensor offset %d is outside storage %q of %d elements", ErrMalformed, offset, s.key, s.numel)
	}
	// last is the highest element index the view touches; each step is
	// checked against the storage before it is added, so it cannot overflow.
	last := offset
	contiguous := true
	want := int64(1)
	for i := len(sizes) - 1; i >= 0; i-- {
		d, st := sizes[i], strides[i]
		if st < 0 || st > s.numel {
			return nil, fmt.Errorf("%w: tensor of storage %q has stride %v", ErrMalformed, s.key, strides)
		}
		if d != 1 && st != want {
			contiguous = false
		}
		if st != 0 && d-1 > (s.numel-1-last)/st {
			return nil, fmt.Errorf("%w: tensor of size %v, stride %v, offset %d runs past storage %q of %d elements", ErrMalformed, sizes, strides, offset, s.key, s.numel)
		}
		last += (d - 1) * st
		want *= d
	}
	if contiguous {
		lo, hi := offset*es, (offset+int64(n))*es
		t.raw = s.data[lo:hi:hi]
		return t, nil
	}
	nb := int64(n) * es
	if err := tr.take(nb, fmt.Sprintf("making a non-contiguous view of storage %q contiguous", s.key)); err != nil {
		return nil, err
	}
	t.raw = gather(s.data, int(es), offset, sizes, strides, make([]byte, 0, nb))
	return t, nil
}

// gather copies a strided view into a contiguous row-major buffer.
func gather(src []byte, es int, offset int64, sizes, strides []int64, dst []byte) []byte {
	if len(sizes) == 0 {
		return append(dst, src[offset*int64(es):(offset+1)*int64(es)]...)
	}
	for i := int64(0); i < sizes[0]; i++ {
		dst = gather(src, es, offset+i*strides[0], sizes[1:], strides[1:], dst)
	}
	return dst
}

func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%w: tensor %s is a %s, not a tuple", ErrMalformed, what, describe(v))
	}
	if len(t) > 64 {
		return nil, fmt.Errorf("%w: tensor %s has %d dimensions", ErrMalformed, what, len(t))
	}
	out := make([]int64, len(t))
	for i, e := range t {
		x, ok := e.(int64)
		if !ok || x < 0 || x > math.MaxInt32 {
			return nil, fmt.Errorf("%w: tensor %s %s has a bad entry %s", ErrMalformed, what, describe(v), describe(e))
		}
		out[i] = x
	}
	return out, nil
}

func swapBytes(b []byte, width int) []byte {
	out := make([]byte, len(b))
	for i := 0; i+width <= len(b); i += width {
		for j := 0; j < width; j++ {
			out[i+j] = b[i+width-1-j]
		}
	}
	return out
}

// stateDict turns the unpickled root into a StateDict: a dict of name →
// tensor, or one wrapped under "state_dict", "model" or "module" (as training
// scripts save it). Values that are not tensors (step counters, configs) are
// skipped.
func (tr *torchReader) stateDict(root any) (*StateDict, error) {
	d, ok := root.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("%w: checkpoint holds a %s, not a state dict", ErrUnsupported, describe(root))
	}
	if !hasTensor(d) {
		for _, key := range []string{"state_dict", "model", "module"} {
			if i, ok := d.index[key]; ok {
				if inner, ok := d.values[i].(*pyDict); ok && hasTensor(inner) {
					d = inner
					break
				}
			}
		}
	}
	sd := newStateDict()
	for i, k := range d.keys {
		t, ok := d.values[i].(*torchTensor)
		if !ok {
			continue
		}
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%w: state dict key %s is not a string", ErrMalformed, describe(k))
		}
		if err := sd.add(name, t.dtype, t.shape, t.raw); err != nil {
			return nil, err
		}
	}
	return sd, nil
}

func hasTensor(d *pyDict) bool {
	for _, v := range d.values {
		if _, ok := v.(*torchTensor); ok {
			return true
		}
	}
	return false
}

// describe names a pickled value briefly for error messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case string:
		if len(v) > 64 {
			v = v[:64] + "…"
		}
		return fmt.Sprintf("%q", v)
	case int64, bool, float64:
		return fmt.Sprint(v)
	case pyGlobal:
		return v.String()
	case pyTuple:
		return fmt.Sprintf("tuple of %d", len(v))
	case *pyList:
		return fmt.Sprintf("list of %d", len(v.items))
	case *pyDict:
		return fmt.Sprintf("dict of %d", len(v.keys))
	case *torchTensor:
		return "tensor"
	case *torchStorage:
		return "storage"
	}
	return fmt.Sprintf("%T", v)
}
