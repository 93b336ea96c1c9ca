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
// heads. Batch items and heads are spread over the kernel pool.
func Attention(dst, q, k, v []float32, batch, seqQ, seqK, heads, headDim int, mask []float32, scale float32) {
	width := heads * headDim
	if len(q) < batch*seqQ*width || len(dst) < batch*seqQ*width || len(k) < batch*seqK*width || len(v) < batch*seqK*width ||
		(mask != nil && len(mask) < batch*seqK) {
		panic(fmt.Sprintf("kernels: Attention b=%d sq=%d sk=%d h=%d d=%d with q %d k %d v %d dst %d mask %d",
			batch, seqQ, seqK, heads, headDim, len(q), len(k), len(v), len(dst), len(mask)))
	}
	ParallelFor(batch*heads, 1, func(lo, hi int) {
		scores := make([]float32, seqQ*seqK)
		for u := lo; u < hi; u++ {
			b, h := u/heads, u%heads
			qb := q[b*seqQ*width+h*headDim:]
			kb := k[b*seqK*width+h*headDim:]
			vb := v[b*seqK*width+h*headDim:]
			ob := dst[b*seqQ*width+h*headDim:]
			// scores = Q·Kᵀ (single-threaded inside: the pool is already busy with heads)
			sgemmRef(false, true, 0, seqQ, seqK, headDim, scale, qb, width, kb, width, 0, scores, seqK)
			for i := 0; i < seqQ; i++ {
				row := scores[i*seqK : (i+1)*seqK]
				if mask != nil {
					mb := mask[b*seqK : (b+1)*seqK]
					for j := range row {
						row[j] += mb[j]
					}
				}
				softmaxRow(row)
			}
			sgemmRef(false, false, 0, seqQ, headDim, seqK, 1, scores, seqK, vb, width, 0, ob, width)
		}
	})
}
