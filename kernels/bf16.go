package kernels

import (
	"fmt"
	"math"
)

// bfloat16 products: weights packed once to bf16, activations rounded to
// bf16 on entry to each product, float32 accumulation (VDPBF16PS on CPUs
// with AVX512_BF16, the plain-Go twin bf16KernelGo elsewhere, with the same
// rounding). Only the products are bf16: everything else stays float32.

// BF16FromFloat32 rounds f to bfloat16 (the upper 16 bits of a float32) to
// nearest, ties to even, as VCVTNE2PS2BF16 does: denormal inputs become a
// zero of the same sign, NaNs stay NaN (quieted), overflow rounds to ±Inf.
func BF16FromFloat32(f float32) uint16 {
	u := math.Float32bits(f)
	switch {
	case u&0x7f800000 == 0: // zero or denormal: treated as zero
		return uint16(u>>16) & 0x8000
	case u&0x7fffffff > 0x7f800000: // NaN
		return uint16(u>>16) | 0x40
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// BF16ToFloat32 widens a bfloat16 to float32 (exact).
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// bf16In widens a bf16 the way VDPBF16PS reads it: denormals as zero.
func bf16In(h uint16) float32 {
	if h&0x7f80 == 0 {
		return 0
	}
	return math.Float32frombits(uint32(h) << 16)
}

// ftz flushes a denormal float32 result to zero, as VDPBF16PS does.
func ftz(f float32) float32 {
	if math.Float32bits(f)&0x7f800000 == 0 {
		return 0
	}
	return f
}

// convertBF16Go is the plain-Go twin of cvtBF16AVX512.
func convertBF16Go(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = BF16FromFloat32(v)
	}
}

// ConvertBF16 sets dst[i] = BF16FromFloat32(src[i]) (len(dst) ≥ len(src)).
func ConvertBF16(dst []uint16, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("kernels: ConvertBF16 of %d values into %d", len(src), len(dst)))
	}
	convertBF16(dst, src)
}

// Blocking of the bf16 product. The micro-kernel computes a
// bf16MR×bf16NR tile of C from bf16MR rows of the converted, row-major A
// (read in place, pair q of a row being its elements 2q and 2q+1) and a
// bf16NR-column panel of packed B (bf16KC×bf16NR bf16 = 48 KiB, from L2).
// bf16KC = 768 covers FLAVA's K = 768 products in one slice, so each tile
// of C is loaded and stored once: against 256 (a 16 KiB panel in L1) it
// ran 13–18 % more GFLOP per CPU second at 197 and 1576 rows, N or K = 3072
// (BenchmarkSgemmBF16; 1024 and 1536 were no better).
const (
	bf16MR = 12
	bf16NR = 32
	bf16KC = 768 // even
	bf16MC = 240 // multiple of bf16MR
	bf16NC = 1536
)

// bf16KernelFunc accumulates, for r < bf16MR and j < bf16NR,
//
//	acc = load ? c[r·ldc+j] : 0
//	for q < kp: acc += A[r][2q+1]·B[2q+1][j]; acc += A[r][2q]·B[2q][j]
//	c[r·ldc+j] = acc
//
// in float32, rounding after every add and flushing denormals (VDPBF16PS's
// order and rounding; the products of two bf16 are exact in float32). A
// row r starts at a[r·lda]; b is a packed panel, bf16NR pairs per q
// (b[q·2·bf16NR + 2j + t] = B[2q+t][j]).
type bf16KernelFunc func(kp int, a []uint16, lda int, b []uint16, c []float32, ldc int, load bool)

// bf16Kernel is the bf16 micro-kernel in use: VDPBF16PS assembly when the
// CPU has AVX512_BF16, else bf16KernelGo. Set in init and by SetBF16Path.
var bf16Kernel bf16KernelFunc = bf16KernelGo

// convertBF16 converts with the assembly when the CPU allows it.
var convertBF16 = convertBF16Go

