package kernels

import (
	"fmt"
)

// This file is the NHWC direct convolution (Conv2DNHWC) the image codebook
// runs on. Unlike Conv2D (conv_fast.go: NCHW, im2col panels built per block,
// weights packed per call) it
//
//   - packs the weights once (PackConvWeights) into convNR-output-channel
//     panels, k ordered (ky, kx, c): the B operand of the micro-kernel;
//   - reads the A operand (input pixels) straight from a zero-padded NHWC
//     copy of the input built once per call: for stride 1, the patch of
//     output pixel (y, x) at tap (ky, kx) starts ((y+ky)·Wp + x+kx)·C floats
//     into the padded image, a constant offset from the pixel's own base, so
//     a micro-tile of convMR pixels needs only convMR base pointers and a
//     list of (offset, length) segments of contiguous k;
//   - splits K into chunks of at most convKC k steps, so one panel's B chunk
//     (convKC·16 floats, 16 KiB) stays in L1 while the tiles of a pixel block
//     stream their pixels from L2;
//   - parallelises over (pixel block, group of panels) units of the whole
//     batch, so one image keeps every core busy.

const (
	convMR = 6  // output pixels per micro-tile
	convNR = 16 // output channels per micro-tile (one packed panel)
	convKC = 256

	// convPixBlock bounds the output pixels of a unit: convPixBlock·convKC
	// floats of A (120 KiB) stay in a Zen 3 L2 (512 KiB) while the unit's
	// panels run over them. Weights larger than the L2 (convL2Bytes) are
	// streamed from L3 or memory once per pixel block, so they get blocks
	// twice as large (240 KiB of A), halving that traffic: measured on the
	// codebook's 14×14 layers on one core, 3×3 512→512 went from 88–89 to
	// 96–101 GFLOP/s and 1×1 2048→8192 from 87–88 to 93–97, while the
	// 112×112 layers (weights ≤ 590 KiB) were 2–5 % faster with the smaller
	// blocks
	// (BenchmarkConv2DNHWC, kernels/BENCHMARKS.kernels.md).
	convPixBlock = 120
	convL2Bytes  = 512 << 10
	// convPanelGroup bounds the panels of a unit (the A block is reused
	// from L2 that many times per chunk).
	convPanelGroup = 4
)

// ConvWeights are a convolution's weights packed for Conv2DNHWC: panels of
// 16 output channels, each K×16 floats with K = KH·KW·InC ordered
// (ky, kx, c), the last panel zero-padded. Build with PackConvWeights; a
// ConvWeights is read-only and safe for concurrent use.
type ConvWeights struct {
	OutC, InC, KH, KW int
	panels            []float32 // ceil(OutC/16) × K × 16
}

// K returns the reduction length KH·KW·InC.
func (w *ConvWeights) K() int { return w.KH * w.KW * w.InC }

// Len returns the number of floats the packed copy holds (its memory is
// 4·Len bytes).
func (w *ConvWeights) Len() int { return len(w.panels) }

// PackConvWeights packs w (p.OutC×p.InC×p.KH×p.KW, PyTorch's OIHW layout)
// for Conv2DNHWC. Only p's OutC, InC, KH and KW are used. It panics if w
// does not have that many values (a programmer error).
func PackConvWeights(w []float32, p Conv2DParams) *ConvWeights {
	if p.OutC <= 0 || p.InC <= 0 || p.KH <= 0 || p.KW <= 0 || len(w) != p.OutC*p.InC*p.KH*p.KW {
		panic(fmt.Sprintf("kernels: PackConvWeights %+v with %d weights", p, len(w)))
	}
	cw := &ConvWeights{OutC: p.OutC, InC: p.InC, KH: p.KH, KW: p.KW}
	k := cw.K()
	np := (p.OutC + convNR - 1) / convNR
	cw.panels = make([]float32, np*k*convNR)
	for o := 0; o < p.OutC; o++ {
		panel := cw.panels[o/convNR*k*convNR:]
		j := o % convNR
		for c := 0; c < p.InC; c++ {
			src := w[(o*p.InC+c)*p.KH*p.KW:][:p.KH*p.KW]
			for ky := 0; ky < p.KH; ky++ {
				for kx := 0; kx < p.KW; kx++ {
					kk := (ky*p.KW+kx)*p.InC + c
					panel[kk*convNR+j] = src[ky*p.KW+kx]
				}
			}
		}
	}
	return cw
}

