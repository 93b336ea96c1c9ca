package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/flavabeam/flavabeam/model/internal/modelfile"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// MaxSafetensorsHeader caps the JSON header of a safetensors file (the format's
// own reference implementation uses 100 MB).
const MaxSafetensorsHeader = 100 << 20

// OpenSafetensors memory-maps a safetensors file (falling back to reading it
// when mapping is unavailable) and returns its tensors.
func OpenSafetensors(path string) (*StateDict, error) {
	data, closer, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	sd, err := ParseSafetensors(data)
	if err != nil {
		closer()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sd.closers = append(sd.closers, closer)
	return sd, nil
}

// ParseSafetensors reads a safetensors image held in memory. The returned
// tensors alias data.
func ParseSafetensors(data []byte) (*StateDict, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%w: safetensors file of %d bytes has no header length", ErrMalformed, len(data))
	}
	hlen := binary.LittleEndian.Uint64(data)
	if hlen > MaxSafetensorsHeader {
		return nil, fmt.Errorf("%w: safetensors header of %d bytes exceeds the %d-byte cap", ErrMalformed, hlen, MaxSafetensorsHeader)
	}
	if hlen > uint64(len(data)-8) {
		return nil, fmt.Errorf("%w: safetensors header length %d runs past the end of the %d-byte file", ErrMalformed, hlen, len(data))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+hlen], &header); err != nil {
		return nil, fmt.Errorf("%w: safetensors header: %v", ErrMalformed, err)
	}
	body := data[8+hlen:]
	sd := newStateDict()
	type span struct {
		name       string
		start, end uint64
	}
	var spans []span
	for name, raw := range header {
		if name == "__metadata__" {
			var meta map[string]string
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, fmt.Errorf("%w: safetensors __metadata__: %v", ErrMalformed, err)
			}
			for k, v := range meta {
				sd.Metadata[k] = v
			}
			continue
		}
		var h struct {
			DType   string    `json:"dtype"`
			Shape   []int64   `json:"shape"`
			Offsets [2]uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			return nil, fmt.Errorf("%w: safetensors entry %q: %v", ErrMalformed, name, err)
		}
		dt := DType(h.DType)
		if dt.Size() == 0 {
			return nil, fmt.Errorf("%w: tensor %q has dtype %q", ErrUnsupported, name, h.DType)
		}
		shape, n, err := checkShape(h.Shape)
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrMalformed, name, err)
		}
		start, end := h.Offsets[0], h.Offsets[1]
		if start > end || end > uint64(len(body)) {
			return nil, fmt.Errorf("%w: tensor %q has offsets [%d, %d) outside the %d-byte data section", ErrMalformed, name, start, end, len(body))
		}
		if want := n * uint64(dt.Size()); end-start != want {
			return nil, fmt.Errorf("%w: tensor %q has %d bytes for shape %v of %s (want %d)", ErrMalformed, name, end-start, shape, dt, want)
		}
		spans = append(spans, span{name, start, end})
		if err := sd.add(name, dt, shape, body[start:end:end]); err != nil {
			return nil, err
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return nil, fmt.Errorf("%w: tensors %q and %q overlap", ErrMalformed, spans[i-1].name, spans[i].name)
		}
	}
	return sd, nil
}

// checkShape validates dimensions and returns them as ints with their product.
func checkShape(dims []int64) ([]int, uint64, error) {
	shape := make([]int, len(dims))
	n := uint64(1)
	for i, d := range dims {
		if d < 0 || d > math.MaxInt32 {
			return nil, 0, fmt.Errorf("dimension %d of shape %v out of range", i, dims)
		}
		shape[i] = int(d)
		if d != 0 && n > (1<<46)/uint64(d) {
			return nil, 0, fmt.Errorf("shape %v is too large", dims)
		}
		n *= uint64(d)
	}
	return shape, n, nil
}

// SafetensorsTensor is one tensor to write with WriteSafetensors.
type SafetensorsTensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte // little-endian element bytes
}

// Float32Tensor wraps a float32 tensor for WriteSafetensors.
func Float32Tensor(name string, t *tensor.Tensor) SafetensorsTensor {
	b := make([]byte, 4*len(t.Data))
	for i, v := range t.Data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return SafetensorsTensor{Name: name, DType: F32, Shape: t.Shape, Data: b}
}

// WriteSafetensors writes tensors (in the given order) and metadata in the
// safetensors format.
func WriteSafetensors(w io.Writer, tensors []SafetensorsTensor, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off uint64
	for _, t := range tensors {
		if want := uint64(tensor.NumElements(t.Shape) * t.DType.Size()); want != uint64(len(t.Data)) {
			return fmt.Errorf("checkpoint: tensor %q: %d bytes for shape %v of %s", t.Name, len(t.Data), t.Shape, t.DType)
		}
		header[t.Name] = map[string]any{"dtype": t.DType, "shape": t.Shape, "data_offsets": [2]uint64{off, off + uint64(len(t.Data))}}
		off += uint64(len(t.Data))
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 { // keep the data section 8-byte aligned
		hb = append(hb, ' ')
	}
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(len(hb)))
	if _, err := w.Write(lenb[:]); err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// maxWholeFile caps a checkpoint file read into memory where it cannot be
// mapped: larger than any FLAVA checkpoint (flava-full is 1.4 GB in
// float32) with room for bigger relatives.
const maxWholeFile = 64 << 30

// readWhole reads a regular file into memory (used where mmap is
// unavailable).
func readWhole(path string) ([]byte, func() error, error) {
	b, err := modelfile.ReadFile(path, maxWholeFile)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}
