package kernels

// This file is Conv2D's engine: the packed SGEMM loop nest of gemm_fast.go
// specialised to a convolution, so that
//
//   - the weights (the A operand, OutC × InC·KH·KW) are packed into
//     micro-kernel panels once per call (gemmKC slices spread over the pool),
//     not once per block of pixels;
//   - the patch matrix (the B operand) is never materialised: each worker
//     builds the im2col rows of its pixel block one at a time in an L1 row
//     buffer (1×1 convolutions read the input plane itself) and stores them
//     into the packed gemmNR-column panels the micro-kernel reads, one
//     gemmKC slice at a time, so the panels stay in L2;
//   - blocks of output pixels (of every image) are the parallel unit, so a
//     single image uses every core, each worker with its own panels;
//   - an optional ReLU on the input (Conv2DParams.ReLUInput) is applied to
//     each patch row (in L1) before it is stored into the panels.
//
// The per-element arithmetic is exactly sgemmSerial's (same micro-kernel, same
// gemmKC slices of K summed in the same order, bias added afterwards), so the
// results are bit-for-bit those of the im2col + Sgemm formulation.

// convBlockPix is the number of output pixels per block (a multiple of
// gemmNR): a gemmKC slice of its panels is 256 KiB, half of a Zen 3 L2.
const convBlockPix = 256

// convBuf is one worker's scratch: packed B panels for one gemmKC slice of a
// pixel block, and one im2col row.
type convBuf struct {
	b   []float32 // gemmKC × convBlockPix
	row []float32 // convBlockPix
	tmp [gemmMR * gemmNR]float32
}

var convBufPool = freeList[convBuf]{newT: func() *convBuf {
	return &convBuf{b: make([]float32, gemmKC*convBlockPix), row: make([]float32, convBlockPix)}
}}

// convJob is one Conv2D call; run(lo, hi) computes pixel blocks [lo, hi),
// numbered image-major.
type convJob struct {
	dst, src, bias []float32
	w              []float32
	apk            []float32 // packed weights: gemmKC slice s (mPad×kb floats) at s·sliceLen
	sliceLen       int       // mPad·gemmKC + 8 (slack for packA6's overhanging store)
	p              Conv2DParams
	oh, ow, sh, sw int
	kdim, npix     int
	mPad           int
	nb             int // pixels per block (multiple of gemmNR)
	blocks         int // blocks per image
}

var convJobPool freeList[convJob]

// convPackPool holds packed-weight buffers.
var convPackPool freeList[[]float32]

// conv2DPacked is Conv2D after the argument checks.
func conv2DPacked(dst, src []float32, p Conv2DParams, w, bias []float32) {
	if p.Batch == 0 {
		return
	}
	j := convJobPool.get()
	oh, ow := p.OutH(), p.OutW()
	sh, sw := p.strides()
	*j = convJob{dst: dst, src: src, bias: bias, p: p, oh: oh, ow: ow, sh: sh, sw: sw,
		kdim: p.InC * p.KH * p.KW, npix: oh * ow}
	j.mPad = (p.OutC + gemmMR - 1) / gemmMR * gemmMR

	ap := convPackPool.get()
	j.sliceLen = j.mPad*gemmKC + 8
	slices := (j.kdim + gemmKC - 1) / gemmKC
	if need := slices * j.sliceLen; cap(*ap) < need {
		*ap = make([]float32, need)
	}
	j.apk = (*ap)[:cap(*ap)]
	j.w = w
	// Pack the weights, gemmKC slices spread over the pool (each slice has
	// its own slack, so concurrent packA calls never overlap).
	pk := (*convPackJob)(j)
	parallelRun(slices, max(1, (1<<18)/(p.OutC*gemmKC)), pk)

	// Enough blocks to keep every core busy, none larger than convBlockPix.
	j.nb = convBlockPix
	if t := Threads(); t > 1 && p.Batch < t {
		per := (j.npix*p.Batch + t - 1) / t
		j.nb = min(j.nb, max(gemmNR, (per+gemmNR-1)/gemmNR*gemmNR))
	}
	j.blocks = (j.npix + j.nb - 1) / j.nb
	total := p.Batch * j.blocks
	// at least ~1 MFLOP per chunk handed to another core
	grain := max(1, gemmMinFlopsPerThread/max(1, 2*p.OutC*j.kdim*j.nb))
	parallelRun(total, grain, j)

	convPackPool.put(ap)
	*j = convJob{}
	convJobPool.put(j)
}

// convPackJob packs gemmKC slices [lo, hi) of a convJob's weights.
type convPackJob convJob

func (j *convPackJob) run(lo, hi int) {
	for s := lo; s < hi; s++ {
		pc := s * gemmKC
		packA(j.apk[s*j.sliceLen:], false, j.w, j.kdim, 0, j.p.OutC, pc, min(gemmKC, j.kdim-pc))
	}
}

func (j *convJob) run(lo, hi int) {
	buf := convBufPool.get()
	for t := lo; t < hi; t++ {
		n, blk := t/j.blocks, t%j.blocks
		pix0 := blk * j.nb
		j.block(buf, n, pix0, min(j.nb, j.npix-pix0))
	}
	convBufPool.put(buf)
}