// convSeg is a run of n consecutive k steps whose input values are
// contiguous, starting off floats from a pixel's base in the padded image.
type convSeg struct{ off, n int }

// convTiles computes len(a)/6 consecutive micro-tiles of one panel: for tile
// t, pixel r < 6 (base a[6t+r]) and channel j < 16,
// s = Σ over segs, q < seg.n of in[base+seg.off+q] · b[k·16+j] (k counting
// the steps of every segment in order, k in total), then
// c[(6t+r)·ldc+j] = c[…] + s when load, else s + bias[j]. The caller
// guarantees every input index is in range (convNHWCJob.unit checks each
// pixel block once).
var convTiles = convTilesGo

func convTilesGo(in []float32, a []int, segs []convSeg, k int, b, c []float32, ldc int, bias *[convNR]float32, load bool) {
	for t := 0; t < len(a); t += convMR {
		convKernelGo(in, (*[convMR]int)(a[t:]), segs, b, c[t*ldc:], ldc, bias, load)
	}
}

// convKernelGo is the portable micro-kernel: the same loop order as the
// assembly (k outer, pixels, then channels), accumulating in float32.
func convKernelGo(in []float32, a *[convMR]int, segs []convSeg, b, c []float32, ldc int, bias *[convNR]float32, load bool) {
	var acc [convMR][convNR]float32
	k := 0
	for _, s := range segs {
		for q := 0; q < s.n; q++ {
			bk := (*[convNR]float32)(b[(k+q)*convNR:])
			for r := range convMR {
				av := in[a[r]+s.off+q]
				row := &acc[r]
				for j := range convNR {
					row[j] += av * bk[j]
				}
			}
		}
		k += s.n
	}
	for r := range convMR {
		cr := (*[convNR]float32)(c[r*ldc:])
		if load {
			for j := range convNR {
				cr[j] += acc[r][j]
			}
		} else {
			for j := range convNR {
				cr[j] = acc[r][j] + bias[j]
			}
		}
	}
}

// Conv2DNHWC computes dst = conv(src, w) + bias for NHWC tensors: src is
// p.Batch×p.InH×p.InW×p.InC, dst p.Batch×OutH×OutW×p.OutC, w the packed
// weights (PackConvWeights) and bias p.OutC values or nil. With
// p.ReLUInput the input is ReLU(src) (NaN and −0 kept, as ReLU does; src is
// not changed).
//
// Only stride 1 is supported (StrideH and StrideW 0 or 1), with zero
// padding; anything else, sizes that do not match w, or short slices panic
// (programmer errors). Results equal Conv2D's up to float32 summation order
// (K is summed in (ky, kx, c) order in chunks of 256, bias added first).
//
// The input is copied once per call into pooled scratch, zero-padded and
// ReLU'd as asked (a 1×1 convolution without padding or ReLU reads src
// itself); work is spread over the kernel pool in units of up to 120 output
// pixels (240 for weights larger than 512 KiB) × 64 output channels of the
// whole batch, finer when that leaves a core idle. Steady-state calls do not
// allocate.
func Conv2DNHWC(dst, src []float32, p Conv2DParams, w *ConvWeights, bias []float32) {
	conv2DNHWC(dst, src, p, w, bias, nil, 0)
}

// Conv2DNHWCAddScaled is Conv2DNHWC followed by dst = res + gain·dst (a
// residual block's id_path(x) + post_gain·res_path(x)), applied to each
// block of output while it is still in cache instead of as two more passes
// over dst. The result is bit-for-bit Conv2DNHWC, then Scale(dst, gain),
// then Add(dst, res, dst). res has dst's length and must not overlap dst.
func Conv2DNHWCAddScaled(dst, src []float32, p Conv2DParams, w *ConvWeights, bias []float32, gain float32, res []float32) {
	if res == nil || len(res) < p.Batch*p.OutH()*p.OutW()*p.OutC {
		panic(fmt.Sprintf("kernels: Conv2DNHWCAddScaled %+v with res %d", p, len(res)))
	}
	conv2DNHWC(dst, src, p, w, bias, res, gain)
}

