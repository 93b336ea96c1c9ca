//go:build amd64 && !purego

#include "textflag.h"

// Interleave, per 128-bit lane, eight even and eight odd output bytes
// (packed as e0..e7, o0..o7) into e0 o0 e1 o1 ... e7 o7.
DATA upShuf<>+0(SB)/8, $0x0b030a0209010800
DATA upShuf<>+8(SB)/8, $0x0f070e060d050c04
DATA upShuf<>+16(SB)/8, $0x0b030a0209010800
DATA upShuf<>+24(SB)/8, $0x0f070e060d050c04
GLOBL upShuf<>(SB), RODATA|NOPTR, $32

DATA upConst<>+0(SB)/4, $0x00080008 // words of 8
DATA upConst<>+4(SB)/4, $0x00070007 // words of 7
DATA upConst<>+8(SB)/4, $0x00010001 // words of 1
DATA upConst<>+12(SB)/4, $0x00020002 // words of 2
GLOBL upConst<>(SB), RODATA|NOPTR, $16

// COLSUM loads 16 samples at off from the near (SI) and far (BX) rows and
// leaves 3·near + far in r as 16 words.
#define COLSUM(off, r, t) \
	VPMOVZXBW off(SI), r; \
	VPMOVZXBW off(BX), t; \
	VPADDW r, t, t; \
	VPADDW r, r, r; \
	VPADDW t, r, r

// func h2v2RowAVX2(dst, near, far *uint8, n int)
// Outputs 2i, 2i+1 for i in 0..n-1 (n a multiple of 16), reading samples
// -1 .. n of both rows: jdsample.c h2v2_fancy_upsample's interior,
// dst[2i] = (3·cs[i] + cs[i−1] + 8) >> 4, dst[2i+1] = (3·cs[i] + cs[i+1] + 7) >> 4
// with cs = 3·near + far.
TEXT ·h2v2RowAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ near+8(FP), SI
	MOVQ far+16(FP), BX
	MOVQ n+24(FP), CX
	VPBROADCASTD upConst<>+0(SB), Y13
	VPBROADCASTD upConst<>+4(SB), Y14
	VMOVDQU upShuf<>(SB), Y15

uloop:
	CMPQ CX, $16
	JLT udone
	COLSUM(0, Y0, Y5)   // cs[i]
	COLSUM(-1, Y1, Y5)  // cs[i-1]
	COLSUM(1, Y2, Y5)   // cs[i+1]
	VPADDW Y0, Y0, Y3
	VPADDW Y0, Y3, Y3   // 3·cs[i]
	VPADDW Y3, Y1, Y1
	VPADDW Y13, Y1, Y1
	VPSRLW $4, Y1, Y1   // even
	VPADDW Y3, Y2, Y2
	VPADDW Y14, Y2, Y2
	VPSRLW $4, Y2, Y2   // odd
	VPACKUSWB Y2, Y1, Y1 // e0-7 o0-7 | e8-15 o8-15
	VPSHUFB Y15, Y1, Y1
	VMOVDQU Y1, (DI)
	ADDQ $16, SI
	ADDQ $16, BX
	ADDQ $32, DI
	SUBQ $16, CX
	JMP uloop

udone:
	VZEROUPPER
	RET

// func h2v1RowAVX2(dst, in *uint8, n int)
// Outputs 2i, 2i+1 for i in 0..n-1 (n a multiple of 16), reading samples
// -1 .. n: jdsample.c h2v1_fancy_upsample's interior,
// dst[2i] = (3·in[i] + in[i−1] + 1) >> 2, dst[2i+1] = (3·in[i] + in[i+1] + 2) >> 2.
TEXT ·h2v1RowAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ n+16(FP), CX
	VPBROADCASTD upConst<>+8(SB), Y13
	VPBROADCASTD upConst<>+12(SB), Y14
	VMOVDQU upShuf<>(SB), Y15

vloop1:
	CMPQ CX, $16
	JLT vdone1
	VPMOVZXBW (SI), Y0
	VPMOVZXBW -1(SI), Y1
	VPMOVZXBW 1(SI), Y2
	VPADDW Y0, Y0, Y3
	VPADDW Y0, Y3, Y3   // 3·in[i]
	VPADDW Y3, Y1, Y1
	VPADDW Y13, Y1, Y1
	VPSRLW $2, Y1, Y1   // even
	VPADDW Y3, Y2, Y2
	VPADDW Y14, Y2, Y2
	VPSRLW $2, Y2, Y2   // odd
	VPACKUSWB Y2, Y1, Y1
	VPSHUFB Y15, Y1, Y1
	VMOVDQU Y1, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP vloop1

vdone1:
	VZEROUPPER
	RET
