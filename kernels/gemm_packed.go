package kernels

import "fmt"

// PackedWeights is a Linear weight (PyTorch's out×in layout) packed once into
// the panels Sgemm's loop nest feeds its micro-kernel, so that products with
// it skip packing B on every call. A profile of the FLAVA text encoder at
// 8×16 tokens (M = 128 rows per Linear) had that packing at ~13 % of forward
// time; for M = 197 it was several %.
//
// The layout is, for each gemmKC-deep slice of the input dimension in order,
// every gemmNR-column panel stored k-major (gemmNR values per k step), the
// last panel zero-padded: exactly what packB(transB=true) writes for the same
// slice. It takes in·⌈out/16⌉·16 floats, the size of the weight itself (plus
// at most 15 padded columns).
//
// A PackedWeights is a copy: changing the source weight afterwards does not
// change it (pack again). It is read-only after PackWeights and safe for
// concurrent use.
type PackedWeights struct {
	out, in int
	stride  int       // out rounded up to a multiple of gemmNR
	data    []float32 // slice pc (a multiple of gemmKC) at pc·stride, kb·stride floats
}

// PackWeights packs w (out×in, row-major, PyTorch's nn.Linear layout) for
// SgemmPacked and LinearPacked.
func PackWeights(w []float32, out, in int) *PackedWeights {
	if out < 0 || in < 0 || len(w) < out*in {
		panic(fmt.Sprintf("kernels: PackWeights %dx%d from %d values", out, in, len(w)))
	}
	stride := (out + gemmNR - 1) / gemmNR * gemmNR
	p := &PackedWeights{out: out, in: in, stride: stride, data: make([]float32, in*stride)}
	if out == 0 {
		return p
	}
	for pc := 0; pc < in; pc += gemmKC {
		kb := min(gemmKC, in-pc)
		packB(p.data[pc*stride:pc*stride+kb*stride], true, w, in, pc, kb, 0, out)
	}
	return p
}

// Out is the number of output features (rows of the source weight).
func (p *PackedWeights) Out() int { return p.out }

// In is the number of input features (columns of the source weight).
func (p *PackedWeights) In() int { return p.in }

// Bytes is the memory the packed copy holds.
func (p *PackedWeights) Bytes() int64 { return 4 * int64(len(p.data)) }

// SgemmPacked computes C = alpha·A·Wᵀ + beta·C, Sgemm(false, true, ...) with
// the weight pre-packed: A is m×w.In() (row stride lda), C is m×w.Out() (row
// stride ldc). When beta is 0, C is not read. The result is bit-identical to
// Sgemm(false, true, m, w.Out(), w.In(), alpha, a, lda, weight, w.In(), beta,
// c, ldc) on the weight w was packed from: same micro-kernel, same kc slices,
// same order, same split over the kernel pool. In steady state it does not
// allocate.
func SgemmPacked(m int, alpha float32, a []float32, lda int, w *PackedWeights, beta float32, c []float32, ldc int) {
	n, k := w.out, w.in
	switch {
	case m < 0:
		panic(fmt.Sprintf("kernels: SgemmPacked negative m=%d", m))
	case m > 0 && k > 0 && (lda < k || len(a) < (m-1)*lda+k):
		panic(fmt.Sprintf("kernels: SgemmPacked A %dx%d lda=%d len=%d", m, k, lda, len(a)))
	case m > 0 && n > 0 && (ldc < n || len(c) < (m-1)*ldc+n):
		panic(fmt.Sprintf("kernels: SgemmPacked C %dx%d ldc=%d len=%d", m, n, ldc, len(c)))
	}
	sgemmSplit(false, true, m, n, k, alpha, a, lda, nil, 0, w, beta, c, ldc)
}

// LinearPacked computes dst = x·Wᵀ + bias like Linear, with the weight
// pre-packed: x is rows×w.In(), dst is rows×w.Out(), bias has w.Out() values
// or is nil. Bit-identical to Linear on the source weight.
func LinearPacked(dst, x []float32, rows int, w *PackedWeights, bias []float32) {
	SgemmPacked(rows, 1, x, w.in, w, 0, dst, w.out)
	if bias != nil {
		AddBias(dst, rows, w.out, bias)
	}
}