func conv2DNHWC(dst, src []float32, p Conv2DParams, w *ConvWeights, bias, res []float32, gain float32) {
	if p.StrideH > 1 || p.StrideW > 1 {
		panic(fmt.Sprintf("kernels: Conv2DNHWC supports stride 1 only, got %dx%d", p.StrideH, p.StrideW))
	}
	oh, ow := p.OutH(), p.OutW()
	if w == nil || p.Batch < 0 || p.InC <= 0 || p.OutC <= 0 || p.KH <= 0 || p.KW <= 0 ||
		p.PadH < 0 || p.PadW < 0 || oh <= 0 || ow <= 0 ||
		w.OutC != p.OutC || w.InC != p.InC || w.KH != p.KH || w.KW != p.KW ||
		len(src) < p.Batch*p.InH*p.InW*p.InC || len(dst) < p.Batch*oh*ow*p.OutC ||
		(bias != nil && len(bias) != p.OutC) {
		panic(fmt.Sprintf("kernels: Conv2DNHWC %+v with src %d, dst %d, weights %+v, bias %d",
			p, len(src), len(dst), convWeightsShape(w), len(bias)))
	}
	if p.Batch == 0 {
		return
	}
	j := convNHWCJobPool.get()
	defer convNHWCJobPool.put(j)
	j.setup(dst, src, p, w, bias)
	j.res, j.gain = res, gain
	defer j.reset()

	if j.padded != nil {
		rows := p.Batch * j.hp
		parallelRun(rows, max(1, 32768/(j.wp*p.InC)), (*convPadJob)(j))
	}
	unitFlops := 2 * j.pb * convPanelGroup * convNR * j.k
	parallelRun(j.units, max(1, gemmMinFlopsPerThread/max(1, unitFlops)), j)
}

func convWeightsShape(w *ConvWeights) string {
	if w == nil {
		return "nil"
	}
	return fmt.Sprintf("%d×%d×%d×%d", w.OutC, w.InC, w.KH, w.KW)
}

// convNHWCJob is one Conv2DNHWC call.
type convNHWCJob struct {
	dst, src, bias []float32
	res            []float32 // Conv2DNHWCAddScaled's residual, or nil
	gain           float32
	in             []float32 // the padded (ReLU'd) input, or src
	padded         *[]float32
	p              Conv2DParams
	w              *ConvWeights
	hp, wp         int // padded input size
	oh, ow         int
	k              int
	npix           int // output pixels of the batch
	pb             int // pixels per block (a multiple of convMR)
	blocks         int
	panels         int
	groups         int // panel groups
	units          int
	chunkK         []int     // k start of chunk i; len chunks+1
	chunkSeg       []int     // first segment of chunk i; len chunks+1
	maxEnd         int       // largest off+n of any segment
	segs           []convSeg // every chunk's segments
}

var (
	convNHWCJobPool freeList[convNHWCJob]
	convPadPool     freeList[[]float32]
	convTileBufPool = freeList[convTileBuf]{newT: func() *convTileBuf {
		return &convTileBuf{base: make([]int, 2*convPixBlock+convMR)}
	}}
)

// convTileBuf is a worker's scratch: the block's pixel bases and a tile for
// partial stores.
type convTileBuf struct {
	base []int
	tmp  [convMR * convNR]float32
	bias [convNR]float32
}

var convZeroBias [convNR]float32

