package kernels

import "fmt"

// This file is the bf16 twin of Conv2DNHWC: the convolution as a GEMM of
// im2col rows (one per output pixel, k ordered (ky, kx, c) as
// PackConvWeights orders it) with the weights rounded to bf16 and packed
// once (ConvWeightsBF16), the input rounded to bf16 (after the ReLU, when
// asked) once per call, and float32 accumulation in the bf16 micro-kernel
// (bf16Blocked, the loop nest of SgemmPackedBF16). Bias, the residual
// scale and sum stay float32.

// convBF16PixBlock bounds the output pixels of one unit: its im2col rows
// (at most convBF16PixBlock·K bf16) are built once and reused by every
// panel of the weights; a multiple of bf16MR.
const convBF16PixBlock = 120

// ConvWeightsBF16 are a convolution's weights rounded to bf16 and packed
// for Conv2DNHWCBF16: the OutC×K matrix (K = KH·KW·InC ordered (ky, kx, c))
// as PackWeightsBF16 packs a Linear weight. Read-only and safe for
// concurrent use.
type ConvWeightsBF16 struct {
	OutC, InC, KH, KW int
	pw                *PackedWeightsBF16
}

// K returns the reduction length KH·KW·InC.
func (w *ConvWeightsBF16) K() int { return w.KH * w.KW * w.InC }

// Bytes is the memory the packed copy holds.
func (w *ConvWeightsBF16) Bytes() int64 { return w.pw.Bytes() }

// PackConvWeightsBF16 rounds w (p.OutC×p.InC×p.KH×p.KW, PyTorch's OIHW
// layout) to bf16 and packs it for Conv2DNHWCBF16. Only p's OutC, InC, KH
// and KW are used. It panics if w does not have that many values.
func PackConvWeightsBF16(w []float32, p Conv2DParams) *ConvWeightsBF16 {
	if p.OutC <= 0 || p.InC <= 0 || p.KH <= 0 || p.KW <= 0 || len(w) != p.OutC*p.InC*p.KH*p.KW {
		panic(fmt.Sprintf("kernels: PackConvWeightsBF16 %+v with %d weights", p, len(w)))
	}
	cw := &ConvWeightsBF16{OutC: p.OutC, InC: p.InC, KH: p.KH, KW: p.KW}
	k := cw.K()
	rows := make([]float32, p.OutC*k) // O×(ky, kx, c)
	for o := 0; o < p.OutC; o++ {
		for c := 0; c < p.InC; c++ {
			src := w[(o*p.InC+c)*p.KH*p.KW:][:p.KH*p.KW]
			for t, v := range src { // t = ky·KW + kx
				rows[o*k+t*p.InC+c] = v
			}
		}
	}
	cw.pw = PackWeightsBF16(rows, p.OutC, k)
	return cw
}

// Conv2DNHWCBF16 is Conv2DNHWC with bf16 products: dst = conv(src, w) +
// bias for NHWC tensors, the input (ReLU(src) with p.ReLUInput) and the
// weights rounded to bf16 (round to nearest even), products accumulated in
// float32 in a fixed order (the result does not depend on the thread count
// or on the kernel: VDPBF16PS or its plain-Go twin), bias added first in
// float32. Stride 1 with zero padding only; anything else, sizes that do
// not match w, or short slices panic (programmer errors). Steady-state
// calls do not allocate.
func Conv2DNHWCBF16(dst, src []float32, p Conv2DParams, w *ConvWeightsBF16, bias []float32) {
	conv2DNHWCBF16(dst, src, p, w, bias, nil, 0)
}

// Conv2DNHWCAddScaledBF16 is Conv2DNHWCBF16 followed by dst = res +
// gain·dst, applied per block of output (the same two float32 roundings as
// Scale then Add). res has dst's length and must not overlap dst.
func Conv2DNHWCAddScaledBF16(dst, src []float32, p Conv2DParams, w *ConvWeightsBF16, bias []float32, gain float32, res []float32) {
	if res == nil || len(res) < p.Batch*p.OutH()*p.OutW()*p.OutC {
		panic(fmt.Sprintf("kernels: Conv2DNHWCAddScaledBF16 %+v with res %d", p, len(res)))
	}
	conv2DNHWCBF16(dst, src, p, w, bias, res, gain)
}

