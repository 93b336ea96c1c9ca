package kernels

// Blocking of the packed SGEMM (the BLIS/GotoBLAS loop nest). The micro-kernel
// computes a gemmMR×gemmNR tile of C from a gemmMR-row panel of packed A and a
// gemmNR-column panel of packed B. gemmKC×gemmNR floats of B (16 KiB) stay in
// L1 while the kernel walks the gemmMC rows of the packed A block (L2); the
// packed B block (gemmKC×gemmNC) lives in L2/L3.
const (
	gemmMR = 6
	gemmNR = 16
	gemmKC = 256
	gemmMC = 240 // multiple of gemmMR
	gemmNC = 1536
)

// gemmBuf is one worker's packing scratch.
type gemmBuf struct {
	a   []float32 // gemmMC×gemmKC, plus slack for packA6's overhanging store
	b   []float32 // gemmKC×gemmNC
	tmp [gemmMR * gemmNR]float32
}

var gemmBufPool = freeList[gemmBuf]{newT: func() *gemmBuf {
	return &gemmBuf{a: make([]float32, gemmMC*gemmKC+8), b: make([]float32, gemmKC*gemmNC)}
}}

// microKernel computes T = alpha·Σ_p A[p][0:6]ᵀ·B[p][0:16] over kc packed steps
// and stores it to the 6×16 tile at c (row stride ldc): c = T when loadC is
// false (c is not read), c = T + beta·c otherwise.
type microKernelFunc func(kc int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool)

// gemmKernel is the micro-kernel in use: assembly when the CPU allows it,
// else kernelGo. Set once in init.
var gemmKernel microKernelFunc = kernelGo

// gemmKernel12, when not nil, computes two gemmMR×gemmNR tiles stacked
// (2·gemmMR rows of C) from two consecutive packed A panels against one B
// panel, with per element the same FMAs in the same order as gemmKernel
// (bit-identical results); the loop nest uses it wherever a full 12×16
// tile fits and gemmKernel for the rest. Set with gemmKernel.
var gemmKernel12 microKernelFunc

// kernelGo is the portable micro-kernel. It walks the tile in 1×8 strips
// with eight scalar accumulators, which the Go compiler keeps in registers
// (a [6][16] accumulator array would live in memory and run ~2× slower).
func kernelGo(kc int, a, b, c []float32, ldc int, alpha, beta float32, loadC bool) {
	a = a[:kc*gemmMR]
	b = b[:kc*gemmNR]
	for r := 0; r < gemmMR; r++ {
		for h := 0; h < gemmNR; h += 8 {
			var c0, c1, c2, c3, c4, c5, c6, c7 float32
			for p := 0; p < kc; p++ {
				av := a[p*gemmMR+r]
				bp := (*[8]float32)(b[p*gemmNR+h:])
				c0 += av * bp[0]
				c1 += av * bp[1]
				c2 += av * bp[2]
				c3 += av * bp[3]
				c4 += av * bp[4]
				c5 += av * bp[5]
				c6 += av * bp[6]
				c7 += av * bp[7]
			}
			cr := (*[8]float32)(c[r*ldc+h:])
			if loadC {
				cr[0] = alpha*c0 + beta*cr[0]
				cr[1] = alpha*c1 + beta*cr[1]
				cr[2] = alpha*c2 + beta*cr[2]
				cr[3] = alpha*c3 + beta*cr[3]
				cr[4] = alpha*c4 + beta*cr[4]
				cr[5] = alpha*c5 + beta*cr[5]
				cr[6] = alpha*c6 + beta*cr[6]
				cr[7] = alpha*c7 + beta*cr[7]
			} else {
				cr[0], cr[1], cr[2], cr[3] = alpha*c0, alpha*c1, alpha*c2, alpha*c3
				cr[4], cr[5], cr[6], cr[7] = alpha*c4, alpha*c5, alpha*c6, alpha*c7
			}
		}
	}
}

// scaleC sets C = beta·C (beta 0 clears without reading).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// sgemmSerial is the packed, cache-blocked SGEMM on the calling goroutine.
func sgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, buf *gemmBuf) {
	sgemmBlocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, 0, nil, beta, c, ldc, buf)
}

