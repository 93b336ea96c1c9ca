//go:build ignore

// bf16_gen writes bf16_amd64.s: go run bf16_gen.go > bf16_amd64.s
//
// Go's assembler has no AVX512_BF16 mnemonics, so VDPBF16PS and
// VCVTNE2PS2BF16 (register forms only) are emitted as EVEX bytes, each line
// with a comment giving the instruction in Go operand order. encode is
// checked at start against encodings GNU as 2.40 produced for the same
// instructions (the tables in check and amxCheck). The AMX tile
// instructions of the ceiling loop and of the AMX GEMM kernel are
// VEX-encoded the same way.
package main

import (
	"fmt"
	"os"
	"strings"
)

const (
	opDPBF16   = 0x52 // VDPBF16PS: EVEX.F3.0F38.W0 52 /r
	opCVTNE2PS = 0x72 // VCVTNE2PS2BF16: EVEX.F2.0F38.W0 72 /r
	ppF3       = 2
	ppF2       = 3
	l256       = 1
	l512       = 2
)

// encode returns the EVEX encoding of the register form op dst, src1, src2
// (Intel operand order; src1 is EVEX.vvvv, src2 ModRM.rm), no masking, no
// broadcast, map 0F38, W0.
func encode(op, pp, l byte, dst, src1, src2 int) []byte {
	var p0 byte = 0x02 // mm = 0F38
	if dst&8 == 0 {
		p0 |= 0x80 // R̄
	}
	if src2&16 == 0 {
		p0 |= 0x40 // X̄ (high bit of rm for registers)
	}
	if src2&8 == 0 {
		p0 |= 0x20 // B̄
	}
	if dst&16 == 0 {
		p0 |= 0x10 // R̄'
	}
	p1 := byte(^src1&15)<<3 | 0x04 | pp
	p2 := l << 5
	if src1&16 == 0 {
		p2 |= 0x08 // V̄'
	}
	return []byte{0x62, p0, p1, p2, op, 0xC0 | byte(dst&7)<<3 | byte(src2&7)}
}

func check() {
	for _, c := range []struct {
		op, pp, l       byte
		dst, src1, src2 int
		want            string
	}{
		// from `as` + `objdump -d` (GNU Binutils 2.40), AT&T order reversed:
		{opDPBF16, ppF3, l512, 0, 26, 24, "62922e4052c0"},   // vdpbf16ps %zmm24,%zmm26,%zmm0
		{opDPBF16, ppF3, l512, 23, 31, 25, "6282064052f9"},  // vdpbf16ps %zmm25,%zmm31,%zmm23
		{opDPBF16, ppF3, l512, 11, 12, 13, "62521e4852dd"},  // vdpbf16ps %zmm13,%zmm12,%zmm11
		{opDPBF16, ppF3, l256, 11, 12, 13, "62521e2852dd"},  // vdpbf16ps %ymm13,%ymm12,%ymm11
		{opDPBF16, ppF3, l256, 1, 2, 3, "62f26e2852cb"},     // vdpbf16ps %ymm3,%ymm2,%ymm1
		{opCVTNE2PS, ppF2, l512, 2, 1, 0, "62f2774872d0"},   // vcvtne2ps2bf16 %zmm0,%zmm1,%zmm2
		{opCVTNE2PS, ppF2, l512, 30, 9, 17, "6222374872f1"}, // vcvtne2ps2bf16 %zmm17,%zmm9,%zmm30
	} {
		if got := fmt.Sprintf("%x", encode(c.op, c.pp, c.l, c.dst, c.src1, c.src2)); got != c.want {
			panic(fmt.Sprintf("encode %+v = %s, GNU as gives %s", c, got, c.want))
		}
	}
}

var out strings.Builder

func p(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }

func bytes(b []byte) string {
	s := make([]string, len(b))
	for i, v := range b {
		s[i] = fmt.Sprintf("BYTE $0x%02x", v)
	}
	return strings.Join(s, "; ")
}

func reg(l byte, r int) string {
	if l == l512 {
		return fmt.Sprintf("Z%d", r)
	}
	return fmt.Sprintf("Y%d", r)
}

// dp emits VDPBF16PS: dst += Σ pairs of src1·src2 (Go order in the comment).
func dp(l byte, dst, src1, src2 int) {
	p("\t%s // VDPBF16PS %s, %s, %s", bytes(encode(opDPBF16, ppF3, l, dst, src1, src2)), reg(l, src2), reg(l, src1), reg(l, dst))
}

