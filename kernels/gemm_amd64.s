//go:build amd64 && !purego

#include "textflag.h"

// One k step of the 6×16 micro-kernel: two 8-float loads of packed B, six
// broadcasts of packed A, twelve FMAs into Y4..Y15 (row r in Y(4+2r), Y(5+2r)).
#define STEP(ao, bo) \
	VMOVUPS bo(DI), Y0; \
	VMOVUPS bo+32(DI), Y1; \
	VBROADCASTSS ao(SI), Y2; \
	VBROADCASTSS ao+4(SI), Y3; \
	VFMADD231PS Y0, Y2, Y4; \
	VFMADD231PS Y1, Y2, Y5; \
	VFMADD231PS Y0, Y3, Y6; \
	VFMADD231PS Y1, Y3, Y7; \
	VBROADCASTSS ao+8(SI), Y2; \
	VBROADCASTSS ao+12(SI), Y3; \
	VFMADD231PS Y0, Y2, Y8; \
	VFMADD231PS Y1, Y2, Y9; \
	VFMADD231PS Y0, Y3, Y10; \
	VFMADD231PS Y1, Y3, Y11; \
	VBROADCASTSS ao+16(SI), Y2; \
	VBROADCASTSS ao+20(SI), Y3; \
	VFMADD231PS Y0, Y2, Y12; \
	VFMADD231PS Y1, Y2, Y13; \
	VFMADD231PS Y0, Y3, Y14; \
	VFMADD231PS Y1, Y3, Y15

#define STOREROW(lo, hi) \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ R8, DX

#define FMAROW(lo, hi) \
	VFMADD231PS (DX), Y1, lo; \
	VFMADD231PS 32(DX), Y1, hi; \
	STOREROW(lo, hi)

// func kern6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32, loadC bool)
TEXT ·kern6x16AVX2(SB), NOSPLIT, $0-49
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ CX, R9
	SHRQ $2, R9
	ANDQ $3, CX
	TESTQ R9, R9
	JZ tail

loop4:
	STEP(0, 0)
	STEP(24, 64)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ R9
	JNZ loop4

tail:
	TESTQ CX, CX
	JZ store

loop1:
	STEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop1

store:
	VBROADCASTSS alpha+40(FP), Y0
	VMULPS Y0, Y4, Y4
	VMULPS Y0, Y5, Y5
	VMULPS Y0, Y6, Y6
	VMULPS Y0, Y7, Y7
	VMULPS Y0, Y8, Y8
	VMULPS Y0, Y9, Y9
	VMULPS Y0, Y10, Y10
	VMULPS Y0, Y11, Y11
	VMULPS Y0, Y12, Y12
	VMULPS Y0, Y13, Y13
	VMULPS Y0, Y14, Y14
	VMULPS Y0, Y15, Y15
	MOVBLZX loadC+48(FP), AX
	TESTL AX, AX
	JZ noload

	VBROADCASTSS beta+44(FP), Y1
	FMAROW(Y4, Y5)
	FMAROW(Y6, Y7)
	FMAROW(Y8, Y9)
	FMAROW(Y10, Y11)
	FMAROW(Y12, Y13)
	FMAROW(Y14, Y15)
	VZEROUPPER
	RET

noload:
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	STOREROW(Y8, Y9)
	STOREROW(Y10, Y11)
	STOREROW(Y12, Y13)
	STOREROW(Y14, Y15)
	VZEROUPPER
	RET