// sgemmBlocked is sgemmSerial's loop nest. With pw not nil, op(B) is
// columns [col0, col0+n) of the pre-packed weights (transB, b and ldb are
// unused): the micro-kernel reads pw's panels where it would read buf.b, so
// both paths run the same kernel calls on the same values in the same order
// and give bit-identical results. With pa not nil, op(A) is already packed
// there whole (packAAll: every row of every gemmKC slice), and the loop nest
// reads its panels instead of packing into buf.a.
func sgemmBlocked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pw *PackedWeights, col0 int, pa []float32, beta float32, c []float32, ldc int, buf *gemmBuf) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	kern, kern12 := gemmKernel, gemmKernel12
	for jc := 0; jc < n; jc += gemmNC {
		nb := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kb := min(gemmKC, k-pc)
			bpanels := buf.b
			if pw != nil {
				// Slice pc holds kb×stride floats; column j's panel starts at j·kb.
				bpanels = pw.data[pc*pw.stride+(col0+jc)*kb:]
			} else {
				packB(buf.b, transB, b, ldb, pc, kb, jc, nb)
			}
			bet := beta
			if pc > 0 {
				bet = 1
			}
			load := bet != 0
			for ic := 0; ic < m; ic += gemmMC {
				mb := min(gemmMC, m-ic)
				apanels := buf.a
				if pa != nil {
					apanels = pa[packedASliceOff(m, pc)+ic*kb:]
				} else {
					packA(buf.a, transA, a, lda, ic, mb, pc, kb)
				}
				for jr := 0; jr < nb; jr += gemmNR {
					nrb := min(gemmNR, nb-jr)
					bp := bpanels[jr*kb:]
					for ir := 0; ir < mb; ir += gemmMR {
						mrb := min(gemmMR, mb-ir)
						ap := apanels[ir*kb:]
						coff := (ic+ir)*ldc + jc + jr
						if kern12 != nil && nrb == gemmNR && mb-ir >= 2*gemmMR {
							kern12(kb, ap, bp, c[coff:], ldc, alpha, bet, load)
							ir += gemmMR // and the loop's own step: two panels
							continue
						}
						if mrb == gemmMR && nrb == gemmNR {
							kern(kb, ap, bp, c[coff:], ldc, alpha, bet, load)
							continue
						}
						t := buf.tmp[:]
						kern(kb, ap, bp, t, gemmNR, alpha, 0, false)
						for r := 0; r < mrb; r++ {
							cr := c[coff+r*ldc : coff+r*ldc+nrb]
							tr := t[r*gemmNR : r*gemmNR+nrb]
							if load {
								for j := range cr {
									cr[j] = tr[j] + bet*cr[j]
								}
							} else {
								copy(cr, tr)
							}
						}
					}
				}
			}
		}
	}
}

// packedARows is m rounded up to whole gemmMR-row panels.
func packedARows(m int) int { return (m + gemmMR - 1) / gemmMR * gemmMR }

// packedASliceOff is where gemmKC slice pc (a multiple of gemmKC) of an
// m-row op(A) starts in packAAll's layout: each slice holds
// packedARows(m)·kb floats of row panels, as packA lays out one gemmMC
// block, then 8 floats of slack that catch packA6's store past the end of
// the slice's last panel, so that slices can be packed concurrently.
func packedASliceOff(m, pc int) int { return (packedARows(m)*gemmKC + 8) * (pc / gemmKC) }

// packedALen is the length packAAll needs for an m×k op(A).
func packedALen(m, k int) int {
	if k == 0 {
		return 0
	}
	last := (k - 1) / gemmKC * gemmKC
	return packedASliceOff(m, last) + packedARows(m)*(k-last) + 8
}

// packAJob packs gemmKC slices [lo, hi) of op(A) for packAAll.
type packAJob struct {
	dst, a    []float32
	transA    bool
	lda, m, k int
}

var packAJobPool freeList[packAJob]

func (j *packAJob) run(lo, hi int) {
	for s := lo; s < hi; s++ {
		pc := s * gemmKC
		packA(j.dst[packedASliceOff(j.m, pc):], j.transA, j.a, j.lda, 0, j.m, pc, min(gemmKC, j.k-pc))
	}
}

// packAAll packs all of op(A) (m×k) into dst (packedALen(m, k) floats) for
// sgemmBlocked's pa, its gemmKC slices spread over the pool.
func packAAll(dst []float32, transA bool, a []float32, lda, m, k int) {
	j := packAJobPool.get()
	*j = packAJob{dst: dst, a: a, transA: transA, lda: lda, m: m, k: k}
	parallelRun((k+gemmKC-1)/gemmKC, 1, j)
	*j = packAJob{}
	packAJobPool.put(j)
}

// sharedA is the packed op(A) that the threads of a product split by
// columns share (gemmJob.pa), so that A is packed once instead of once per
// thread.
type sharedA struct{ data []float32 }

var sharedAPool freeList[sharedA]