// cvt2 emits VCVTNE2PS2BF16: dst's low half = bf16(src2), high half = bf16(src1).
func cvt2(dst, src1, src2 int) {
	p("\t%s // VCVTNE2PS2BF16 Z%d, Z%d, Z%d", bytes(encode(opCVTNE2PS, ppF2, l512, dst, src1, src2)), src2, src1, dst)
}

func peak(name string, l byte, flops int) {
	p("")
	p("// func %s(n int)", name)
	p("// n iterations of 12 independent VDPBF16PS (%d flops each, counting a", flops)
	p("// bf16 pair product-sum as four), no memory traffic: BenchmarkFMAPeak.")
	p("TEXT ·%s(SB), NOSPLIT, $0-8", name)
	p("\tMOVQ n+0(FP), CX")
	for i := 0; i < 14; i++ {
		p("\tVPXORD %s, %s, %s", reg(l, i), reg(l, i), reg(l, i))
	}
	p("\tTESTQ CX, CX")
	p("\tJLE %s_done", name)
	p("%s_loop:", name)
	for i := 0; i < 12; i++ {
		dp(l, i, 12, 13)
	}
	p("\tDECQ CX")
	p("\tJNZ %s_loop", name)
	p("%s_done:", name)
	p("\tVZEROUPPER")
	p("\tRET")
}

// Micro-kernel registers: accumulators Z0..Z23 (row r in Z2r, Z2r+1), B in
// Z24, Z25, broadcast A pairs rotate through Z26..Z31.
const mr = 12

