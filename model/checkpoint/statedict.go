package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"unsafe"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// Sentinel errors; returned errors wrap one of these.
var (
	ErrMalformed   = errors.New("checkpoint: malformed file")
	ErrUnsupported = errors.New("checkpoint: unsupported content")
	ErrNotFound    = errors.New("checkpoint: not found")
	ErrDType       = errors.New("checkpoint: wrong dtype")
)

// DType is a tensor element type, spelled as in safetensors headers.
type DType string

// Element types a StateDict may hold.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	F64  DType = "F64"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the element size in bytes, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// Info describes one stored tensor.
type Info struct {
	Name  string
	DType DType
	Shape []int
}

// entry is a tensor's raw little-endian bytes plus its description.
type entry struct {
	Info
	raw []byte
}

// StateDict is a set of named tensors read from one or more checkpoint files.
// Tensors are decoded lazily; float32 tensors from a memory-mapped safetensors
// file or from a stored entry of a memory-mapped PyTorch zip share the mapping
// (zero copy) and stay valid until Close.
type StateDict struct {
	entries map[string]*entry
	closers []func() error
	// Metadata holds the safetensors __metadata__ strings, if any.
	Metadata map[string]string
}

func newStateDict() *StateDict {
	return &StateDict{entries: map[string]*entry{}, Metadata: map[string]string{}}
}

// Names returns the tensor names in sorted order.
func (sd *StateDict) Names() []string {
	names := make([]string, 0, len(sd.entries))
	for n := range sd.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Len returns the number of tensors.
func (sd *StateDict) Len() int { return len(sd.entries) }

// Info returns the description of a tensor.
func (sd *StateDict) Info(name string) (Info, bool) {
	e, ok := sd.entries[name]
	if !ok {
		return Info{}, false
	}
	return e.Info, true
}

// Has reports whether name is present.
func (sd *StateDict) Has(name string) bool { _, ok := sd.entries[name]; return ok }

// Close releases memory mappings and files. Tensors obtained before Close
// without a copy must not be used afterwards.
func (sd *StateDict) Close() error {
	var errs []error
	for _, c := range sd.closers {
		errs = append(errs, c())
	}
	sd.closers = nil
	return errors.Join(errs...)
}

func (sd *StateDict) add(name string, dt DType, shape []int, raw []byte) error {
	if _, dup := sd.entries[name]; dup {
		return fmt.Errorf("%w: tensor %q appears twice", ErrMalformed, name)
	}
	sd.entries[name] = &entry{Info: Info{Name: name, DType: dt, Shape: shape}, raw: raw}
	return nil
}

// Shared reports whether tensors a and b occupy overlapping bytes, as tied
// weights that a PyTorch checkpoint stores once do.
func (sd *StateDict) Shared(a, b string) bool {
	ea, oka := sd.entries[a]
	eb, okb := sd.entries[b]
	if !oka || !okb || len(ea.raw) == 0 || len(eb.raw) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(&ea.raw[0])), uintptr(unsafe.Pointer(&eb.raw[0]))
	return pa < pb+uintptr(len(eb.raw)) && pb < pa+uintptr(len(ea.raw))
}

func (sd *StateDict) get(name string) (*entry, error) {
	e, ok := sd.entries[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return e, nil
}

// Float32 returns a float32 tensor. F32 data aligned in memory is returned
// without a copy (read-only: do not modify it); F16, BF16 and F64 are converted.
func (sd *StateDict) Float32(name string) (*tensor.Tensor, error) {
	e, err := sd.get(name)
	if err != nil {
		return nil, err
	}
	n := tensor.NumElements(e.Shape)
	out := &tensor.Tensor{Shape: append([]int(nil), e.Shape...)}
	switch e.DType {
	case F32:
		out.Data = bytesAsFloat32(e.raw, n)
	case F16:
		out.Data = make([]float32, n)
		for i := range out.Data {
			out.Data[i] = HalfToFloat32(binary.LittleEndian.Uint16(e.raw[2*i:]))
		}
	case BF16:
		out.Data = make([]float32, n)
		for i := range out.Data {
			out.Data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(e.raw[2*i:])) << 16)
		}
	case F64:
		out.Data = make([]float32, n)
		for i := range out.Data {
			out.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(e.raw[8*i:])))
		}
	default:
		return nil, fmt.Errorf("%w: %q is %s, want a float type", ErrDType, name, e.DType)
	}
	return out, nil
}

// Int64 returns an integer tensor widened to int64 (I64, I32, I16, I8, U8 and
// BOOL are accepted).
func (sd *StateDict) Int64(name string) (*tensor.Int64, error) {
	e, err := sd.get(name)
	if err != nil {
		return nil, err
	}
	n := tensor.NumElements(e.Shape)
	out := &tensor.Int64{Shape: append([]int(nil), e.Shape...), Data: make([]int64, n)}
	for i := range out.Data {
		switch e.DType {
		case I64:
			out.Data[i] = int64(binary.LittleEndian.Uint64(e.raw[8*i:]))
		case I32:
			out.Data[i] = int64(int32(binary.LittleEndian.Uint32(e.raw[4*i:])))
		case I16:
			out.Data[i] = int64(int16(binary.LittleEndian.Uint16(e.raw[2*i:])))
		case I8:
			out.Data[i] = int64(int8(e.raw[i]))
		case U8, Bool:
			out.Data[i] = int64(e.raw[i])
		default:
			return nil, fmt.Errorf("%w: %q is %s, want an integer type", ErrDType, name, e.DType)
		}
	}
	return out, nil
}

// Bool returns a boolean tensor (BOOL, or any integer type as value != 0).
func (sd *StateDict) Bool(name string) (*tensor.Bool, error) {
	it, err := sd.Int64(name)
	if err != nil {
		return nil, err
	}
	out := &tensor.Bool{Shape: it.Shape, Data: make([]bool, len(it.Data))}
	for i, v := range it.Data {
		out.Data[i] = v != 0
	}
	return out, nil
}

// Uint8 returns a U8 tensor's bytes (a copy).
func (sd *StateDict) Uint8(name string) ([]uint8, []int, error) {
	e, err := sd.get(name)
	if err != nil {
		return nil, nil, err
	}
	if e.DType != U8 {
		return nil, nil, fmt.Errorf("%w: %q is %s, want U8", ErrDType, name, e.DType)
	}
	return append([]uint8(nil), e.raw...), append([]int(nil), e.Shape...), nil
}

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf / NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		frac &= 0x3ff
		return math.Float32frombits(sign | e<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