func (j *convNHWCJob) setup(dst, src []float32, p Conv2DParams, w *ConvWeights, bias []float32) {
	oh, ow := p.OutH(), p.OutW()
	j.dst, j.src, j.bias, j.p, j.w = dst, src, bias, p, w
	j.oh, j.ow = oh, ow
	j.hp, j.wp = p.InH+2*p.PadH, p.InW+2*p.PadW
	j.k = w.K()
	j.npix = p.Batch * oh * ow
	j.in = src
	if p.PadH > 0 || p.PadW > 0 || p.ReLUInput {
		j.padded = convPadPool.get()
		need := p.Batch * j.hp * j.wp * p.InC
		if cap(*j.padded) < need {
			*j.padded = make([]float32, need)
		}
		j.in = (*j.padded)[:need]
	}

	// Pixel blocks: as large as convPixBlock allows (twice that for
	// weights larger than L2), evened out.
	maxPB := convPixBlock
	if 4*w.Len() > convL2Bytes {
		maxPB = 2 * convPixBlock
	}
	j.blocks = (j.npix + maxPB - 1) / maxPB
	j.pb = (j.npix + j.blocks - 1) / j.blocks
	j.pb = (j.pb + convMR - 1) / convMR * convMR
	j.blocks = (j.npix + j.pb - 1) / j.pb
	j.panels = (p.OutC + convNR - 1) / convNR
	j.groups = (j.panels + convPanelGroup - 1) / convPanelGroup
	// A batch small enough to leave a core idle: split the panels finer.
	if t := Threads(); t > 1 && j.blocks*j.groups < 4*t {
		j.groups = min(j.panels, (4*t+j.blocks-1)/j.blocks)
	}
	j.units = j.blocks * j.groups

	// K chunks of at most convKC steps, evened out, as contiguous segments.
	chunks := (j.k + convKC - 1) / convKC
	kc := (j.k + chunks - 1) / chunks
	j.chunkK, j.chunkSeg, j.segs = j.chunkK[:0], j.chunkSeg[:0], j.segs[:0]
	j.maxEnd = 0
	for k0 := 0; k0 < j.k; k0 += kc {
		j.chunkK = append(j.chunkK, k0)
		j.chunkSeg = append(j.chunkSeg, len(j.segs))
		for k := k0; k < min(k0+kc, j.k); k++ {
			tap, c := k/p.InC, k%p.InC
			off := ((tap/p.KW)*j.wp+tap%p.KW)*p.InC + c
			if n := len(j.segs); n > j.chunkSeg[len(j.chunkSeg)-1] && j.segs[n-1].off+j.segs[n-1].n == off {
				j.segs[n-1].n++
			} else {
				j.segs = append(j.segs, convSeg{off: off, n: 1})
			}
			j.maxEnd = max(j.maxEnd, off+1)
		}
	}
	j.chunkK = append(j.chunkK, j.k)
	j.chunkSeg = append(j.chunkSeg, len(j.segs))
}

func (j *convNHWCJob) reset() {
	if j.padded != nil {
		convPadPool.put(j.padded)
	}
	*j = convNHWCJob{chunkK: j.chunkK[:0], chunkSeg: j.chunkSeg[:0], segs: j.segs[:0]}
}

// convPadJob builds padded rows [lo, hi) (numbered image-major) of the
// input copy.
type convPadJob convNHWCJob

func (j *convPadJob) run(lo, hi int) {
	p := j.p
	c := p.InC
	rowLen := j.wp * c
	for r := lo; r < hi; r++ {
		n, y := r/j.hp, r%j.hp-p.PadH
		row := j.in[r*rowLen : (r+1)*rowLen]
		if y < 0 || y >= p.InH {
			clear(row)
			continue
		}
		clear(row[:p.PadW*c])
		mid := row[p.PadW*c : (p.PadW+p.InW)*c]
		copy(mid, j.src[(n*p.InH+y)*p.InW*c:][:p.InW*c])
		if p.ReLUInput {
			reluVec(mid) // NaN and −0 kept
		}
		clear(row[(p.PadW+p.InW)*c:])
	}
}

// run computes units [lo, hi): unit u is pixel block u/groups, panel group
// u%groups (consecutive units share their pixel block, which stays in L2).
func (j *convNHWCJob) run(lo, hi int) {
	buf := convTileBufPool.get()
	defer convTileBufPool.put(buf)
	per := (j.panels + j.groups - 1) / j.groups
	lastBlock := -1
	for u := lo; u < hi; u++ {
		blk, g := u/j.groups, u%j.groups
		p0 := blk * j.pb
		np := min(j.pb, j.npix-p0)
		if blk != lastBlock {
			j.bases(buf.base[:np], p0)
			lastBlock = blk
		}
		pan0 := g * per
		pan1 := min(pan0+per, j.panels)
		if pan0 >= pan1 {
			continue
		}
		j.unit(buf, p0, np, pan0, pan1)
	}
}

