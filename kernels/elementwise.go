package kernels

// elementwiseGrain is the smallest chunk of an elementwise kernel worth
// handing to another core.
const elementwiseGrain = 1 << 15

type elementwiseOp int

const (
	opGELU elementwiseOp = iota
	opBiasGELU
)

// elementwiseJob spreads an elementwise op over the pool without allocating;
// with a bias, chunks are whole rows of cols values.
type elementwiseJob struct {
	x, bias []float32
	cols    int
	op      elementwiseOp
}

var elementwisePool freeList[elementwiseJob]

func (j *elementwiseJob) run(lo, hi int) {
	switch j.op {
	case opGELU:
		x := j.x[lo:hi]
		if !geluVec(x) {
			geluRef(x)
		}
	case opBiasGELU:
		addBiasGELURows(j.x[lo*j.cols:hi*j.cols], j.bias, j.cols)
	}
}

func runElementwise(x, bias []float32, cols int, op elementwiseOp) {
	j := elementwisePool.get()
	*j = elementwiseJob{x: x, bias: bias, cols: cols, op: op}
	if bias != nil {
		parallelRun(len(x)/cols, max(1, elementwiseGrain/cols), j)
	} else {
		parallelRun(len(x), elementwiseGrain, j)
	}
	*j = elementwiseJob{}
	elementwisePool.put(j)
}