// gemmSharedAMax bounds the packed A a column split shares (16 MiB; FLAVA's
// largest, image batch 8 into the 3072-wide MLP, is 1576×768 = 4.6 MiB);
// beyond it every thread packs its own blocks, as for a row split.
const gemmSharedAMax = 1 << 22

// packA copies rows [ic, ic+mb) × columns [pc, pc+kb) of op(A) into dst as
// gemmMR-row panels, each stored k-major (gemmMR values per k step), the last
// panel zero-padded.
func packA(dst []float32, transA bool, a []float32, lda, ic, mb, pc, kb int) {
	for ir := 0; ir < mb; ir += gemmMR {
		mrb := min(gemmMR, mb-ir)
		d := dst[ir*kb : ir*kb+kb*gemmMR]
		if transA {
			// op(A)[i][p] = a[p*lda+i]: gemmMR contiguous values per k step.
			for p := 0; p < kb; p++ {
				src := a[(pc+p)*lda+ic+ir:]
				dp := d[p*gemmMR : p*gemmMR+gemmMR]
				if mrb == gemmMR {
					copy(dp, src[:gemmMR])
				} else {
					copy(dp, src[:mrb])
					clear(dp[mrb:])
				}
			}
			continue
		}
		if mrb == gemmMR {
			p0 := 0
			if packA6(dst[ir*kb:], a[(ic+ir)*lda+pc:], lda, kb&^7) {
				p0 = kb &^ 7 // the assembly packed whole 6×8 blocks
			}
			r0 := a[(ic+ir)*lda+pc:][:kb]
			r1 := a[(ic+ir+1)*lda+pc:][:kb]
			r2 := a[(ic+ir+2)*lda+pc:][:kb]
			r3 := a[(ic+ir+3)*lda+pc:][:kb]
			r4 := a[(ic+ir+4)*lda+pc:][:kb]
			r5 := a[(ic+ir+5)*lda+pc:][:kb]
			for p := p0; p < kb; p++ {
				dp := (*[gemmMR]float32)(d[p*gemmMR:])
				dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
			continue
		}
		for r := 0; r < gemmMR; r++ {
			if r >= mrb {
				for p := 0; p < kb; p++ {
					d[p*gemmMR+r] = 0
				}
				continue
			}
			row := a[(ic+ir+r)*lda+pc:][:kb]
			for p, v := range row {
				d[p*gemmMR+r] = v
			}
		}
	}
}

// packB copies rows [pc, pc+kb) × columns [jc, jc+nb) of op(B) into dst as
// gemmNR-column panels, each stored k-major (gemmNR values per k step), the
// last panel zero-padded.
func packB(dst []float32, transB bool, b []float32, ldb, pc, kb, jc, nb int) {
	for jr := 0; jr < nb; jr += gemmNR {
		nrb := min(gemmNR, nb-jr)
		d := dst[jr*kb : jr*kb+kb*gemmNR]
		if !transB {
			for p := 0; p < kb; p++ {
				src := b[(pc+p)*ldb+jc+jr:]
				dp := d[p*gemmNR : p*gemmNR+gemmNR]
				copy(dp, src[:nrb])
				if nrb < gemmNR {
					clear(dp[nrb:])
				}
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]: PyTorch Linear weights, one row per output.
		p0 := 0
		if nrb == gemmNR && packBT16(d, b[(jc+jr)*ldb+pc:], ldb, kb&^7) {
			p0 = kb &^ 7 // the assembly packed whole 8×8 blocks
		}
		// Four source rows at a time keep four read streams going.
		j := 0
		for ; j+4 <= nrb; j += 4 {
			r0 := b[(jc+jr+j)*ldb+pc:][:kb]
			r1 := b[(jc+jr+j+1)*ldb+pc:][:kb]
			r2 := b[(jc+jr+j+2)*ldb+pc:][:kb]
			r3 := b[(jc+jr+j+3)*ldb+pc:][:kb]
			for p := p0; p < kb; p++ {
				dp := (*[4]float32)(d[p*gemmNR+j:])
				dp[0], dp[1], dp[2], dp[3] = r0[p], r1[p], r2[p], r3[p]
			}
		}
		for ; j < nrb; j++ {
			row := b[(jc+jr+j)*ldb+pc:][:kb]
			for p := p0; p < kb; p++ {
				d[p*gemmNR+j] = row[p]
			}
		}
		if nrb < gemmNR {
			for p := 0; p < kb; p++ {
				clear(d[p*gemmNR+nrb : p*gemmNR+gemmNR])
			}
		}
	}
}

// gemmJob is one Sgemm call split over the pool by column panels (splitN) or
// row panels of C; each chunk runs sgemmSerial with its own packing buffers.
type gemmJob struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	splitN         bool
	pw             *PackedWeights // pre-packed op(B), or nil
	pa             []float32      // op(A) packed whole (packAAll) for a column split, or nil
	epi            *epilogue      // applied to each thread's block of C, or nil
}

var gemmJobPool freeList[gemmJob]

func (j *gemmJob) run(lo, hi int) {
	buf := gemmBufPool.get()
	if j.splitN {
		j0, j1 := lo*gemmNR, min(hi*gemmNR, j.n)
		var b []float32
		switch {
		case j.pw != nil: // the packed panels are offset by column instead
		case j.transB:
			b = j.b[j0*j.ldb:]
		default:
			b = j.b[j0:]
		}
		j.epi.pre(j.c[j0:], j.ldc, j.m, j0, j1)
		sgemmBlocked(j.transA, j.transB, j.m, j1-j0, j.k, j.alpha, j.a, j.lda, b, j.ldb, j.pw, j0, j.pa, j.beta, j.c[j0:], j.ldc, buf)
		j.epi.post(j.c[j0:], j.ldc, j.m, j0, j1)
	} else {
		i0, i1 := lo*gemmMR, min(hi*gemmMR, j.m)
		a := j.a[i0*j.lda:]
		if j.transA {
			a = j.a[i0:]
		}
		j.epi.pre(j.c[i0*j.ldc:], j.ldc, i1-i0, 0, j.n)
		sgemmBlocked(j.transA, j.transB, i1-i0, j.n, j.k, j.alpha, a, j.lda, j.b, j.ldb, j.pw, 0, nil, j.beta, j.c[i0*j.ldc:], j.ldc, buf)
		j.epi.post(j.c[i0*j.ldc:], j.ldc, i1-i0, 0, j.n)
	}
	gemmBufPool.put(buf)
}

// gemmMinFlopsPerThread keeps small products on one core: handing a chunk to
// a worker costs a few microseconds.
const gemmMinFlopsPerThread = 1 << 20

// sgemmFast runs the packed SGEMM, split over the kernel pool when it is big
// enough. Arguments are already checked.
func sgemmFast(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmSplit(transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
}

// sgemmSplit is sgemmFast with an optional pre-packed op(B) (pw; then b and
// ldb are unused and transB is true). The split depends only on m, n, k and
// Threads(), so the packed and unpacked paths divide the work alike.
func sgemmSplit(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pw *PackedWeights, beta float32, c []float32, ldc int) {
	sgemmSplitEpi(transA, transB, m, n, k, alpha, a, lda, b, ldb, pw, beta, c, ldc, nil)
}

// sgemmSplitEpi is sgemmSplit with an optional epilogue, applied by each
// thread to its own block of C (see Epilogue).
func sgemmSplitEpi(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pw *PackedWeights, beta float32, c []float32, ldc int, epi *epilogue) {
	if m == 0 || n == 0 {
		return
	}
	flops := 2 * m * n * k
	if Threads() == 1 || flops < 2*gemmMinFlopsPerThread || k == 0 || alpha == 0 {
		buf := gemmBufPool.get()
		epi.pre(c, ldc, m, 0, n)
		sgemmBlocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, pw, 0, nil, beta, c, ldc, buf)
		epi.post(c, ldc, m, 0, n)
		gemmBufPool.put(buf)
		return
	}
	j := gemmJobPool.get()
	*j = gemmJob{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, pw: pw, epi: epi}
	tilesN, tilesM := (n+gemmNR-1)/gemmNR, (m+gemmMR-1)/gemmMR
	j.splitN = tilesN >= Threads() && n >= m || tilesM < Threads()
	var sa *sharedA
	if j.splitN {
		per := max(1, gemmMinFlopsPerThread/(2*m*k*gemmNR))
		if need := packedALen(m, k); (tilesN+per-1)/per > 1 && need <= gemmSharedAMax {
			// Several threads will each walk all of A: pack it once, here.
			sa = sharedAPool.get()
			if cap(sa.data) < need {
				sa.data = make([]float32, need)
			}
			j.pa = sa.data[:need]
			packAAll(j.pa, transA, a, lda, m, k)
		}
		parallelRun(tilesN, per, j)
	} else {
		per := max(1, gemmMinFlopsPerThread/(2*n*k*gemmMR))
		parallelRun(tilesM, per, j)
	}
	if sa != nil {
		sharedAPool.put(sa)
	}
	*j = gemmJob{}
	gemmJobPool.put(j)
}
