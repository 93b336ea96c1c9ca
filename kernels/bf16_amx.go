package kernels

import (
	"fmt"
	"math"
)

// The AMX (TDPBF16PS) loop nest of SgemmPackedBF16. Off by default: no
// machine this project ran on has AMX, so the assembly kernel
// (kernAMXBF16) has never run; SetBF16Path("amx") or FLAVABEAM_BF16_PATH=amx
// turns it on where amxEnable succeeds (see doc.go for how to verify it).
//
// It reads the same operands as the VDPBF16PS loop nest: the packed weight
// unchanged (per bf16KC-deep K slice, per bf16NR = 32-column panel, pair
// rows of 32 columns × 2 bf16 = 128 bytes, which is exactly a 16-row ×
// 64-byte B tile per 16 pairs and half-panel) and the converted activations
// row-major, w.kpad bf16 per row (rows padded to a multiple of amxMR
// instead of bf16MR). C is computed in 32×32 blocks, four 16×16 float32
// tiles, with K in steps of 32 (amxKStep): every K slice must be a multiple
// of 32, so the AMX nest runs only when w.kpad is a multiple of 32 (FLAVA's
// K = 768 and 3072 are); other weights take the VDPBF16PS (or Go) kernel.
const (
	amxMR    = 32  // rows of a C block (two 16-row tiles)
	amxKStep = 32  // bf16 per TDPBF16PS step (16 pairs, 64-byte A tile rows)
	amxMC    = 256 // rows of C per pass over a B panel; a multiple of amxMR; untuned
)

// amxKernelFunc computes, for each of blocks 32-row blocks of C (block i
// at rows 32i..32i+31: A rows start at byte offset (32i+r)·ldaBytes of a,
// C rows at (32i+r)·ldcBytes of c) and the 32-column panel b (kp pairs,
// b[q·64 + 2j + t] = B[2q+t][j]):
//
//	C = (load ? C : 0) + A[32 rows][2kp]·B[2kp][32 columns]
//
// as LDTILECFG from cfg (amxTileConfig), then per block: tiles 0–3 = C
// (TILELOADD or TILEZERO), per 16 pairs TILELOADD of A rows 0–15 and 16–31
// (tiles 4, 5) and of B columns 0–15 and 16–31 (tiles 6, 7, row stride 128
// bytes), four TDPBF16PS (tile c += a·b: 0 += 4·6, 1 += 4·7, 2 += 5·6,
// 3 += 5·7), TILESTORED of tiles 0–3; TILERELEASE at the end. The strides
// are in bytes, as the tile instructions take them. kp is a positive
// multiple of 16, blocks positive.
type amxKernelFunc func(cfg *[64]byte, kp int, a []uint16, ldaBytes int, b []uint16, c []float32, ldcBytes int, load bool, blocks int)

// amxKernel is the AMX kernel the AMX loop nest calls: kernAMXBF16 through
// amxKernelAsm once SetBF16Path("amx") selects it; tests substitute the Go
// twin amxKernelGo.
var amxKernel amxKernelFunc = amxKernelGo

// bf16UseAMX reports whether SgemmPackedBF16 takes the AMX loop nest (for
// weights with w.kpad a multiple of amxKStep). Set by SetBF16Path.
var bf16UseAMX bool

// amxTileConfig is the 64-byte LDTILECFG operand of the AMX kernel: palette
// 1, start row 0, tiles 0–7 of 16 rows × 64 bytes (colsb at 16+2t as a
// little-endian uint16, rows at 48+t).
var amxTileConfig = func() [64]byte {
	var c [64]byte
	c[0] = 1
	for t := 0; t < 8; t++ {
		c[16+2*t] = 64
		c[48+t] = 16
	}
	return c
}()

// amxKernelArgs panics unless the operands hold everything an
// amxKernelFunc call touches (the assembly has no bounds checks).
func amxKernelArgs(kp int, a []uint16, ldaBytes int, b []uint16, c []float32, ldcBytes int, blocks int) {
	rows := amxMR * blocks
	if kp <= 0 || kp%16 != 0 || blocks <= 0 || ldaBytes%2 != 0 || ldcBytes%4 != 0 ||
		ldaBytes < 4*kp || ldcBytes < 4*bf16NR ||
		2*len(a) < (rows-1)*ldaBytes+4*kp || len(b) < kp*2*bf16NR || 4*len(c) < (rows-1)*ldcBytes+4*bf16NR {
		panic(fmt.Sprintf("kernels: AMX kernel kp=%d blocks=%d a=%d ldaBytes=%d b=%d c=%d ldcBytes=%d",
			kp, blocks, len(a), ldaBytes, len(b), len(c), ldcBytes))
	}
}