// TRANSPOSE8(base, doff): load an 8×8 block — eight rows of B (stride R8,
// R9 = 3·R8, R10 = base + 4·R8) — transpose it in registers and store column
// k of the block as 8 floats at doff + 64·k (DI), i.e. one k step of the
// packed panel each.
#define TRANSPOSE8(base, doff) \
	LEAQ (base)(R8*4), R10; \
	VMOVUPS (base), Y0; \
	VMOVUPS (base)(R8*1), Y1; \
	VMOVUPS (base)(R8*2), Y2; \
	VMOVUPS (base)(R9*1), Y3; \
	VMOVUPS (R10), Y4; \
	VMOVUPS (R10)(R8*1), Y5; \
	VMOVUPS (R10)(R8*2), Y6; \
	VMOVUPS (R10)(R9*1), Y7; \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y14; \
	VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; \
	VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; \
	VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; \
	VSHUFPS $0xEE, Y14, Y12, Y5; \
	VSHUFPS $0x44, Y15, Y13, Y6; \
	VSHUFPS $0xEE, Y15, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VMOVUPS Y8, doff(DI); \
	VPERM2F128 $0x20, Y5, Y1, Y8; \
	VMOVUPS Y8, doff+64(DI); \
	VPERM2F128 $0x20, Y6, Y2, Y8; \
	VMOVUPS Y8, doff+128(DI); \
	VPERM2F128 $0x20, Y7, Y3, Y8; \
	VMOVUPS Y8, doff+192(DI); \
	VPERM2F128 $0x31, Y4, Y0, Y8; \
	VMOVUPS Y8, doff+256(DI); \
	VPERM2F128 $0x31, Y5, Y1, Y8; \
	VMOVUPS Y8, doff+320(DI); \
	VPERM2F128 $0x31, Y6, Y2, Y8; \
	VMOVUPS Y8, doff+384(DI); \
	VPERM2F128 $0x31, Y7, Y3, Y8; \
	VMOVUPS Y8, doff+448(DI)

// func packBT16AVX2(dst, src *float32, ldb, kb8 int)
// Packs a 16-row panel of a transposed B (rows src, src+ldb, …, 15 of them
// after the first; kb8 columns, a multiple of 8) into dst as kb8 steps of 16
// floats: dst[p·16+j] = src[j·ldb+p].
TEXT ·packBT16AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ kb8+24(FP), CX
	SHRQ $3, CX
	JZ pdone
	LEAQ (SI)(R8*8), R11
ploop:
	TRANSPOSE8(SI, 0)
	TRANSPOSE8(R11, 32)
	ADDQ $32, SI
	ADDQ $32, R11
	ADDQ $512, DI
	DECQ CX
	JNZ ploop
pdone:
	VZEROUPPER
	RET

// TRANSPOSE6x8: load 8 columns of six rows of A (stride R8, R9 = 3·R8,
// R10 = SI + 4·R8; rows 6 and 7 repeat row 5), transpose in registers and
// store k step j as 8 floats at 24·j(DI) — six that belong to the panel and
// two that the next store (or the caller's tail loop) overwrites.
#define TRANSPOSE6x8 \
	LEAQ (SI)(R8*4), R10; \
	VMOVUPS (SI), Y0; \
	VMOVUPS (SI)(R8*1), Y1; \
	VMOVUPS (SI)(R8*2), Y2; \
	VMOVUPS (SI)(R9*1), Y3; \
	VMOVUPS (R10), Y4; \
	VMOVUPS (R10)(R8*1), Y5; \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VSHUFPS $0x44, Y10, Y8, Y0; \
	VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; \
	VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y12, Y12, Y4; \
	VSHUFPS $0xEE, Y12, Y12, Y5; \
	VSHUFPS $0x44, Y13, Y13, Y6; \
	VSHUFPS $0xEE, Y13, Y13, Y7; \
	VPERM2F128 $0x20, Y4, Y0, Y8; \
	VMOVUPS Y8, (DI); \
	VPERM2F128 $0x20, Y5, Y1, Y8; \
	VMOVUPS Y8, 24(DI); \
	VPERM2F128 $0x20, Y6, Y2, Y8; \
	VMOVUPS Y8, 48(DI); \
	VPERM2F128 $0x20, Y7, Y3, Y8; \
	VMOVUPS Y8, 72(DI); \
	VPERM2F128 $0x31, Y4, Y0, Y8; \
	VMOVUPS Y8, 96(DI); \
	VPERM2F128 $0x31, Y5, Y1, Y8; \
	VMOVUPS Y8, 120(DI); \
	VPERM2F128 $0x31, Y6, Y2, Y8; \
	VMOVUPS Y8, 144(DI); \
	VPERM2F128 $0x31, Y7, Y3, Y8; \
	VMOVUPS Y8, 168(DI)

// func packA6AVX2(dst, src *float32, lda, kb8 int)
// Packs six rows of A (src, src+lda, …) into dst as kb8 steps of 6 floats:
// dst[p·6+r] = src[r·lda+p], kb8 a multiple of 8. It writes 8 bytes past
// dst[kb8·6-1].
TEXT ·packA6AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ kb8+24(FP), CX
	SHRQ $3, CX
	JZ adone
aloop:
	TRANSPOSE6x8
	ADDQ $32, SI
	ADDQ $192, DI
	DECQ CX
	JNZ aloop
adone:
	VZEROUPPER
	RET
