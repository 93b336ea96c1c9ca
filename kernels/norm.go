package kernels

import (
	"fmt"
	"math"
)

// LayerNorm normalises each of the rows of x (rows×dim) to zero mean and unit
// variance (biased variance, as torch.nn.LayerNorm), then applies gamma and
// beta; eps is added to the variance. dst may alias x. Statistics are
// accumulated in float64, which keeps the result within float32 rounding of
// PyTorch's. Rows are spread over the kernel pool; it does not allocate.
func LayerNorm(dst, x []float32, rows, dim int, gamma, beta []float32, eps float32) {
	if len(gamma) != dim || len(beta) != dim || len(x) < rows*dim || len(dst) < rows*dim {
		panic(fmt.Sprintf("kernels: LayerNorm %dx%d gamma %d beta %d", rows, dim, len(gamma), len(beta)))
	}
	runRows(rows, max(1, 4096/max(dim, 1)), rowJob{op: opLayerNorm, dst: dst, x: x, dim: dim, gamma: gamma, beta: beta, eps: eps})
}

// AddLayerNorm is the transformer's residual step in one pass: it sets
// sum = a + b (the new residual stream, rows×dim) and dst = LayerNorm(sum).
// sum may alias a or b; dst may alias sum only if the residual is not needed.
func AddLayerNorm(dst, sum, a, b []float32, rows, dim int, gamma, beta []float32, eps float32) {
	n := rows * dim
	if len(gamma) != dim || len(beta) != dim || len(a) < n || len(b) < n || len(sum) < n || len(dst) < n {
		panic(fmt.Sprintf("kernels: AddLayerNorm %dx%d gamma %d beta %d", rows, dim, len(gamma), len(beta)))
	}
	runRows(rows, max(1, 4096/max(dim, 1)), rowJob{op: opAddLayerNorm, dst: dst, sum: sum, x: a, y: b, dim: dim, gamma: gamma, beta: beta, eps: eps})
}

// layerNormRow normalises one row: one float64 pass for the statistics
// (shifted by the first value, so a large mean does not cancel the
// variance), one float32 pass for the output.
func layerNormRow(out, in, gamma, beta []float32, eps float32) {
	dim := len(in)
	out = out[:dim]
	gamma, beta = gamma[:dim], beta[:dim]
	k := float64(in[0])
	sum, sq := layerNormStats(in, k)
	n := float64(dim)
	ds := sum / n
	variance := max(sq/n-ds*ds, 0)
	mean := float32(k + ds)
	inv := float32(1 / math.Sqrt(variance+float64(eps)))
	layerNormApply(out, in, gamma, beta, mean, inv)
}

// layerNormStatsGo returns Σ(v−shift) and Σ(v−shift)² in float64.
func layerNormStatsGo(in []float32, shift float64) (s, q float64) {
	var s0, s1, q0, q1 float64
	j := 0
	for ; j+1 < len(in); j += 2 {
		d0, d1 := float64(in[j])-shift, float64(in[j+1])-shift
		s0 += d0
		s1 += d1
		q0 += d0 * d0
		q1 += d1 * d1
	}
	if j < len(in) {
		d := float64(in[j]) - shift
		s0 += d
		q0 += d * d
	}
	return s0 + s1, q0 + q1
}

func layerNormApplyGo(out, in, gamma, beta []float32, mean, inv float32) {
	out, gamma, beta = out[:len(in)], gamma[:len(in)], beta[:len(in)]
	for j, v := range in {
		out[j] = (v-mean)*inv*gamma[j] + beta[j]
	}
}

// layerNormRowRef is the two-pass float64 reference.
func layerNormRowRef(out, in, gamma, beta []float32, eps float32) {
	dim := len(in)
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

// Softmax replaces each row of x (rows×cols) by its softmax, subtracting the
// row maximum first. A row of all -Inf becomes all NaN, as in PyTorch. The
// exponentials run eight at a time on amd64 (Cephes expf, ~1 ulp; results
// below float32's smallest normal, 2^-126, flush to zero). It does not
// allocate.
func Softmax(x []float32, rows, cols int) {
	if len(x) < rows*cols {
		panic(fmt.Sprintf("kernels: Softmax %dx%d over %d values", rows, cols, len(x)))
	}
	runRows(rows, max(1, 8192/max(cols, 1)), rowJob{op: opSoftmax, x: x, dim: cols})
}

func softmaxRow(row []float32) {
	if len(row) == 0 {
		return
	}
	scale(row, softmaxRowUnnormalised(row))
}

// softmaxRowUnnormalised replaces row by exp(row − max) and returns the
// reciprocal of their sum: the caller applies it (Attention folds it into
// the 64-wide output row instead of the seqK-wide scores).
func softmaxRowUnnormalised(row []float32) float32 {
	return 1 / expShiftSum(row, maxSkipNaN(row))
}

// softmaxRowRef is the float64-exp reference.
func softmaxRowRef(row []float32) {
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

type rowOp int

const (
	opLayerNorm rowOp = iota
	opAddLayerNorm
	opSoftmax
)

// rowJob runs a row-wise kernel over the pool without allocating.
type rowJob struct {
	op             rowOp
	dst, sum, x, y []float32
	dim            int
	gamma, beta    []float32
	eps            float32
}

var rowJobPool freeList[rowJob]

func runRows(rows, grain int, j rowJob) {
	if rows <= 0 || j.dim <= 0 {
		return
	}
	if rows < 2*grain || Threads() == 1 {
		j.run(0, rows)
		return
	}
	p := rowJobPool.get()
	*p = j
	parallelRun(rows, grain, p)
	*p = rowJob{}
	rowJobPool.put(p)
}

func (j *rowJob) run(lo, hi int) {
	d := j.dim
	for r := lo; r < hi; r++ {
		switch j.op {
		case opLayerNorm:
			layerNormRow(j.dst[r*d:(r+1)*d], j.x[r*d:(r+1)*d], j.gamma, j.beta, j.eps)
		case opAddLayerNorm:
			s := j.sum[r*d : (r+1)*d]
			a, b := j.x[r*d:(r+1)*d], j.y[r*d:(r+1)*d]
			for i := range s {
				s[i] = a[i] + b[i]
			}
			layerNormRow(j.dst[r*d:(r+1)*d], s, j.gamma, j.beta, j.eps)
		case opSoftmax:
			softmaxRow(j.x[r*d : (r+1)*d])
		}
	}
}