// amxTiles is the tile register file of palette 1 as amxKernelGo models it:
// eight tiles of up to 16 rows × 16 dwords (a dword holds a float32 or a
// bf16 pair, the even element in the low half), with each tile's rows and
// bytes per row from the configuration.
type amxTiles struct {
	t     [8][16][16]uint32
	rows  [8]int
	colsb [8]int
}

// config is LDTILECFG for palette 1 (start row 0): it sets the shapes and
// zeroes every tile.
func (m *amxTiles) config(cfg *[64]byte) {
	if cfg[0] != 1 || cfg[1] != 0 {
		panic(fmt.Sprintf("kernels: amxKernelGo models palette 1 from row 0, not palette %d row %d", cfg[0], cfg[1]))
	}
	for t := range m.t {
		m.rows[t] = int(cfg[48+t])
		m.colsb[t] = int(cfg[16+2*t]) | int(cfg[17+2*t])<<8
		if m.rows[t] > 16 || m.colsb[t] > 64 || m.colsb[t]%4 != 0 {
			panic(fmt.Sprintf("kernels: tile %d configured %d rows × %d bytes", t, m.rows[t], m.colsb[t]))
		}
		m.zero(t)
	}
}

func (m *amxTiles) zero(t int) { m.t[t] = [16][16]uint32{} }

// loadBF16 is TILELOADD of bf16 data: row r from src[off+r·stride:], two
// bf16 per dword (rows and dwords past the shape zeroed, as the hardware
// does).
func (m *amxTiles) loadBF16(t int, src []uint16, off, stride int) {
	m.zero(t)
	for r := 0; r < m.rows[t]; r++ {
		row := src[off+r*stride : off+r*stride+m.colsb[t]/2]
		for d := range m.colsb[t] / 4 {
			m.t[t][r][d] = uint32(row[2*d]) | uint32(row[2*d+1])<<16
		}
	}
}

// loadF32 is TILELOADD of float32 data.
func (m *amxTiles) loadF32(t int, src []float32, off, stride int) {
	m.zero(t)
	for r := 0; r < m.rows[t]; r++ {
		row := src[off+r*stride : off+r*stride+m.colsb[t]/4]
		for d, v := range row {
			m.t[t][r][d] = math.Float32bits(v)
		}
	}
}

// storeF32 is TILESTORED of float32 data.
func (m *amxTiles) storeF32(t int, dst []float32, off, stride int) {
	for r := 0; r < m.rows[t]; r++ {
		row := dst[off+r*stride : off+r*stride+m.colsb[t]/4]
		for d := range row {
			row[d] = math.Float32frombits(m.t[t][r][d])
		}
	}
}

// tdpbf16ps is TDPBF16PS dst, src1, src2 as Intel's SDM pseudo-code gives
// it: for each row of dst, two float32 sums per column start at zero, one
// over the even and one over the odd products of the K = colsb(src1)/4
// pairs, each step a fused multiply-add (the product of two bf16 is exact
// in float32, so an add of the product) with bf16 denormal inputs read as
// zero and denormal results flushed, round to nearest even; then dst +=
// even + odd, two more rounded, flushed adds. The SDM leaves the hardware
// some latitude here, so the assembly is compared with this twin within a
// tolerance, not bit for bit.
func (m *amxTiles) tdpbf16ps(dst, src1, src2 int) {
	kp := m.colsb[src1] / 4
	n := m.colsb[dst] / 4
	var even, odd [16]float32
	for r := 0; r < m.rows[dst]; r++ {
		clear(even[:])
		clear(odd[:])
		for k := 0; k < kp; k++ {
			a := m.t[src1][r][k]
			a0, a1 := bf16In(uint16(a)), bf16In(uint16(a>>16))
			brow := &m.t[src2][k]
			for j := 0; j < n; j++ {
				even[j] = ftz(even[j] + a0*bf16In(uint16(brow[j])))
				odd[j] = ftz(odd[j] + a1*bf16In(uint16(brow[j]>>16)))
			}
		}
		crow := &m.t[dst][r]
		for j := 0; j < n; j++ {
			crow[j] = math.Float32bits(ftz(math.Float32frombits(crow[j]) + ftz(even[j]+odd[j])))
		}
	}
}