// convBF16Job is one Conv2DNHWCBF16 call: the input converted to bf16
// (rows of run), then units of output pixels (run of (*convBF16Units)).
type convBF16Job struct {
	dst, src, bias, res []float32
	gain                float32
	p                   Conv2DParams
	w                   *ConvWeightsBF16
	in                  []uint16 // bf16 copy of the (ReLU'd) input, NHWC, unpadded
	inBuf               *[]uint16
	oh, ow, npix        int
	pb                  int // pixels per unit, a multiple of bf16MR
}

// convBF16Units is the job seen as its pixel units.
type convBF16Units convBF16Job

var (
	convBF16JobPool freeList[convBF16Job]
	convBF16InPool  freeList[[]uint16]
	convBF16APool   freeList[[]uint16]
	convBF16RowPool freeList[[]float32]
)

func conv2DNHWCBF16(dst, src []float32, p Conv2DParams, w *ConvWeightsBF16, bias, res []float32, gain float32) {
	if p.StrideH > 1 || p.StrideW > 1 {
		panic(fmt.Sprintf("kernels: Conv2DNHWCBF16 supports stride 1 only, got %dx%d", p.StrideH, p.StrideW))
	}
	oh, ow := p.OutH(), p.OutW()
	if w == nil || p.Batch < 0 || p.InC <= 0 || p.OutC <= 0 || p.KH <= 0 || p.KW <= 0 ||
		p.PadH < 0 || p.PadW < 0 || oh <= 0 || ow <= 0 ||
		w.OutC != p.OutC || w.InC != p.InC || w.KH != p.KH || w.KW != p.KW ||
		len(src) < p.Batch*p.InH*p.InW*p.InC || len(dst) < p.Batch*oh*ow*p.OutC ||
		(bias != nil && len(bias) != p.OutC) {
		shape := "nil"
		if w != nil {
			shape = fmt.Sprintf("%d×%d×%d×%d", w.OutC, w.InC, w.KH, w.KW)
		}
		panic(fmt.Sprintf("kernels: Conv2DNHWCBF16 %+v with src %d, dst %d, weights %s, bias %d",
			p, len(src), len(dst), shape, len(bias)))
	}
	if p.Batch == 0 {
		return
	}
	j := convBF16JobPool.get()
	*j = convBF16Job{dst: dst, src: src, bias: bias, res: res, gain: gain, p: p, w: w, oh: oh, ow: ow}
	j.npix = p.Batch * oh * ow
	j.inBuf = convBF16InPool.get()
	need := p.Batch * p.InH * p.InW * p.InC
	if cap(*j.inBuf) < need {
		*j.inBuf = make([]uint16, need)
	}
	j.in = (*j.inBuf)[:need]
	rows := p.Batch * p.InH
	parallelRun(rows, max(1, 32768/(p.InW*p.InC)), j)

	blocks := (j.npix + convBF16PixBlock - 1) / convBF16PixBlock
	if t := Threads(); t > 1 && blocks < 2*t {
		blocks = min((j.npix+bf16MR-1)/bf16MR, 2*t) // batch-1 tails: keep every core busy
	}
	j.pb = (j.npix + blocks - 1) / blocks
	j.pb = (j.pb + bf16MR - 1) / bf16MR * bf16MR
	blocks = (j.npix + j.pb - 1) / j.pb
	parallelRun(blocks, 1, (*convBF16Units)(j))

	convBF16InPool.put(j.inBuf)
	*j = convBF16Job{}
	convBF16JobPool.put(j)
}

// run converts input rows [lo, hi) (image-major) to bf16, after the ReLU
// when asked (ReLU first, then rounding: NaN and −0 kept, as ReLU does).
func (j *convBF16Job) run(lo, hi int) {
	p := j.p
	n := p.InW * p.InC
	var tmp *[]float32
	if p.ReLUInput {
		tmp = convBF16RowPool.get()
		if cap(*tmp) < n {
			*tmp = make([]float32, n)
		}
	}
	for r := lo; r < hi; r++ {
		src := j.src[r*n : (r+1)*n]
		if tmp != nil {
			row := (*tmp)[:n]
			copy(row, src)
			reluVec(row)
			src = row
		}
		convertBF16(j.in[r*n:(r+1)*n], src)
	}
	if tmp != nil {
		convBF16RowPool.put(tmp)
	}
}

