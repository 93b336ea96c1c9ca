package imageproc

// SIMD layouts of a pass's fixed-point weights, for the AVX2 kernels in
// resample_amd64.s. The kernels accumulate in int32 with VPMADDWD (pairs of
// uint8 samples × int16 weights); the pure-Go passes accumulate in int, and
// both give the same bytes whenever every output's sum fits int32, which
// simdLayout checks (wrap-around int32 arithmetic is exact when the final
// sum fits, so only the final sum matters).
//
// torch's int16 weights are used as they are. PIL's 22-bit weights do not
// fit int16, so each is split into w = hi·2¹¹ + lo with lo in [0, 2047] and
// hi in [-2048, 2048]; the kernels keep a sum per half and combine them as
// (Σhi·x)·2¹¹ + Σlo·x before rounding, which is the same integer.

// splitShift is the bit position of PIL weights' high halves.
const splitShift = 11

// simdCoeffs is coeffs laid out for the kernels; nil when the sums may
// leave int32.
type simdCoeffs struct {
	split bool // PIL weights: lo and hi halves
	xmin  []int32
	n     []int32 // taps per output

	// Horizontal pass: per output, groups of four taps; group g of output
	// i is 16 int16 at (i*hStride+g)*16: (w0,w1)×3,0,0 for taps 4g, 4g+1
	// (first 128-bit lane) and (w2,w3)×3,0,0 for 4g+2, 4g+3.
	hStride int
	hLo     []int16
	hHi     []int16
	hGroups []int32
	hRead   []int // bytes past the row start that output i's loads touch
	hMax    int   // the largest hRead

	// Vertical pass: per output, pairs of taps packed as uint32
	// (uint16(w0) | uint16(w1)<<16), pair j of output i at i*vStride+j; an
	// odd last tap is paired with weight 0.
	vStride int
	vLo     []uint32
	vHi     []uint32
}

// simdLayout returns c's kernel layout, or nil when an output's sum could
// leave int32.
func simdLayout(c coeffs) *simdCoeffs {
	out := len(c.bounds) / 2
	half := int64(1) << (c.prec - 1)
	split := false
	for i := 0; i < out; i++ {
		var pos, neg int64
		for _, w := range c.k[i*c.ksize : i*c.ksize+c.bounds[2*i+1]] {
			if w > 0 {
				pos += int64(w)
			} else {
				neg += int64(w)
			}
			if w > 32767 || w < -32768 {
				split = true
			}
		}
		if half+255*pos > 1<<31-1 || half+255*neg < -(1<<31) {
			return nil
		}
	}
	s := &simdCoeffs{split: split, xmin: make([]int32, out), n: make([]int32, out)}
	s.hStride = (c.ksize + 3) / 4
	s.vStride = (c.ksize + 1) / 2
	s.hLo = make([]int16, out*s.hStride*16)
	s.hGroups = make([]int32, out)
	s.hRead = make([]int, out)
	s.vLo = make([]uint32, out*s.vStride)
	if split {
		s.hHi = make([]int16, len(s.hLo))
		s.vHi = make([]uint32, len(s.vLo))
	}
	for i := 0; i < out; i++ {
		xmin, n := c.bounds[2*i], c.bounds[2*i+1]
		s.xmin[i], s.n[i] = int32(xmin), int32(n)
		k := c.k[i*c.ksize : i*c.ksize+n]
		tap := func(j int) (lo, hi int16) {
			if j >= n {
				return 0, 0
			}
			if !split {
				return int16(k[j]), 0
			}
			return int16(k[j] & (1<<splitShift - 1)), int16(k[j] >> splitShift)
		}
		groups := (n + 3) / 4
		s.hGroups[i] = int32(groups)
		// The last group loads 16 bytes at pixel 4g+2: bytes up to
		// 3·(xmin+4g+2)+15.
		s.hRead[i] = 3*xmin + 12*groups + 10
		s.hMax = max(s.hMax, s.hRead[i])
		for g := 0; g < groups; g++ {
			for lane := 0; lane < 2; lane++ {
				a0, a1 := tap(4*g + 2*lane)
				b0, b1 := tap(4*g + 2*lane + 1)
				base := (i*s.hStride+g)*16 + lane*8
				for ch := 0; ch < 3; ch++ {
					s.hLo[base+2*ch], s.hLo[base+2*ch+1] = a0, b0
					if split {
						s.hHi[base+2*ch], s.hHi[base+2*ch+1] = a1, b1
					}
				}
			}
		}
		for j := 0; j < (n+1)/2; j++ {
			a0, a1 := tap(2 * j)
			b0, b1 := tap(2*j + 1)
			s.vLo[i*s.vStride+j] = uint32(uint16(a0)) | uint32(uint16(b0))<<16
			if split {
				s.vHi[i*s.vStride+j] = uint32(uint16(a1)) | uint32(uint16(b1))<<16
			}
		}
	}
	return s
}
