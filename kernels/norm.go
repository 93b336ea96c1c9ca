package kernels

import (
	"fmt"
	"math"
)

// LayerNorm normalises each of the rows of x (rows×dim) to zero mean and unit
// variance (biased variance, as torch.nn.LayerNorm), then applies gamma and
// beta; eps is added to the variance. dst may alias x. Statistics are
// accumulated in float64, which keeps the result within float32 rounding of
// PyTorch's.
func LayerNorm(dst, x []float32, rows, dim int, gamma, beta []float32, eps float32) {
	if len(gamma) != dim || len(beta) != dim || len(x) < rows*dim || len(dst) < rows*dim {
		panic(fmt.Sprintf("kernels: LayerNorm %dx%d gamma %d beta %d", rows, dim, len(gamma), len(beta)))
	}
	ParallelFor(rows, max(1, 4096/max(dim, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			in := x[r*dim : (r+1)*dim]
			out := dst[r*dim : (r+1)*dim]
			var sum float64
			for _, v := range in {
				sum += float64(v)
			}
			mean := sum / float64(dim)
			var ss float64
			for _, v := range in {
				d := float64(v) - mean
				ss += d * d
			}
			inv := 1 / math.Sqrt(ss/float64(dim)+float64(eps))
			for j, v := range in {
				out[j] = float32((float64(v)-mean)*inv)*gamma[j] + beta[j]
			}
		}
	})
}

// Softmax replaces each row of x (rows×cols) by its softmax, subtracting the
// row maximum first. A row of all -Inf becomes all NaN, as in PyTorch.
func Softmax(x []float32, rows, cols int) {
	if len(x) < rows*cols {
		panic(fmt.Sprintf("kernels: Softmax %dx%d over %d values", rows, cols, len(x)))
	}
	for r := 0; r < rows; r++ {
		softmaxRow(x[r*cols : (r+1)*cols])
	}
}

func softmaxRow(row []float32) {
	if len(row) == 0 {
		return
	}
	m := float32(math.Inf(-1))
	for _, v := range row {
		if v > m {
			m = v
		}
	}
	var sum float32
	for j, v := range row {
		e := float32(math.Exp(float64(v - m)))
		row[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range row {
		row[j] *= inv
	}
}