func kernel() {
	p("")
	p("// func kernBF16AVX512(kp int, a *uint16, lda int, b *uint16, c *float32, ldc int, load bool)")
	p("// The 12×32 bf16 micro-kernel: C[12][32] (+)= A·B over kp bf16 pairs.")
	p("// Row r of A is at a+r·lda (bf16 elements, row-major, pair q at 2q); B is")
	p("// a packed panel, 64 bf16 per pair (column j's pair at 2j). load: start")
	p("// the accumulators from C instead of zero. Per pair: two loads of B,")
	p("// twelve VPBROADCASTD of A pairs and 24 VDPBF16PS.")
	p("TEXT ·kernBF16AVX512(SB), NOSPLIT, $0-49")
	p("\tMOVQ kp+0(FP), CX")
	p("\tMOVQ a+8(FP), R8")
	p("\tMOVQ lda+16(FP), R9")
	p("\tSHLQ $1, R9")
	p("\tLEAQ (R9)(R9*2), R10")
	p("\tLEAQ (R8)(R9*4), R11")
	p("\tLEAQ (R11)(R9*4), R12")
	p("\tMOVQ b+24(FP), DX")
	p("\tMOVQ c+32(FP), DI")
	p("\tMOVQ ldc+40(FP), SI")
	p("\tSHLQ $2, SI")
	p("\tMOVBLZX load+48(FP), AX")
	p("\tTESTQ AX, AX")
	p("\tJZ kbf_zero")
	p("\tMOVQ DI, R13")
	for r := 0; r < mr; r++ {
		p("\tVMOVUPS (R13), Z%d", 2*r)
		p("\tVMOVUPS 64(R13), Z%d", 2*r+1)
		if r < mr-1 {
			p("\tADDQ SI, R13")
		}
	}
	p("\tJMP kbf_start")
	p("kbf_zero:")
	for i := 0; i < 2*mr; i++ {
		p("\tVPXORD Z%d, Z%d, Z%d", i, i, i)
	}
	p("kbf_start:")
	p("\tTESTQ CX, CX")
	p("\tJLE kbf_store")
	p("kbf_loop:")
	p("\tVMOVUPS (DX), Z24")
	p("\tVMOVUPS 64(DX), Z25")
	addr := []string{"(R8)", "(R8)(R9*1)", "(R8)(R9*2)", "(R8)(R10*1)",
		"(R11)", "(R11)(R9*1)", "(R11)(R9*2)", "(R11)(R10*1)",
		"(R12)", "(R12)(R9*1)", "(R12)(R9*2)", "(R12)(R10*1)"}
	for r := 0; r < mr; r++ {
		t := 26 + r%6
		p("\tVPBROADCASTD %s, Z%d", addr[r], t)
		dp(l512, 2*r, t, 24)
		dp(l512, 2*r+1, t, 25)
	}
	p("\tADDQ $128, DX")
	p("\tADDQ $4, R8")
	p("\tADDQ $4, R11")
	p("\tADDQ $4, R12")
	p("\tDECQ CX")
	p("\tJNZ kbf_loop")
	p("kbf_store:")
	for r := 0; r < mr; r++ {
		p("\tVMOVUPS Z%d, (DI)", 2*r)
		p("\tVMOVUPS Z%d, 64(DI)", 2*r+1)
		if r < mr-1 {
			p("\tADDQ SI, DI")
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
}

func convert() {
	p("")
	p("// func cvtBF16AVX512(dst *uint16, src *float32, n int)")
	p("// dst[i] = bf16(src[i]) for n (a multiple of 32) values, round to nearest")
	p("// even (VCVTNE2PS2BF16: denormal inputs read as zero, NaNs quieted).")
	p("TEXT ·cvtBF16AVX512(SB), NOSPLIT, $0-24")
	p("\tMOVQ dst+0(FP), DI")
	p("\tMOVQ src+8(FP), SI")
	p("\tMOVQ n+16(FP), CX")
	p("\tSHRQ $5, CX")
	p("\tJZ cvt_done")
	p("cvt_loop:")
	p("\tVMOVUPS (SI), Z0")
	p("\tVMOVUPS 64(SI), Z1")
	cvt2(2, 1, 0)
	p("\tVMOVDQU32 Z2, (DI)")
	p("\tADDQ $128, SI")
	p("\tADDQ $64, DI")
	p("\tDECQ CX")
	p("\tJNZ cvt_loop")
	p("cvt_done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// AMX (VEX-encoded, tile registers 0–7 only). Encodings as GNU as 2.40
// gives them; vex3 rebuilds the TDPBF16PS/TILEZERO forms and amxCheck
// compares.
const (
	ppNone = 0
	opTile = 0x49 // LDTILECFG /0 (NP), TILERELEASE C0 (NP), TILEZERO (F2)
	opTDP  = 0x5c // TDPBF16PS (F3)
)

// vex3 encodes a register form in map 0F38, W0, L0: reg in ModRM.reg, rm
// in ModRM.rm, v in VEX.vvvv.
func vex3(op, pp byte, reg, rm, v int) []byte {
	return []byte{0xc4, 0xe2, byte(^v&15)<<3 | pp, op, 0xc0 | byte(reg&7)<<3 | byte(rm&7)}
}

func amxCheck() {
	for _, c := range []struct {
		got  []byte
		want string
	}{
		{ldtilecfgDI, "c4e2784907"},                   // ldtilecfg (%rdi)
		{vex3(opTile, ppNone, 0, 0, 0), "c4e27849c0"}, // tilerelease
		{vex3(opTile, ppF2, 0, 0, 0), "c4e27b49c0"},   // tilezero %tmm0
		{vex3(opTile, ppF2, 5, 0, 0), "c4e27b49e8"},   // tilezero %tmm5
		{vex3(opTDP, ppF3, 0, 4, 5), "c4e2525cc4"},    // tdpbf16ps %tmm5,%tmm4,%tmm0
		{vex3(opTDP, ppF3, 3, 4, 5), "c4e2525cdc"},    // tdpbf16ps %tmm5,%tmm4,%tmm3
		{vex3(opTDP, ppF3, 1, 6, 7), "c4e2425cce"},    // tdpbf16ps %tmm7,%tmm6,%tmm1
		{vex3(opTDP, ppF3, 0, 4, 6), "c4e24a5cc4"},    // tdpbf16ps %tmm6,%tmm4,%tmm0
		{vex3(opTDP, ppF3, 1, 4, 7), "c4e2425ccc"},    // tdpbf16ps %tmm7,%tmm4,%tmm1
		{vex3(opTDP, ppF3, 2, 5, 6), "c4e24a5cd5"},    // tdpbf16ps %tmm6,%tmm5,%tmm2
		{vex3(opTDP, ppF3, 3, 5, 7), "c4e2425cdd"},    // tdpbf16ps %tmm7,%tmm5,%tmm3
		{vex3(opTile, ppF2, 1, 0, 0), "c4e27b49c8"},   // tilezero %tmm1
		{vex3(opTile, ppF2, 2, 0, 0), "c4e27b49d0"},   // tilezero %tmm2
		{vex3(opTile, ppF2, 3, 0, 0), "c4e27b49d8"},   // tilezero %tmm3
		// TILELOADD (F2) and TILESTORED (F3) with a SIB operand: every form
		// the GEMM kernel uses, and two with an extended index register.
		{tileMem(ppF2, 4, r8, rSI, 0), "c4c27b4b2430"},      // tileloadd (%r8,%rsi,1),%tmm4
		{tileMem(ppF2, 5, r9, rSI, 0), "c4c27b4b2c31"},      // tileloadd (%r9,%rsi,1),%tmm5
		{tileMem(ppF2, 6, rDX, rBX, 0), "c4e27b4b341a"},     // tileloadd (%rdx,%rbx,1),%tmm6
		{tileMem(ppF2, 7, rDX, rBX, 64), "c4e27b4b7c1a40"},  // tileloadd 0x40(%rdx,%rbx,1),%tmm7
		{tileMem(ppF2, 0, r10, rAX, 0), "c4c27b4b0402"},     // tileloadd (%r10,%rax,1),%tmm0
		{tileMem(ppF2, 1, r10, rAX, 64), "c4c27b4b4c0240"},  // tileloadd 0x40(%r10,%rax,1),%tmm1
		{tileMem(ppF2, 2, r11, rAX, 0), "c4c27b4b1403"},     // tileloadd (%r11,%rax,1),%tmm2
		{tileMem(ppF2, 3, r11, rAX, 64), "c4c27b4b5c0340"},  // tileloadd 0x40(%r11,%rax,1),%tmm3
		{tileMem(ppF3, 0, r10, rAX, 0), "c4c27a4b0402"},     // tilestored %tmm0,(%r10,%rax,1)
		{tileMem(ppF3, 1, r10, rAX, 64), "c4c27a4b4c0240"},  // tilestored %tmm1,0x40(%r10,%rax,1)
		{tileMem(ppF3, 2, r11, rAX, 0), "c4c27a4b1403"},     // tilestored %tmm2,(%r11,%rax,1)
		{tileMem(ppF3, 3, r11, rAX, 64), "c4c27a4b5c0340"},  // tilestored %tmm3,0x40(%r11,%rax,1)
		{tileMem(ppF2, 4, rSI, rAX, 0), "c4e27b4b2406"},     // tileloadd (%rsi,%rax,1),%tmm4
		{tileMem(ppF2, 7, rAX, r9, 64), "c4a27b4b7c0840"},   // tileloadd 0x40(%rax,%r9,1),%tmm7
		{tileMem(ppF3, 5, rCX, r11, 127), "c4a27a4b6c197f"}, // tilestored %tmm5,0x7f(%rcx,%r11,1)
	} {
		if got := fmt.Sprintf("%x", c.got); got != c.want {
			panic(fmt.Sprintf("AMX encoding gives %s, GNU as %s", got, c.want))
		}
	}
}

// General-purpose register numbers (ModRM/SIB encoding) and Go names.
const (
	rAX = 0
	rCX = 1
	rDX = 2
	rBX = 3
	rSI = 6
	rDI = 7
	r8  = 8
	r9  = 9
	r10 = 10
	r11 = 11
)

var gpr = [16]string{"AX", "CX", "DX", "BX", "SP", "BP", "SI", "DI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"}

const opTileMem = 0x4b // TILELOADD (F2) tmm, sibmem; TILESTORED (F3) sibmem, tmm

// tileMem encodes TILELOADD (pp = ppF2) or TILESTORED (pp = ppF3) of tile
// tmm at disp(base)(index*1): VEX.128.0F38.W0 4B, ModRM.rm = 100 (SIB),
// the stride in the index register. base must not be SP, BP, R12 or R13
// (their SIB forms differ) and disp must fit a byte.
func tileMem(pp byte, tmm, base, index, disp int) []byte {
	if tmm < 0 || tmm > 7 || base&7 == 4 || base&7 == 5 || index == 4 || disp < 0 || disp > 127 {
		panic(fmt.Sprintf("tileMem: unsupported operand tmm%d %d(%d)(%d*1)", tmm, disp, base, index))
	}
	p0 := byte(0x80 | 0x02) // R̄ (tmm < 8), map 0F38
	if index&8 == 0 {
		p0 |= 0x40 // X̄
	}
	if base&8 == 0 {
		p0 |= 0x20 // B̄
	}
	var mod byte
	if disp != 0 {
		mod = 1 // disp8
	}
	e := []byte{0xc4, p0, 0x78 | pp, opTileMem, mod<<6 | byte(tmm)<<3 | 4, byte(index&7)<<3 | byte(base&7)}
	if disp != 0 {
		e = append(e, byte(disp))
	}
	return e
}

// mem formats disp(base)(index*1) in Go syntax.
func mem(base, index, disp int) string {
	d := ""
	if disp != 0 {
		d = fmt.Sprint(disp)
	}
	return fmt.Sprintf("%s(%s)(%s*1)", d, gpr[base], gpr[index])
}

func tileLoad(tmm, base, index, disp int) {
	p("\t%s // TILELOADD %s, TMM%d", bytes(tileMem(ppF2, tmm, base, index, disp)), mem(base, index, disp), tmm)
}

func tileStore(tmm, base, index, disp int) {
	p("\t%s // TILESTORED TMM%d, %s", bytes(tileMem(ppF3, tmm, base, index, disp)), tmm, mem(base, index, disp))
}

// tdp emits TDPBF16PS dst += src1·src2 (tiles; Intel operand order in the
// comment: dst, src1 (A rows), src2 (B pair rows)).
func tdp(dst, src1, src2 int) {
	p("\t%s // TDPBF16PS TMM%d, TMM%d, TMM%d (Intel order)", bytes(vex3(opTDP, ppF3, dst, src1, src2)), dst, src1, src2)
}

var ldtilecfgDI = []byte{0xc4, 0xe2, 0x78, 0x49, 0x07} // ldtilecfg (%rdi)

func amxPeak() {
	p("")
	p("// func amxPeakBF16(cfg *byte, n int)")
	p("// n iterations of four independent TDPBF16PS on 16×16 float32 tiles")
	p("// (16 rows × 32 bf16 times 16 pair-rows × 16 columns: 16384 flops each,")
	p("// 65536 per iteration), no memory traffic, after LDTILECFG from cfg (64")
	p("// bytes, palette 1, tiles 0–5 of 16 rows × 64 bytes). The caller must have")
	p("// asked Linux for the AMX tile state (amxEnable). Written without a")
	p("// machine that has AMX: no test or benchmark here has run it.")
	p("TEXT ·amxPeakBF16(SB), NOSPLIT, $0-16")
	p("\tMOVQ cfg+0(FP), DI")
	p("\tMOVQ n+8(FP), CX")
	p("\t%s // LDTILECFG (DI)", bytes(ldtilecfgDI))
	for t := 0; t < 6; t++ {
		p("\t%s // TILEZERO TMM%d", bytes(vex3(opTile, ppF2, t, 0, 0)), t)
	}
	p("\tTESTQ CX, CX")
	p("\tJLE amx_done")
	p("amx_loop:")
	for t := 0; t < 4; t++ {
		p("\t%s // TDPBF16PS TMM%d, TMM4, TMM5 (Intel order)", bytes(vex3(opTDP, ppF3, t, 4, 5)), t)
	}
	p("\tDECQ CX")
	p("\tJNZ amx_loop")
	p("amx_done:")
	p("\t%s // TILERELEASE", bytes(vex3(opTile, ppNone, 0, 0, 0)))
	p("\tRET")
}

// amxGEMM writes the AMX GEMM kernel. Registers: DI the tile configuration,
// then the B panel; R8, R9 rows 0 and 16 of the A block, SI its row stride;
// DX the B pair rows of the current 32-k step, BX their stride (128 bytes);
// R10, R11 rows 0 and 16 of the C block, AX its row stride; CX the step
// counter (and scratch), R12 the blocks left, R13 the steps per block.
func amxGEMM() {
	p("")
	p("// func kernAMXBF16(cfg *byte, kp int, a *uint16, ldaBytes int, b *uint16, c *float32, ldcBytes int, load bool, blocks int)")
	p("// The AMX bf16 kernel (amxKernelFunc's contract): for each of blocks")
	p("// 32-row blocks of C (a and c advancing 32 rows each), the 32×32 float32")
	p("// block in tiles 0–3 (rows 0–15 and 16–31 × columns 0–15 and 16–31),")
	p("// loaded from c (row stride ldcBytes) when load else zeroed; per 16 bf16")
	p("// pairs (kp/16 steps): A rows 0–15 and 16–31 (64 bytes each, stride")
	p("// ldaBytes) into tiles 4, 5, the packed B panel's 16 pair rows, columns")
	p("// 0–15 and 16–31 (stride 128 bytes), into tiles 6, 7, four TDPBF16PS;")
	p("// then the four C tiles stored. LDTILECFG from cfg (palette 1, eight")
	p("// tiles of 16 rows × 64 bytes) first and TILERELEASE last: the tile state")
	p("// lives only inside this call, and Go never preempts a goroutine inside")
	p("// assembly (no async safe point), so no tile state is live across a")
	p("// goroutine switch (a signal or an OS context switch saves and restores it")
	p("// with the XSAVE area Linux granted with amxEnable). kp must be a")
	p("// positive multiple of 16 and blocks positive (amxKernelAsm checks).")
	p("// Written without a machine that has AMX: no test here has run it.")
	p("TEXT ·kernAMXBF16(SB), NOSPLIT, $0-72")
	p("\tMOVQ cfg+0(FP), DI")
	p("\t%s // LDTILECFG (DI)", bytes(ldtilecfgDI))
	p("\tMOVQ kp+8(FP), R13")
	p("\tSHRQ $4, R13")
	p("\tMOVQ a+16(FP), R8")
	p("\tMOVQ ldaBytes+24(FP), SI")
	p("\tMOVQ b+32(FP), DI")
	p("\tMOVQ c+40(FP), R10")
	p("\tMOVQ ldcBytes+48(FP), AX")
	p("\tMOVQ blocks+64(FP), R12")
	p("\tMOVL $128, BX")
	p("\tTESTQ R12, R12")
	p("\tJLE amxk_done")
	p("\tTESTQ R13, R13")
	p("\tJLE amxk_done")
	p("amxk_block:")
	p("\tMOVQ SI, CX")
	p("\tSHLQ $4, CX")
	p("\tLEAQ (R8)(CX*1), R9")
	p("\tMOVQ AX, CX")
	p("\tSHLQ $4, CX")
	p("\tLEAQ (R10)(CX*1), R11")
	p("\tMOVBLZX load+56(FP), CX")
	p("\tTESTL CX, CX")
	p("\tJZ amxk_zero")
	tileLoad(0, r10, rAX, 0)
	tileLoad(1, r10, rAX, 64)
	tileLoad(2, r11, rAX, 0)
	tileLoad(3, r11, rAX, 64)
	p("\tJMP amxk_k")
	p("amxk_zero:")
	for t := 0; t < 4; t++ {
		p("\t%s // TILEZERO TMM%d", bytes(vex3(opTile, ppF2, t, 0, 0)), t)
	}
	p("amxk_k:")
	p("\tMOVQ DI, DX")
	p("\tMOVQ R13, CX")
	p("amxk_loop:")
	tileLoad(4, r8, rSI, 0)
	tileLoad(5, r9, rSI, 0)
	tileLoad(6, rDX, rBX, 0)
	tileLoad(7, rDX, rBX, 64)
	tdp(0, 4, 6)
	tdp(1, 4, 7)
	tdp(2, 5, 6)
	tdp(3, 5, 7)
	p("\tADDQ $64, R8")
	p("\tADDQ $64, R9")
	p("\tADDQ $2048, DX")
	p("\tDECQ CX")
	p("\tJNZ amxk_loop")
	tileStore(0, r10, rAX, 0)
	tileStore(1, r10, rAX, 64)
	tileStore(2, r11, rAX, 0)
	tileStore(3, r11, rAX, 64)
	p("\t// next block: R8 = R9 - 64·steps + 16·ldaBytes (row 32), R10 = R11 + 16·ldcBytes")
	p("\tMOVQ R13, CX")
	p("\tSHLQ $6, CX")
	p("\tSUBQ CX, R9")
	p("\tMOVQ SI, CX")
	p("\tSHLQ $4, CX")
	p("\tLEAQ (R9)(CX*1), R8")
	p("\tMOVQ AX, CX")
	p("\tSHLQ $4, CX")
	p("\tLEAQ (R11)(CX*1), R10")
	p("\tDECQ R12")
	p("\tJNZ amxk_block")
	p("amxk_done:")
	p("\t%s // TILERELEASE", bytes(vex3(opTile, ppNone, 0, 0, 0)))
	p("\tRET")
}

func main() {
	check()
	amxCheck()
	p("// Code generated by bf16_gen.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64 && !purego")
	p("")
	p("#include \"textflag.h\"")
	peak("fmaPeakBF16Z", l512, 12*16*4)
	peak("fmaPeakBF16Y", l256, 12*8*4)
	convert()
	kernel()
	amxPeak()
	amxGEMM()
	os.Stdout.WriteString(out.String())
}
