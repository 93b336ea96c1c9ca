package kernels

import "fmt"

// Attention computes multi-head scaled dot-product attention the way Hugging
// Face's BERT-style self-attention does, without materialising per-head
// copies: for every batch item b and head h,
//
//	dst_bh = softmax(Q_bh·K_bhᵀ·scale + mask_b) · V_bh
//
// q and dst are batch×seqQ×(heads·headDim); k and v are batch×seqK×(heads·headDim)
// (the layout nn.Linear produces), head h occupying columns
// [h·headDim, (h+1)·headDim). mask is nil or batch×seqK additive values (0 for
// attended keys, a large negative number such as float32's lowest for masked
// ones, as transformers' extended attention mask), broadcast over queries and
// heads. Batch items and heads are spread over the kernel pool; Q·Kᵀ and
// P·V run through the packed SGEMM and scratch is pooled, so steady-state
// calls do not allocate.
func Attention(dst, q, k, v []float32, batch, seqQ, seqK, heads, headDim int, mask []float32, scale float32) {
	width := heads * headDim
	if len(q) < batch*seqQ*width || len(dst) < batch*seqQ*width || len(k) < batch*seqK*width || len(v) < batch*seqK*width ||
		(mask != nil && len(mask) < batch*seqK) {
		panic(fmt.Sprintf("kernels: Attention b=%d sq=%d sk=%d h=%d d=%d with q %d k %d v %d dst %d mask %d",
			batch, seqQ, seqK, heads, headDim, len(q), len(k), len(v), len(dst), len(mask)))
	}
	if batch == 0 || seqQ == 0 || heads == 0 || headDim == 0 {
		return
	}
	if seqK == 0 { // an empty weighted sum
		clear(dst[:batch*seqQ*width])
		return
	}
	j := attentionPool.get()
	*j = attentionJob{dst: dst, q: q, k: k, v: v, mask: mask, batch: batch, seqQ: seqQ, seqK: seqK, heads: heads, headDim: headDim, scale: scale}
	parallelRun(batch*heads, 1, j)
	*j = attentionJob{}
	attentionPool.put(j)
}

// attentionJob is one Attention call; each pool chunk takes a run of
// (batch, head) units and reuses one scores buffer and one set of GEMM
// packing buffers for all of them, so steady-state calls do not allocate.
type attentionJob struct {
	dst, q, k, v, mask                []float32
	batch, seqQ, seqK, heads, headDim int
	scale                             float32
}

var (
	attentionPool freeList[attentionJob]
	scoresPool    freeList[[]float32]
)

func (j *attentionJob) run(lo, hi int) {
	seqQ, seqK, headDim := j.seqQ, j.seqK, j.headDim
	width := j.heads * headDim
	sp := scoresPool.get()
	if cap(*sp) < seqQ*seqK+seqQ {
		*sp = make([]float32, seqQ*seqK+seqQ)
	}
	scores := (*sp)[:seqQ*seqK]
	invs := (*sp)[seqQ*seqK : seqQ*seqK+seqQ]
	buf := gemmBufPool.get()
	for u := lo; u < hi; u++ {
		b, h := u/j.heads, u%j.heads
		qb := j.q[b*seqQ*width+h*headDim:]
		ob := j.dst[b*seqQ*width+h*headDim:]
		kb := j.k[b*seqK*width+h*headDim:]
		vb := j.v[b*seqK*width+h*headDim:]
		// scores = scale·Q·Kᵀ; the pool is already busy with heads, so the
		// GEMMs run serially here.
		sgemmSerial(false, true, seqQ, seqK, headDim, j.scale, qb, width, kb, width, 0, scores, seqK, buf)
		var mb []float32
		if j.mask != nil {
			mb = j.mask[b*seqK : (b+1)*seqK]
		}
		for i := 0; i < seqQ; i++ {
			row := scores[i*seqK : (i+1)*seqK]
			for c, mv := range mb {
				row[c] += mv
			}
			invs[i] = softmaxRowUnnormalised(row)
		}
		// out = P·V with P unnormalised; each 64-wide output row then takes
		// its softmax denominator (cheaper than scaling seqK-wide P rows).
		sgemmSerial(false, false, seqQ, headDim, seqK, 1, scores, seqK, vb, width, 0, ob, width, buf)
		for i, inv := range invs {
			scale(ob[i*width:i*width+headDim], inv)
		}
	}
	gemmBufPool.put(buf)
	scoresPool.put(sp)
}

// attentionRef is the plain-Go reference of Attention.
func attentionRef(dst, q, k, v []float32, batch, seqQ, seqK, heads, headDim int, mask []float32, scale float32) {
	width := heads * headDim
	scores := make([]float32, seqQ*seqK)
	for u := 0; u < batch*heads; u++ {
		b, h := u/heads, u%heads
		qb := q[b*seqQ*width+h*headDim:]
		kb := k[b*seqK*width+h*headDim:]
		vb := v[b*seqK*width+h*headDim:]
		ob := dst[b*seqQ*width+h*headDim:]
		sgemmRef(false, true, 0, seqQ, seqK, headDim, scale, qb, width, kb, width, 0, scores, seqK)
		for i := 0; i < seqQ; i++ {
			row := scores[i*seqK : (i+1)*seqK]
			if mask != nil {
				mb := mask[b*seqK : (b+1)*seqK]
				for j := range row {
					row[j] += mb[j]
				}
			}
			softmaxRowRef(row)
		}
		sgemmRef(false, false, 0, seqQ, headDim, seqK, 1, scores, seqK, vb, width, 0, ob, width)
	}
}