// bases writes the padded-image offset of output pixels [p0, p0+len(dst))
// of the batch.
func (j *convNHWCJob) bases(dst []int, p0 int) {
	hw := j.oh * j.ow
	c := j.p.InC
	for i := range dst {
		g := p0 + i
		n, r := g/hw, g%hw
		y, x := r/j.ow, r%j.ow
		dst[i] = ((n*j.hp+y)*j.wp + x) * c
	}
}

// unit computes output pixels [p0, p0+np) × panels [pan0, pan1); the
// block's pixel bases are in buf.base[:np].
func (j *convNHWCJob) unit(buf *convTileBuf, p0, np, pan0, pan1 int) {
	outC := j.p.OutC
	k := j.k
	base := buf.base[:np]
	// Every read of the micro-kernel lies within [base, base+maxEnd):
	// one check per unit keeps the assembly memory-safe.
	if lo, hi := base[0], base[np-1]; lo < 0 || hi+j.maxEnd > len(j.in) {
		panic(fmt.Sprintf("kernels: Conv2DNHWC pixel bases %d..%d + %d outside input of %d", lo, hi, j.maxEnd, len(j.in)))
	}
	full := np / convMR * convMR
	last := buf.base[full : full+convMR] // the partial tile, if any
	for r := np - full; r < convMR && full < np; r++ {
		last[r] = base[np-1] // missing pixels repeat the last one; their rows are dropped
	}
	for ch := 0; ch+1 < len(j.chunkK); ch++ {
		k0, kc := j.chunkK[ch], j.chunkK[ch+1]-j.chunkK[ch]
		segs := j.segs[j.chunkSeg[ch]:j.chunkSeg[ch+1]]
		load := ch > 0
		for pan := pan0; pan < pan1; pan++ {
			bp := j.w.panels[(pan*k+k0)*convNR : (pan*k+k0+kc)*convNR]
			oc0 := pan * convNR
			ncol := min(convNR, outC-oc0)
			bias := &convZeroBias
			if !load && j.bias != nil {
				if ncol == convNR {
					bias = (*[convNR]float32)(j.bias[oc0:])
				} else {
					bias = &buf.bias
					clear(bias[:])
					copy(bias[:], j.bias[oc0:])
				}
			}
			off := p0*outC + oc0
			t0 := 0
			if ncol == convNR && full > 0 {
				convTiles(j.in, base[:full], segs, kc, bp, j.dst[off:off+(full-1)*outC+convNR], outC, bias, load)
				t0 = full
			}
			// Partial tiles (fewer pixels or channels) go through tmp.
			for t := t0; t < np; t += convMR {
				nrow := min(convMR, np-t)
				a := buf.base[t : t+convMR]
				toff := off + t*outC
				tmp := buf.tmp[:]
				if load {
					for r := 0; r < nrow; r++ {
						copy(tmp[r*convNR:r*convNR+ncol], j.dst[toff+r*outC:][:ncol])
					}
				}
				convTiles(j.in, a, segs, kc, bp, tmp, convNR, bias, load)
				for r := 0; r < nrow; r++ {
					copy(j.dst[toff+r*outC:][:ncol], tmp[r*convNR:r*convNR+ncol])
				}
			}
		}
	}
	if j.res != nil {
		// dst = res + gain·dst over the unit's outputs, still in L2; the
		// same two roundings as Scale then Add.
		c0, c1 := pan0*convNR, min(pan1*convNR, outC)
		for r := 0; r < np; r++ {
			o := (p0+r)*outC + c0
			row := j.dst[o : o+c1-c0]
			scale(row, j.gain)
			addVec(row, j.res[o:o+c1-c0], row)
		}
	}
}