// amxKernelGo is the plain-Go twin of kernAMXBF16 (amxKernelFunc's
// contract): the same instructions in the same order on a model of the
// tile registers (amxTiles), with the same byte-stride address arithmetic.
// It lets the AMX loop nest be tested on any CPU, and is the reference the
// assembly is checked against (within a tolerance) where AMX exists. It is
// slow (a scalar emulation) and never selected for real work.
func amxKernelGo(cfg *[64]byte, kp int, a []uint16, ldaBytes int, b []uint16, c []float32, ldcBytes int, load bool, blocks int) {
	amxKernelArgs(kp, a, ldaBytes, b, c, ldcBytes, blocks)
	var m amxTiles
	m.config(cfg) // LDTILECFG
	lda, ldc := ldaBytes/2, ldcBytes/4
	a0, c0 := 0, 0 // rows 0 of the block, in elements
	for range blocks {
		a16, c16 := a0+16*lda, c0+16*ldc
		if load {
			m.loadF32(0, c, c0, ldc)
			m.loadF32(1, c, c0+16, ldc)
			m.loadF32(2, c, c16, ldc)
			m.loadF32(3, c, c16+16, ldc)
		} else {
			for t := 0; t < 4; t++ {
				m.zero(t)
			}
		}
		for s := 0; s < kp/16; s++ {
			m.loadBF16(4, a, a0+32*s, lda)
			m.loadBF16(5, a, a16+32*s, lda)
			m.loadBF16(6, b, 1024*s, 2*bf16NR)
			m.loadBF16(7, b, 1024*s+32, 2*bf16NR)
			m.tdpbf16ps(0, 4, 6)
			m.tdpbf16ps(1, 4, 7)
			m.tdpbf16ps(2, 5, 6)
			m.tdpbf16ps(3, 5, 7)
		}
		m.storeF32(0, c, c0, ldc)
		m.storeF32(1, c, c0+16, ldc)
		m.storeF32(2, c, c16, ldc)
		m.storeF32(3, c, c16+16, ldc)
		a0, c0 = a16+16*lda, c16+16*ldc
	}
	// TILERELEASE: m goes out of scope.
}

// amxTmpPool holds the 32×32 edge-block scratch of the AMX loop nest.
var amxTmpPool freeList[[amxMR * bf16NR]float32]

// amxBlocked is the AMX loop nest over m×n of C (columns col0.. of the
// packed weight), A being converted rows (w.kpad long, a multiple of
// amxKStep, zero rows up to a multiple of amxMR). Per K slice and per
// amxMC rows of C, each B panel is handed to the kernel once for all the
// full 32×32 blocks in the column (one LDTILECFG … TILERELEASE); blocks cut
// by m or n go one at a time through the 32×32 scratch tmp, as in
// bf16Blocked.
func amxBlocked(m, n int, a []uint16, w *PackedWeightsBF16, col0 int, load bool, c []float32, ldc int, tmp *[amxMR * bf16NR]float32) {
	kern := amxKernel
	cfg := &amxTileConfig
	lda := w.kpad
	for jc := 0; jc < n; jc += bf16NC {
		nb := min(bf16NC, n-jc)
		for pc := 0; pc < lda; pc += bf16KC {
			kb := min(bf16KC, lda-pc)
			panels := w.data[pc*w.stride+(col0+jc)*kb:]
			ld := load || pc > 0
			for ic := 0; ic < m; ic += amxMC {
				mb := min(amxMC, m-ic)
				for jr := 0; jr < nb; jr += bf16NR {
					nrb := min(bf16NR, nb-jr)
					bp := panels[jr*kb : (jr+bf16NR)*kb]
					ir := 0
					if full := mb / amxMR; full > 0 && nrb == bf16NR {
						kern(cfg, kb/2, a[ic*lda+pc:], 2*lda, bp, c[ic*ldc+jc+jr:], 4*ldc, ld, full)
						ir = full * amxMR
					}
					for ; ir < mb; ir += amxMR {
						mrb := min(amxMR, mb-ir)
						coff := (ic+ir)*ldc + jc + jr
						t := tmp[:]
						if ld {
							for r := 0; r < mrb; r++ {
								copy(t[r*bf16NR:r*bf16NR+nrb], c[coff+r*ldc:coff+r*ldc+nrb])
							}
						}
						kern(cfg, kb/2, a[(ic+ir)*lda+pc:], 2*lda, bp, t, 4*bf16NR, ld, 1)
						for r := 0; r < mrb; r++ {
							copy(c[coff+r*ldc:coff+r*ldc+nrb], t[r*bf16NR:r*bf16NR+nrb])
						}
					}
				}
			}
		}
	}
}
