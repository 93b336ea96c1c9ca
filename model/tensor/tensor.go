package tensor

import (
	"fmt"
	"math"
	"slices"
)

// Tensor is a dense row-major float32 tensor.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Int64 is a dense row-major int64 tensor (token ids, labels, codebook ids).
type Int64 struct {
	Shape []int
	Data  []int64
}

// Bool is a dense row-major boolean tensor (masks).
type Bool struct {
	Shape []int
	Data  []bool
}

// NumElements returns the product of the dimensions of shape (1 for a scalar).
// It panics on a negative dimension or on overflow: shapes come from code or
// from validated checkpoint headers, never straight from untrusted bytes.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		if d != 0 && n > math.MaxInt/d {
			panic(fmt.Sprintf("tensor: shape %v overflows int", shape))
		}
		n *= d
	}
	return n
}

// New returns a zero-filled float32 tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, NumElements(shape))}
}

// FromData wraps data (not copied) with shape; it panics if the sizes differ.
func FromData(data []float32, shape ...int) *Tensor {
	if NumElements(shape) != len(data) {
		panic(fmt.Sprintf("tensor: %d values for shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// NewInt64 returns a zero-filled int64 tensor of the given shape.
func NewInt64(shape ...int) *Int64 {
	return &Int64{Shape: append([]int(nil), shape...), Data: make([]int64, NumElements(shape))}
}

// NewBool returns an all-false bool tensor of the given shape.
func NewBool(shape ...int) *Bool {
	return &Bool{Shape: append([]int(nil), shape...), Data: make([]bool, NumElements(shape))}
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Clone returns a deep copy.
func (t *Int64) Clone() *Int64 {
	return &Int64{Shape: append([]int(nil), t.Shape...), Data: append([]int64(nil), t.Data...)}
}

// Clone returns a deep copy.
func (t *Bool) Clone() *Bool {
	return &Bool{Shape: append([]int(nil), t.Shape...), Data: append([]bool(nil), t.Data...)}
}

// Reshape returns a tensor sharing t's data with a new shape of the same size.
func (t *Tensor) Reshape(shape ...int) *Tensor { return FromData(t.Data, shape...) }

// Row returns the i-th slice along the first dimension, sharing memory.
func (t *Tensor) Row(i int) []float32 {
	if len(t.Shape) == 0 {
		panic("tensor: Row of a scalar")
	}
	stride := len(t.Data) / max(t.Shape[0], 1)
	return t.Data[i*stride : (i+1)*stride]
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool { return slices.Equal(a, b) }

// String gives the shape only; tensors are too large to print.
func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

// MaxAbsDiff returns the largest |a-b| and its flat index. NaN in either input
// counts as an infinite difference. It panics on a length mismatch.
func MaxAbsDiff(a, b []float32) (float64, int) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("tensor: MaxAbsDiff of %d and %d values", len(a), len(b)))
	}
	worst, at := 0.0, -1
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		if d > worst || at < 0 {
			worst, at = d, i
		}
	}
	return worst, at
}

// AllClose reports whether |got-want| <= atol + rtol*|want| elementwise, like
// torch.allclose, and returns the first failing index (-1 when all pass).
func AllClose(got, want []float32, atol, rtol float64) (bool, int) {
	if len(got) != len(want) {
		return false, 0
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.IsNaN(w) || math.Abs(g-w) > atol+rtol*math.Abs(w) {
			return false, i
		}
	}
	return true, -1
}