// block computes output pixels [pix0, pix0+nb) of image n: sgemmSerial's
// loop nest with B packed straight from the input image.
func (j *convJob) block(buf *convBuf, n, pix0, nb int) {
	p := j.p
	in := j.src[n*p.InC*p.InH*p.InW : (n+1)*p.InC*p.InH*p.InW]
	out := j.dst[n*p.OutC*j.npix : (n+1)*p.OutC*j.npix]
	m, npix := p.OutC, j.npix
	kern := gemmKernel
	for pc := 0; pc < j.kdim; pc += gemmKC {
		kb := min(gemmKC, j.kdim-pc)
		j.packB(buf, in, pc, kb, pix0, nb)
		load := pc > 0
		var bet float32
		if load {
			bet = 1
		}
		apc := j.apk[pc/gemmKC*j.sliceLen:]
		for ic := 0; ic < m; ic += gemmMC {
			mb := min(gemmMC, m-ic)
			for jr := 0; jr < nb; jr += gemmNR {
				nrb := min(gemmNR, nb-jr)
				bp := buf.b[jr*kb:]
				for ir := 0; ir < mb; ir += gemmMR {
					mrb := min(gemmMR, mb-ir)
					ap := apc[(ic+ir)*kb:]
					coff := (ic+ir)*npix + pix0 + jr
					if mrb == gemmMR && nrb == gemmNR {
						kern(kb, ap, bp, out[coff:], npix, 1, bet, load)
						continue
					}
					t := buf.tmp[:]
					kern(kb, ap, bp, t, gemmNR, 1, 0, false)
					for r := 0; r < mrb; r++ {
						cr := out[coff+r*npix : coff+r*npix+nrb]
						tr := t[r*gemmNR : r*gemmNR+nrb]
						if load {
							for x := range cr {
								cr[x] = tr[x] + bet*cr[x]
							}
						} else {
							copy(cr, tr)
						}
					}
				}
			}
		}
	}
	for o, bv := range j.bias {
		row := out[o*npix+pix0 : o*npix+pix0+nb]
		for x := range row {
			row[x] += bv
		}
	}
}

// packB writes rows [pc, pc+kb) × pixels [pix0, pix0+nb) of the image's
// patch matrix into buf.b as gemmNR-column panels (k-major, the last one
// zero-padded), the layout packB in gemm_fast.go produces.
func (j *convJob) packB(buf *convBuf, in []float32, pc, kb, pix0, nb int) {
	p := j.p
	direct := p.KH == 1 && p.KW == 1 && j.sh == 1 && j.sw == 1 && p.PadH == 0 && p.PadW == 0
	khw := p.KH * p.KW
	for q := 0; q < kb; q++ {
		r := pc + q
		c, ky, kx := r/khw, r%khw/p.KW, r%p.KW
		plane := in[c*p.InH*p.InW : (c+1)*p.InH*p.InW]
		var row []float32
		switch {
		case direct && !p.ReLUInput:
			row = plane[pix0 : pix0+nb]
		case direct:
			row = buf.row[:nb]
			copy(row, plane[pix0:pix0+nb])
		default:
			row = buf.row[:nb]
			j.im2colRow(row, plane, ky, kx, pix0)
		}
		if p.ReLUInput {
			reluVec(row) // NaN and −0 kept, as ReLU does
		}
		scatterPanels(buf.b, row, kb, q)
	}
}

// scatterPanels stores row (one patch-matrix row of a pixel block) as row q
// of the gemmNR-column panels of dst (each kb×gemmNR), zero-padding the last
// panel.
func scatterPanels(dst, row []float32, kb, q int) {
	nb := len(row)
	full := nb &^ (gemmNR - 1)
	d := dst[q*gemmNR:]
	for jr := 0; jr < full; jr += gemmNR {
		*(*[gemmNR]float32)(d[jr*kb:]) = *(*[gemmNR]float32)(row[jr:])
	}
	if full < nb {
		dp := (*[gemmNR]float32)(d[full*kb:])
		n := copy(dp[:], row[full:])
		clear(dp[n:])
	}
}

// im2colRow writes the patch-matrix row of plane for kernel offset (ky, kx)
// over output pixels [pix0, pix0+len(row)).
func (j *convJob) im2colRow(row, plane []float32, ky, kx, pix0 int) {
	p := j.p
	ow, sh, sw := j.ow, j.sh, j.sw
	pc := len(row)
	for i := 0; i < pc; {
		y, x0 := (pix0+i)/ow, (pix0+i)%ow
		span := min(ow-x0, pc-i) // pixels left in this output row
		dstRow := row[i : i+span]
		i += span
		iy := y*sh - p.PadH + ky
		if iy < 0 || iy >= p.InH {
			clear(dstRow)
			continue
		}
		srcRow := plane[iy*p.InW : (iy+1)*p.InW]
		if sw == 1 {
			// ix = x - PadW + kx: one run of in-range pixels, zeros around it.
			off := x0 + kx - p.PadW // ix = x + off
			lo := min(max(-off, 0), span)
			hi := max(min(p.InW-off, span), lo)
			clear(dstRow[:lo])
			if hi > lo {
				copy(dstRow[lo:hi], srcRow[lo+off:hi+off])
			}
			clear(dstRow[hi:])
			continue
		}
		for x := range dstRow {
			ix := (x0+x)*sw - p.PadW + kx
			if ix < 0 || ix >= p.InW {
				dstRow[x] = 0
			} else {
				dstRow[x] = srcRow[ix]
			}
		}
	}
}