// bf16KernelGo is the plain-Go micro-kernel: the reference the assembly is
// tested against bit for bit, and the emulation on CPUs without
// AVX512_BF16 (BenchmarkSgemmBF16 has its speed).
func bf16KernelGo(kp int, a []uint16, lda int, b []uint16, c []float32, ldc int, load bool) {
	b = b[:kp*2*bf16NR]
	for r := 0; r < bf16MR; r++ {
		ar := a[r*lda : r*lda+2*kp]
		cr := c[r*ldc : r*ldc+bf16NR]
		for j := 0; j < bf16NR; j += 4 {
			var c0, c1, c2, c3 float32
			if load {
				c0, c1, c2, c3 = cr[j], cr[j+1], cr[j+2], cr[j+3]
			}
			for q := 0; q < kp; q++ {
				a0, a1 := bf16In(ar[2*q]), bf16In(ar[2*q+1])
				bq := (*[8]uint16)(b[q*2*bf16NR+2*j:])
				c0 = ftz(c0 + a1*bf16In(bq[1]))
				c0 = ftz(c0 + a0*bf16In(bq[0]))
				c1 = ftz(c1 + a1*bf16In(bq[3]))
				c1 = ftz(c1 + a0*bf16In(bq[2]))
				c2 = ftz(c2 + a1*bf16In(bq[5]))
				c2 = ftz(c2 + a0*bf16In(bq[4]))
				c3 = ftz(c3 + a1*bf16In(bq[7]))
				c3 = ftz(c3 + a0*bf16In(bq[6]))
			}
			cr[j], cr[j+1], cr[j+2], cr[j+3] = c0, c1, c2, c3
		}
	}
}

// PackedWeightsBF16 is a Linear weight (PyTorch's out×in layout) rounded to
// bfloat16 and packed once into the panels the bf16 micro-kernel reads, for
// SgemmPackedBF16 and LinearPackedBF16. It takes 2·⌈in/2⌉·2·⌈out/32⌉·32
// bytes, half the float32 weight. Read-only after PackWeightsBF16 and safe
// for concurrent use.
//
// Layout: for each bf16KC-deep slice of the (even-padded) input dimension in
// order, every bf16NR-column panel, pair-major: for pair q of the slice and
// column j, B[2q][j] then B[2q+1][j], where B = Wᵀ; padding is zero.
type PackedWeightsBF16 struct {
	out, in int
	kpad    int // in rounded up to even
	stride  int // out rounded up to a multiple of bf16NR
	data    []uint16
}

// PackWeightsBF16 rounds w (out×in, row-major) to bf16 and packs it.
func PackWeightsBF16(w []float32, out, in int) *PackedWeightsBF16 {
	if out < 0 || in < 0 || len(w) < out*in {
		panic(fmt.Sprintf("kernels: PackWeightsBF16 %dx%d from %d values", out, in, len(w)))
	}
	kpad := (in + 1) &^ 1
	stride := (out + bf16NR - 1) / bf16NR * bf16NR
	p := &PackedWeightsBF16{out: out, in: in, kpad: kpad, stride: stride, data: make([]uint16, kpad*stride)}
	for pc := 0; pc < kpad; pc += bf16KC {
		kb := min(bf16KC, kpad-pc)
		slice := p.data[pc*stride:]
		for j := 0; j < out; j++ {
			panel := slice[(j/bf16NR)*bf16NR*kb:]
			jj := j % bf16NR
			row := w[j*in : j*in+in]
			for t := 0; t < kb; t++ {
				if k := pc + t; k < in {
					panel[(t/2)*2*bf16NR+2*jj+t%2] = BF16FromFloat32(row[k])
				}
			}
		}
	}
	return p
}

// Out is the number of output features (rows of the source weight).
func (p *PackedWeightsBF16) Out() int { return p.out }

// In is the number of input features (columns of the source weight).
func (p *PackedWeightsBF16) In() int { return p.in }

// Bytes is the memory the packed copy holds.
func (p *PackedWeightsBF16) Bytes() int64 { return 2 * int64(len(p.data)) }

// bf16Buf holds one call's activations converted to bf16: rows rounded up
// to a multiple of bf16MR (zero rows past m), each kpad long.
type bf16Buf struct {
	a   []uint16
	tmp [bf16MR * bf16NR]float32
}

var bf16BufPool freeList[bf16Buf]

// bf16TmpPool holds the edge-tile scratch of the pool workers.
var bf16TmpPool freeList[[bf16MR * bf16NR]float32]

