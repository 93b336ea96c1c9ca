package kernels

import "fmt"

// Epilogue is what LinearPackedEpilogue and LinearPackedBF16Epilogue do with
// the bias around the product. Each thread of a split product applies it to
// its own block of C right after (or, for BiasResidual, right before) its
// share of the GEMM, so a Linear costs one parallel section instead of two
// (the product, then a pass over C): on a 2-core machine a batch-1 ViT layer
// has some 15 sections, and each costs a worker wake-up. The arithmetic is
// the one of the separate passes, element by element, so the results are
// bit-identical to the unfused calls (TestLinearPackedEpilogueBitIdentical).
type Epilogue uint8

const (
	// BiasAfter: dst = x·Wᵀ + bias (LinearPacked, then AddBias).
	BiasAfter Epilogue = iota
	// BiasGELU: dst = GELU(x·Wᵀ + bias), the exact GELU (the product, then
	// AddBiasGELU).
	BiasGELU
	// BiasResidual: dst = x·Wᵀ + (dst + bias), a residual connection: the
	// bias added to dst first, then the product accumulated onto it with
	// beta 1 (AddBias, then SgemmPacked with beta 1).
	BiasResidual
)

func (e Epilogue) String() string {
	switch e {
	case BiasAfter:
		return "bias"
	case BiasGELU:
		return "bias+gelu"
	case BiasResidual:
		return "bias+residual"
	}
	return fmt.Sprintf("Epilogue(%d)", uint8(e))
}

// epilogue is an Epilogue with its bias, as the split products carry it.
type epilogue struct {
	bias []float32
	kind Epilogue
}

// pre applies the part of the epilogue that comes before the product to the
// m×(j1-j0) block of C at c (columns j0..j1 of the bias).
func (e *epilogue) pre(c []float32, ldc, m, j0, j1 int) {
	if e == nil || e.kind != BiasResidual {
		return
	}
	b := e.bias[j0:j1]
	for r := 0; r < m; r++ {
		row := c[r*ldc : r*ldc+len(b)]
		addVec(row, row, b)
	}
}

// post applies the part that comes after the product.
func (e *epilogue) post(c []float32, ldc, m, j0, j1 int) {
	if e == nil || e.kind == BiasResidual {
		return
	}
	b := e.bias[j0:j1]
	for r := 0; r < m; r++ {
		row := c[r*ldc : r*ldc+len(b)]
		if e.kind == BiasAfter {
			addVec(row, row, b)
		} else {
			addBiasGELURow(row, b)
		}
	}
}

func checkEpilogue(name string, rows int, bias []float32, out int, e Epilogue) {
	switch {
	case rows < 0:
		panic(fmt.Sprintf("kernels: %s negative rows=%d", name, rows))
	case len(bias) != out:
		panic(fmt.Sprintf("kernels: %s bias of %d values for %d outputs", name, len(bias), out))
	case e > BiasResidual:
		panic(fmt.Sprintf("kernels: %s unknown %v", name, e))
	}
}

// LinearPackedEpilogue computes a Linear with the weight pre-packed and the
// bias handled as e says: x is rows×w.In(), dst rows×w.Out() (read only for
// BiasResidual), bias w.Out() values. Bit-identical to LinearPacked (+
// AddBiasGELU for BiasGELU; AddBias then SgemmPacked with beta 1 for
// BiasResidual). In steady state it does not allocate.
func LinearPackedEpilogue(dst, x []float32, rows int, w *PackedWeights, bias []float32, e Epilogue) {
	checkEpilogue("LinearPackedEpilogue", rows, bias, w.out, e)
	beta := float32(0)
	if e == BiasResidual {
		beta = 1
	}
	n, k := w.out, w.in
	if rows > 0 && (len(x) < rows*k || len(dst) < rows*n) {
		panic(fmt.Sprintf("kernels: LinearPackedEpilogue %dx%d -> %d: x %d, dst %d values", rows, k, n, len(x), len(dst)))
	}
	ep := epiPool.get()
	*ep = epilogue{bias: bias, kind: e}
	sgemmSplitEpi(false, true, rows, n, k, 1, x, k, nil, 0, w, beta, dst, n, ep)
	*ep = epilogue{}
	epiPool.put(ep)
}

var epiPool freeList[epilogue]

// LinearPackedBF16Epilogue is LinearPackedEpilogue on a bf16 packed weight:
// bit-identical to LinearPackedBF16 (+ AddBiasGELU for BiasGELU; AddBias
// then SgemmPackedBF16 with beta 1 for BiasResidual).
func LinearPackedBF16Epilogue(dst, x []float32, rows int, w *PackedWeightsBF16, bias []float32, e Epilogue) {
	checkEpilogue("LinearPackedBF16Epilogue", rows, bias, w.out, e)
	beta := float32(0)
	if e == BiasResidual {
		beta = 1
	}
	ep := epiPool.get()
	*ep = epilogue{bias: bias, kind: e}
	sgemmPackedBF16Epi(rows, x, w.in, w, beta, dst, w.out, ep)
	*ep = epilogue{}
	epiPool.put(ep)
}
