package kernels

import "math"

var inf32 = float32(math.Inf(1))

// expShiftSumGo is the portable body of Softmax: x[i] = exp(x[i]-shift), with
// the float32 sum of the results.
func expShiftSumGo(x []float32, shift float32) float32 {
	var sum float32
	for j, v := range x {
		e := float32(math.Exp(float64(v - shift)))
		x[j] = e
		sum += e
	}
	return sum
}

func maxSkipNaNGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func scaleGo(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

func addGo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func reluGo(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}