// SgemmPackedBF16 computes C = A·Wᵀ + beta·C with A rounded to bf16, the
// weight as packed, and float32 accumulation: A is m×w.In() (row stride
// lda), C is m×w.Out() (row stride ldc). When beta is 0, C is not read.
// Each element is accumulated in one fixed order (bf16KernelFunc's), so the
// result does not depend on the thread count or the kernel (assembly or Go).
// The opt-in "amx" path (SetBF16Path) is the exception: for weights whose
// w.kpad is a multiple of 32 it accumulates in TDPBF16PS's order (still
// fixed, so still independent of the thread count, but not bit-identical
// to the other paths). In steady state it does not allocate.
func SgemmPackedBF16(m int, a []float32, lda int, w *PackedWeightsBF16, beta float32, c []float32, ldc int) {
	sgemmPackedBF16Epi(m, a, lda, w, beta, c, ldc, nil)
}

// sgemmPackedBF16Epi is SgemmPackedBF16 with an optional epilogue, applied
// by each thread to its own block of C (see Epilogue).
func sgemmPackedBF16Epi(m int, a []float32, lda int, w *PackedWeightsBF16, beta float32, c []float32, ldc int, epi *epilogue) {
	n, k := w.out, w.in
	switch {
	case m < 0:
		panic(fmt.Sprintf("kernels: SgemmPackedBF16 negative m=%d", m))
	case m > 0 && k > 0 && (lda < k || len(a) < (m-1)*lda+k):
		panic(fmt.Sprintf("kernels: SgemmPackedBF16 A %dx%d lda=%d len=%d", m, k, lda, len(a)))
	case m > 0 && n > 0 && (ldc < n || len(c) < (m-1)*ldc+n):
		panic(fmt.Sprintf("kernels: SgemmPackedBF16 C %dx%d ldc=%d len=%d", m, n, ldc, len(c)))
	}
	if m == 0 || n == 0 {
		return
	}
	if beta != 0 && beta != 1 {
		scaleC(m, n, beta, c, ldc)
		beta = 1
	}
	if k == 0 {
		epi.pre(c, ldc, m, 0, n)
		scaleC(m, n, beta, c, ldc)
		epi.post(c, ldc, m, 0, n)
		return
	}
	useAMX := bf16UseAMX && w.kpad%amxKStep == 0
	mr := bf16MR
	if useAMX {
		mr = amxMR
	}
	buf := bf16BufPool.get()
	mpad := (m + mr - 1) / mr * mr
	if need := mpad * w.kpad; cap(buf.a) < need {
		buf.a = make([]uint16, need)
	}
	abf := buf.a[:mpad*w.kpad]
	for i := 0; i < m; i++ {
		row := abf[i*w.kpad : (i+1)*w.kpad]
		convertBF16(row, a[i*lda:i*lda+k])
		if k < w.kpad {
			row[k] = 0
		}
	}
	clear(abf[m*w.kpad:])
	load := beta != 0
	if Threads() == 1 || 2*m*n*k < 2*gemmMinFlopsPerThread {
		epi.pre(c, ldc, m, 0, n)
		if useAMX {
			tmp := amxTmpPool.get()
			amxBlocked(m, n, abf, w, 0, load, c, ldc, tmp)
			amxTmpPool.put(tmp)
		} else {
			bf16Blocked(m, n, abf, w, 0, load, c, ldc, &buf.tmp)
		}
		epi.post(c, ldc, m, 0, n)
	} else {
		j := bf16JobPool.get()
		*j = bf16Job{m: m, n: n, a: abf, w: w, c: c, ldc: ldc, load: load, amx: useAMX, epi: epi}
		tilesN, tilesM := (n+bf16NR-1)/bf16NR, (m+mr-1)/mr
		j.splitN = tilesN >= Threads() && n >= m || tilesM < Threads()
		if j.splitN {
			parallelRun(tilesN, max(1, gemmMinFlopsPerThread/(2*m*k*bf16NR)), j)
		} else {
			parallelRun(tilesM, max(1, gemmMinFlopsPerThread/(2*n*k*mr)), j)
		}
		*j = bf16Job{}
		bf16JobPool.put(j)
	}
	bf16BufPool.put(buf)
}

