//go:build amd64 && !purego

#include "textflag.h"

// VPSHUFB mask for the horizontal pass, per 128-bit lane: 16 bytes from
// pixel k become the words (R_k, R_k+1, G_k, G_k+1, B_k, B_k+1, 0, 0), so
// one VPMADDWD with (w_k, w_k+1)×3 gives the three channels' sums of two
// taps.
DATA shufH<>+0(SB)/8, $0x8004800180038000
DATA shufH<>+8(SB)/8, $0x8080808080058002
DATA shufH<>+16(SB)/8, $0x8004800180038000
DATA shufH<>+24(SB)/8, $0x8080808080058002
GLOBL shufH<>(SB), RODATA|NOPTR, $32

// func resampleHRowAVX2(dst, src *uint8, n int, xmin, groups *int32, lo, hi *int16, stride int, prec int, half int32, split bool)
TEXT ·resampleHRowAVX2(SB), NOSPLIT, $0-77
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ xmin+24(FP), R8
	MOVQ groups+32(FP), R9
	MOVQ lo+40(FP), R10
	MOVQ hi+48(FP), R11
	SUBQ R10, R11 // hi - lo: the hi weights sit at the same offsets
	MOVQ stride+56(FP), R12
	SHLQ $5, R12  // bytes of weights per output: stride groups × 32
	MOVQ prec+64(FP), X14
	MOVL half+72(FP), AX
	VMOVD AX, X13
	VPBROADCASTD X13, X13
	MOVBLZX split+76(FP), R13
	VMOVDQU shufH<>(SB), Y15

hout:
	TESTQ CX, CX
	JZ hdone
	MOVLQSX (R8), AX
	LEAQ (AX)(AX*2), AX
	LEAQ (SI)(AX*1), BX // first tap's pixel
	MOVL (R9), DX       // groups of four taps
	MOVQ R10, AX        // weights
	VPXOR Y0, Y0, Y0
	VPXOR Y2, Y2, Y2
	TESTL DX, DX
	JZ hfin
	TESTQ R13, R13
	JNZ hsplit

hgroup:
	VMOVDQU (BX), X4
	VINSERTI128 $1, 6(BX), Y4, Y4
	VPSHUFB Y15, Y4, Y4
	VPMADDWD (AX), Y4, Y5
	VPADDD Y5, Y0, Y0
	ADDQ $12, BX
	ADDQ $32, AX
	DECL DX
	JNZ hgroup
	JMP hfin

hsplit:
	VMOVDQU (BX), X4
	VINSERTI128 $1, 6(BX), Y4, Y4
	VPSHUFB Y15, Y4, Y4
	VPMADDWD (AX), Y4, Y5
	VPADDD Y5, Y0, Y0
	VPMADDWD (AX)(R11*1), Y4, Y6
	VPADDD Y6, Y2, Y2
	ADDQ $12, BX
	ADDQ $32, AX
	DECL DX
	JNZ hsplit
	VPSLLD $11, Y2, Y2
	VPADDD Y2, Y0, Y0

hfin:
	VEXTRACTI128 $1, Y0, X5
	VPADDD X5, X0, X0
	VPADDD X13, X0, X0
	VPSRAD X14, X0, X0
	VPACKSSDW X0, X0, X0
	VPACKUSWB X0, X0, X0
	VMOVD X0, AX
	MOVW AX, (DI)
	SHRL $16, AX
	MOVB AX, 2(DI)
	ADDQ $3, DI
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ R12, R10
	DECQ CX
	JMP hout

hdone:
	VZEROUPPER
	RET

// func resampleVRowAVX2(dst, src *uint8, rowLen, taps int, lo, hi *uint32, prec int, half int32, split bool)
TEXT ·resampleVRowAVX2(SB), NOSPLIT, $0-61
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rowLen+16(FP), CX
	MOVQ taps+24(FP), DX
	MOVQ lo+32(FP), R8
	MOVQ hi+40(FP), R9
	SUBQ R8, R9 // hi - lo
	MOVQ prec+48(FP), X14
	MOVL half+56(FP), AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVBLZX split+60(FP), R13
	LEAQ -16(CX), R10 // last 16-byte step
	XORQ R11, R11     // column

vcol:
	CMPQ R11, R10
	JLE vstep
	CMPQ R11, CX
	JGE vdone
	MOVQ R10, R11 // overlapping last step

vstep:
	LEAQ (SI)(R11*1), BX
	MOVQ R8, AX
	MOVQ DX, R12
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

vpair:
	CMPQ R12, $2
	JLT vsingle
	VPMOVZXBW (BX), Y4
	VPMOVZXBW (BX)(CX*1), Y5
	VPUNPCKLWD Y5, Y4, Y6
	VPUNPCKHWD Y5, Y4, Y7
	VPBROADCASTD (AX), Y8
	VPMADDWD Y8, Y6, Y9
	VPADDD Y9, Y0, Y0
	VPMADDWD Y8, Y7, Y9
	VPADDD Y9, Y1, Y1
	TESTQ R13, R13
	JZ vnext
	VPBROADCASTD (AX)(R9*1), Y8
	VPMADDWD Y8, Y6, Y9
	VPADDD Y9, Y2, Y2
	VPMADDWD Y8, Y7, Y9
	VPADDD Y9, Y3, Y3

vnext:
	LEAQ (BX)(CX*2), BX
	ADDQ $4, AX
	SUBQ $2, R12
	JMP vpair

vsingle:
	TESTQ R12, R12
	JZ vfin
	VPMOVZXBW (BX), Y4
	VPXOR Y5, Y5, Y5
	VPUNPCKLWD Y5, Y4, Y6
	VPUNPCKHWD Y5, Y4, Y7
	VPBROADCASTD (AX), Y8
	VPMADDWD Y8, Y6, Y9
	VPADDD Y9, Y0, Y0
	VPMADDWD Y8, Y7, Y9
	VPADDD Y9, Y1, Y1
	TESTQ R13, R13
	JZ vfin
	VPBROADCASTD (AX)(R9*1), Y8
	VPMADDWD Y8, Y6, Y9
	VPADDD Y9, Y2, Y2
	VPMADDWD Y8, Y7, Y9
	VPADDD Y9, Y3, Y3

vfin:
	TESTQ R13, R13
	JZ vround
	VPSLLD $11, Y2, Y2
	VPADDD Y2, Y0, Y0
	VPSLLD $11, Y3, Y3
	VPADDD Y3, Y1, Y1

vround:
	// Y0 holds bytes 0-3 | 8-11 of the step, Y1 bytes 4-7 | 12-15: the
	// per-lane packs put them back in order.
	VPADDD Y13, Y0, Y0
	VPADDD Y13, Y1, Y1
	VPSRAD X14, Y0, Y0
	VPSRAD X14, Y1, Y1
	VPACKSSDW Y1, Y0, Y0
	VPACKUSWB Y0, Y0, Y0
	VPERMQ $0x08, Y0, Y0
	VMOVDQU X0, (DI)(R11*1)
	ADDQ $16, R11
	JMP vcol

vdone:
	VZEROUPPER
	RET
