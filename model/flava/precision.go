package flava

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/flavabeam/flavabeam/kernels"
)

// Precision is the arithmetic of a model's Linear products (see "Precision"
// in the package doc).
type Precision uint8

const (
	// PrecisionF32 is float32 throughout: the default, and the precision
	// the parity fixtures are checked at.
	PrecisionF32 Precision = iota
	// PrecisionBF16 rounds the weights and the activations entering every
	// Linear product to bfloat16 (round to nearest even) and accumulates in
	// float32; everything else stays float32.
	PrecisionBF16
)

// ErrBF16Unsupported is returned by SetPrecision(PrecisionBF16) on a CPU
// (or build) without native bf16 products.
var ErrBF16Unsupported = errors.New("flava: bf16 precision needs a CPU with AVX512_BF16 (VDPBF16PS) and an amd64 build without the purego tag; this one has neither, use f32")

// String returns "f32" or "bf16".
func (p Precision) String() string {
	switch p {
	case PrecisionF32:
		return "f32"
	case PrecisionBF16:
		return "bf16"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// ParsePrecision reads "f32" (also "fp32", "float32", and "" for the
// default) or "bf16" (also "bfloat16"), case-insensitively.
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "f32", "fp32", "float32":
		return PrecisionF32, nil
	case "bf16", "bfloat16":
		return PrecisionBF16, nil
	}
	return 0, fmt.Errorf("flava: unknown precision %q (want f32 or bf16)", s)
}

// BF16Supported reports whether SetPrecision(PrecisionBF16) will succeed
// on this CPU.
func BF16Supported() bool { return kernels.BF16Native() || bf16Emulation }

// bf16Emulation lets SetPrecision accept bf16 without native instructions,
// on the plain-Go emulation (about 1 GFLOP/s, far too slow to serve; the
// tests use it so that the bf16 accuracy checks run on every CPU).
var bf16Emulation = false

// SetPrecision sets the precision of every Linear of m (see "Precision" in
// the package doc). bf16 is refused with ErrBF16Unsupported on a CPU
// without native bf16 products. The packed copies of the previous
// precision are dropped; the new ones are packed lazily. bf16 products
// always run on a packed copy (SetPackedWeights affects float32 only).
// Linears built as struct literals, outside this package's constructors,
// have no packing state and stay float32. Call it when no forward pass is
// running.
func (m *Model) SetPrecision(p Precision) error { return setPrecision(m, p) }

// SetPrecision is Model.SetPrecision for the image encoder alone.
func (m *ImageModel) SetPrecision(p Precision) error { return setPrecision(m, p) }

// SetPrecision is Model.SetPrecision for the text encoder alone.
func (m *TextModel) SetPrecision(p Precision) error { return setPrecision(m, p) }

// SetPrecision is Model.SetPrecision for the multimodal encoder alone.
func (m *MultimodalModel) SetPrecision(p Precision) error { return setPrecision(m, p) }

// SetPrecision is Model.SetPrecision for the FlavaModel and the pretraining
// heads (the image codebook keeps its own precision: ImageCodebook.SetPrecision).
func (m *ForPreTraining) SetPrecision(p Precision) error { return setPrecision(m, p) }

// checkPrecision reports whether p is known and this CPU can run it.
func checkPrecision(p Precision) error {
	switch p {
	case PrecisionF32:
	case PrecisionBF16:
		if !BF16Supported() {
			return ErrBF16Unsupported
		}
	default:
		return fmt.Errorf("flava: unknown precision %v", p)
	}
	return nil
}

func setPrecision(v any, p Precision) error {
	if err := checkPrecision(p); err != nil {
		return err
	}
	visitLinears(reflect.ValueOf(v), func(l *Linear) { l.setBF16(p == PrecisionBF16) })
	return nil
}