// LinearPackedBF16 computes dst = x·Wᵀ + bias with SgemmPackedBF16 (bias,
// w.Out() values or nil, added in float32).
func LinearPackedBF16(dst, x []float32, rows int, w *PackedWeightsBF16, bias []float32) {
	SgemmPackedBF16(rows, x, w.in, w, 0, dst, w.out)
	if bias != nil {
		AddBias(dst, rows, w.out, bias)
	}
}

// bf16Job is SgemmPackedBF16 split over the pool by column panels (splitN)
// or row panels of C (bf16MR rows each, amxMR with amx).
type bf16Job struct {
	m, n   int
	a      []uint16
	w      *PackedWeightsBF16
	c      []float32
	ldc    int
	load   bool
	splitN bool
	epi    *epilogue
	amx    bool // the AMX loop nest (amxBlocked)
}

var bf16JobPool freeList[bf16Job]

func (j *bf16Job) run(lo, hi int) {
	// The block of C this chunk owns: columns j0..j1 of every row (a split
	// by column panels), or rows i0..i1 of every column.
	m, n, i0, j0 := j.m, j.n, 0, 0
	if j.splitN {
		j0, n = lo*bf16NR, min(hi*bf16NR, j.n)-lo*bf16NR
	} else {
		mr := bf16MR
		if j.amx {
			mr = amxMR
		}
		i0, m = lo*mr, min(hi*mr, j.m)-lo*mr
	}
	c, a := j.c[i0*j.ldc+j0:], j.a[i0*j.w.kpad:]
	j.epi.pre(c, j.ldc, m, j0, j0+n)
	if j.amx {
		tmp := amxTmpPool.get()
		amxBlocked(m, n, a, j.w, j0, j.load, c, j.ldc, tmp)
		amxTmpPool.put(tmp)
	} else {
		tmp := bf16TmpPool.get()
		bf16Blocked(m, n, a, j.w, j0, j.load, c, j.ldc, tmp)
		bf16TmpPool.put(tmp)
	}
	j.epi.post(c, j.ldc, m, j0, j0+n)
}

// bf16Blocked is the loop nest over m×n of C (columns col0.. of the packed
// weight), A being converted rows (w.kpad long, zero rows up to a multiple
// of bf16MR).
func bf16Blocked(m, n int, a []uint16, w *PackedWeightsBF16, col0 int, load bool, c []float32, ldc int, tmp *[bf16MR * bf16NR]float32) {
	kern := bf16Kernel
	lda := w.kpad
	for jc := 0; jc < n; jc += bf16NC {
		nb := min(bf16NC, n-jc)
		for pc := 0; pc < lda; pc += bf16KC {
			kb := min(bf16KC, lda-pc)
			panels := w.data[pc*w.stride+(col0+jc)*kb:]
			ld := load || pc > 0
			for ic := 0; ic < m; ic += bf16MC {
				mb := min(bf16MC, m-ic)
				for jr := 0; jr < nb; jr += bf16NR {
					nrb := min(bf16NR, nb-jr)
					bp := panels[jr*kb:]
					for ir := 0; ir < mb; ir += bf16MR {
						mrb := min(bf16MR, mb-ir)
						ap := a[(ic+ir)*lda+pc:]
						coff := (ic+ir)*ldc + jc + jr
						if mrb == bf16MR && nrb == bf16NR {
							kern(kb/2, ap, lda, bp, c[coff:], ldc, ld)
							continue
						}
						t := tmp[:]
						if ld {
							for r := 0; r < mrb; r++ {
								copy(t[r*bf16NR:r*bf16NR+nrb], c[coff+r*ldc:coff+r*ldc+nrb])
							}
						}
						kern(kb/2, ap, lda, bp, t, bf16NR, ld)
						for r := 0; r < mrb; r++ {
							copy(c[coff+r*ldc:coff+r*ldc+nrb], t[r*bf16NR:r*bf16NR+nrb])
						}
					}
				}
			}
		}
	}
}

// BF16Native reports whether bf16 products run on native instructions
// (AVX512_BF16 VDPBF16PS) on this CPU in this build. Without them
// SgemmPackedBF16 still works, on the plain-Go emulation, which is one to
// two orders of magnitude slower than float32 Sgemm (BenchmarkSgemmBF16).
func BF16Native() bool { return bf16Native }