// run computes pixel units [lo, hi): each builds its im2col rows in bf16
// (zero rows up to a multiple of bf16MR, zero k up to the even K the packed
// weights have), starts its outputs at the bias and accumulates the product
// into them.
func (u *convBF16Units) run(lo, hi int) {
	j := (*convBF16Job)(u)
	p, w := j.p, j.w
	k, kpad := w.K(), w.pw.kpad
	ab := convBF16APool.get()
	if need := j.pb * kpad; cap(*ab) < need {
		*ab = make([]uint16, need)
	}
	tmp := bf16TmpPool.get()
	hw := j.oh * j.ow
	run := p.KW * p.InC
	for blk := lo; blk < hi; blk++ {
		p0 := blk * j.pb
		np := min(j.pb, j.npix-p0)
		mpad := (np + bf16MR - 1) / bf16MR * bf16MR
		a := (*ab)[:mpad*kpad]
		for i := 0; i < np; i++ {
			g := p0 + i
			n, r := g/hw, g%hw
			y, x := r/j.ow, r%j.ow
			row := a[i*kpad : (i+1)*kpad]
			x0 := x - p.PadW
			for ky := 0; ky < p.KH; ky++ {
				seg := row[ky*run : (ky+1)*run]
				iy := y + ky - p.PadH
				if iy < 0 || iy >= p.InH {
					clear(seg)
					continue
				}
				img := j.in[(n*p.InH+iy)*p.InW*p.InC:][:p.InW*p.InC]
				if x0 >= 0 && x0+p.KW <= p.InW {
					copy(seg, img[x0*p.InC:(x0+p.KW)*p.InC])
					continue
				}
				for kx := 0; kx < p.KW; kx++ {
					tap := seg[kx*p.InC : (kx+1)*p.InC]
					if ix := x0 + kx; ix >= 0 && ix < p.InW {
						copy(tap, img[ix*p.InC:(ix+1)*p.InC])
					} else {
						clear(tap)
					}
				}
			}
			clear(row[k:])
		}
		clear(a[np*kpad:])
		out := j.dst[p0*p.OutC : (p0+np)*p.OutC]
		if j.bias != nil {
			for i := 0; i < np; i++ {
				copy(out[i*p.OutC:(i+1)*p.OutC], j.bias)
			}
		} else {
			clear(out)
		}
		bf16Blocked(np, p.OutC, a, w.pw, 0, true, out, p.OutC, tmp)
		if j.res != nil {
			res := j.res[p0*p.OutC : (p0+np)*p.OutC]
			scale(out, j.gain)
			addVec(out, res, out)
		}
	}
	bf16TmpPool.put(tmp)
	convBF16APool.put(ab)
}

// conv2DNHWCBF16Ref is the plain reference of Conv2DNHWCBF16's arithmetic
// for the tests: every product of bf16-rounded (ReLU'd) inputs and weights
// summed in float64, plus the bias, then the residual step in float32.
func conv2DNHWCBF16Ref(dst, src []float32, p Conv2DParams, w []float32, bias []float32, res []float32, gain float32) {
	oh, ow := p.OutH(), p.OutW()
	rnd := func(v float32) float64 {
		if p.ReLUInput && v < 0 {
			v = 0
		}
		return float64(bf16In(BF16FromFloat32(v)))
	}
	for n := 0; n < p.Batch; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				o := ((n*oh+y)*ow + x) * p.OutC
				for oc := 0; oc < p.OutC; oc++ {
					s := 0.0
					if bias != nil {
						s = float64(bias[oc])
					}
					for c := 0; c < p.InC; c++ {
						for ky := 0; ky < p.KH; ky++ {
							for kx := 0; kx < p.KW; kx++ {
								iy, ix := y+ky-p.PadH, x+kx-p.PadW
								if iy < 0 || iy >= p.InH || ix < 0 || ix >= p.InW {
									continue
								}
								wv := float64(bf16In(BF16FromFloat32(w[((oc*p.InC+c)*p.KH+ky)*p.KW+kx])))
								s += rnd(src[((n*p.InH+iy)*p.InW+ix)*p.InC+c]) * wv
							}
						}
					}
					v := float32(s)
					if res != nil {
						v = res[o+oc] + float32(gain*v) // two roundings, no FMA
					}
					dst[o+oc] = v
				}
			}
		}
	}
}
