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

// GELU applies the exact (erf) GELU in place.
func GELU(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
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

// ReLU applies max(x, 0) in place (NaN stays NaN).
func ReLU(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}
