package kernels

import (
	"fmt"
	"math"
)

// Activation names a pointwise nonlinearity by its Hugging Face config name.
type Activation string

// The activations FLAVA configs may name (transformers' ACT2FN keys).
const (
	ActGELU      Activation = "gelu"     // exact, 0.5·x·(1+erf(x/√2))
	ActGELUNew   Activation = "gelu_new" // tanh approximation
	ActGELUTanh  Activation = "gelu_pytorch_tanh"
	ActReLU      Activation = "relu"
	ActQuickGELU Activation = "quick_gelu" // x·σ(1.702x)
	ActSiLU      Activation = "silu"
	ActSwish     Activation = "swish" // alias of silu
)

// ParseActivation checks that name is a supported activation.
func ParseActivation(name string) (Activation, error) {
	switch a := Activation(name); a {
	case ActGELU, ActGELUNew, ActGELUTanh, ActReLU, ActQuickGELU, ActSiLU, ActSwish:
		return a, nil
	}
	return "", fmt.Errorf("kernels: unsupported activation %q (want gelu, gelu_new, gelu_pytorch_tanh, relu, quick_gelu or silu)", name)
}

// Apply applies the activation to x in place. It panics on an unknown name;
// validate names with ParseActivation first.
func (a Activation) Apply(x []float32) {
	switch a {
	case ActGELU:
		GELU(x)
	case ActGELUNew, ActGELUTanh:
		GELUTanh(x)
	case ActReLU:
		ReLU(x)
	case ActQuickGELU:
		QuickGELU(x)
	case ActSiLU, ActSwish:
		SiLU(x)
	default:
		panic(fmt.Sprintf("kernels: unknown activation %q", string(a)))
	}
}

// GELU applies the exact (erf) GELU in place. On amd64 with AVX2+FMA it runs
// a vectorised float32 erfc within 1e-6 relative of geluRef; large slices are
// split over the kernel pool. It does not allocate.
func GELU(x []float32) {
	if len(x) >= elementwiseGrain*2 && Threads() > 1 {
		runElementwise(x, nil, 0, opGELU)
		return
	}
	if !geluVec(x) {
		geluRef(x)
	}
}

// AddBiasGELU sets x[r][j] = gelu(x[r][j] + bias[j]) for the rows×cols matrix
// x in one pass: nn.Linear's bias fused with the intermediate activation.
func AddBiasGELU(x []float32, rows, cols int, bias []float32) {
	if len(bias) != cols || len(x) < rows*cols {
		panic(fmt.Sprintf("kernels: AddBiasGELU %dx%d with %d-bias over %d values", rows, cols, len(bias), len(x)))
	}
	if rows*cols >= elementwiseGrain*2 && Threads() > 1 {
		runElementwise(x[:rows*cols], bias, cols, opBiasGELU)
		return
	}
	addBiasGELURows(x[:rows*cols], bias, cols)
}

func addBiasGELURows(x, bias []float32, cols int) {
	for r := 0; r+cols <= len(x); r += cols {
		addBiasGELURow(x[r:r+cols], bias)
	}
}

// addBiasGELURow sets row[j] = GELU(row[j] + bias[j]): the vector kernel
// where the CPU has one, else the float64 reference. Element-wise, so any
// split of a row gives the same bits.
func addBiasGELURow(row, bias []float32) {
	if !biasGeluVec(row, bias) {
		for j := range row {
			row[j] += bias[j]
		}
		geluRef(row)
	}
}

// geluRef is the float64 reference: 0.5·x·(1+erf(x/√2)) written as
// 0.5·x·erfc(−x/√2), the same function without the cancellation of 1+erf for
// negative x (math.Erf's form loses all digits below x ≈ −8).
func geluRef(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * math.Erfc(-float64(v)/math.Sqrt2))
	}
}

// GELUTanh applies the tanh approximation of GELU in place.
func GELUTanh(x []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, v := range x {
		f := float64(v)
		x[i] = float32(0.5 * f * (1 + math.Tanh(c*(f+0.044715*f*f*f))))
	}
}

// QuickGELU applies x·sigmoid(1.702·x) in place.
func QuickGELU(x []float32) {
	for i, v := range x {
		x[i] = float32(float64(v) / (1 + math.Exp(-1.702*float64(v))))
	}
}

// SiLU applies x·sigmoid(x) in place.
func SiLU(x []float32) {
	for i, v := range x {
		x[i] = float32(float64(v) / (1 + math.Exp(-float64(v))))
	}
}

// ReLU applies max(x, 0) in place (NaN stays NaN, −0 stays −0).
func ReLU(x []float32) { reluVec(x) }