// MaxPool2DNHWC computes a k×k max pool with the given stride (no padding,
// floor mode) over NHWC src (n×h×w×c) into dst
// (n×((h-k)/stride+1)×((w-k)/stride+1)×c). NaN propagates. Output rows are
// spread over the kernel pool; it does not allocate.
func MaxPool2DNHWC(dst, src []float32, n, h, w, c, k, stride int) {
	if n < 0 || c <= 0 || k <= 0 || stride <= 0 {
		panic(fmt.Sprintf("kernels: MaxPool2DNHWC %d×%d×%d×%d k=%d s=%d", n, h, w, c, k, stride))
	}
	oh, ow := (h-k)/stride+1, (w-k)/stride+1
	if h < k || w < k || len(src) < n*h*w*c || len(dst) < n*oh*ow*c {
		panic(fmt.Sprintf("kernels: MaxPool2DNHWC %d×%d×%d×%d k=%d s=%d src %d dst %d", n, h, w, c, k, stride, len(src), len(dst)))
	}
	j := poolNHWCJobPool.get()
	*j = poolNHWCJob{dst: dst, src: src, h: h, w: w, c: c, k: k, stride: stride}
	parallelRun(n*oh, max(1, 32768/(ow*c*k*k)), j)
	*j = poolNHWCJob{}
	poolNHWCJobPool.put(j)
}

type poolNHWCJob struct {
	dst, src           []float32
	h, w, c, k, stride int
}

var poolNHWCJobPool freeList[poolNHWCJob]

// run pools output rows [lo, hi), numbered image-major.
func (j *poolNHWCJob) run(lo, hi int) {
	h, w, c, k, s := j.h, j.w, j.c, j.k, j.stride
	oh, ow := (h-k)/s+1, (w-k)/s+1
	for r := lo; r < hi; r++ {
		n, y := r/oh, r%oh
		out := j.dst[r*ow*c : (r+1)*ow*c]
		for x := 0; x < ow; x++ {
			o := out[x*c : (x+1)*c]
			for ky := 0; ky < k; ky++ {
				row := j.src[((n*h+y*s+ky)*w+x*s)*c:]
				for kx := 0; kx < k; kx++ {
					v := row[kx*c : (kx+1)*c]
					if ky == 0 && kx == 0 {
						copy(o, v)
						continue
					}
					for i := range o {
						o[i] = max(o[i], v[i]) // the builtin max propagates NaN
					}
				}
			}
		}
	}
}

// NCHWToNHWC writes src (n×c×h×w) into dst (n×h×w×c).
func NCHWToNHWC(dst, src []float32, n, c, h, w int) {
	if n < 0 || c < 0 || h < 0 || w < 0 || len(src) < n*c*h*w || len(dst) < n*c*h*w {
		panic(fmt.Sprintf("kernels: NCHWToNHWC %d×%d×%d×%d src %d dst %d", n, c, h, w, len(src), len(dst)))
	}
	for i := 0; i < n; i++ {
		transposeBlocked(dst[i*c*h*w:(i+1)*c*h*w], src[i*c*h*w:(i+1)*c*h*w], c, h*w)
	}
}

// NHWCToNCHW writes src (n×h×w×c) into dst (n×c×h×w).
func NHWCToNCHW(dst, src []float32, n, h, w, c int) {
	if n < 0 || c < 0 || h < 0 || w < 0 || len(src) < n*c*h*w || len(dst) < n*c*h*w {
		panic(fmt.Sprintf("kernels: NHWCToNCHW %d×%d×%d×%d src %d dst %d", n, h, w, c, len(src), len(dst)))
	}
	for i := 0; i < n; i++ {
		transposeBlocked(dst[i*c*h*w:(i+1)*c*h*w], src[i*c*h*w:(i+1)*c*h*w], h*w, c)
	}
}

// transposeBlocked writes the rows×cols matrix src transposed into dst
// (cols×rows), in 32×32 blocks so both sides stay in cache.
func transposeBlocked(dst, src []float32, rows, cols int) {
	const bs = 32
	for r0 := 0; r0 < rows; r0 += bs {
		r1 := min(r0+bs, rows)
		for c0 := 0; c0 < cols; c0 += bs {
			c1 := min(c0+bs, cols)
			for r := r0; r < r1; r++ {
				s := src[r*cols : r*cols+c1]
				for c := c0; c < c1; c++ {
					dst[c*rows+r] = s[c]
				}
			}
		}
	}
}
