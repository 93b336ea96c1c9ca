//go:build amd64 && !purego

#include "textflag.h"

// One k step of the 6×16 AVX-512 micro-kernel: one 16-float load of packed
// B and six FMAs with the A value broadcast from memory (embedded
// broadcast), into Z4..Z9 (row r in Z(4+r)).
#define STEP512(ao, bo) \
	VMOVUPS bo(DI), Z0; \
	VFMADD231PS.BCST ao(SI), Z0, Z4; \
	VFMADD231PS.BCST ao+4(SI), Z0, Z5; \
	VFMADD231PS.BCST ao+8(SI), Z0, Z6; \
	VFMADD231PS.BCST ao+12(SI), Z0, Z7; \
	VFMADD231PS.BCST ao+16(SI), Z0, Z8; \
	VFMADD231PS.BCST ao+20(SI), Z0, Z9

#define STOREROW512(r) \
	VMOVUPS r, (DX); \
	ADDQ R8, DX

#define FMAROW512(r) \
	VFMADD231PS (DX), Z1, r; \
	STOREROW512(r)

// func kern6x16AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32, loadC bool)
// kern6x16AVX2 on ZMM registers: the same tile, the same packed panels and,
// per element, the same FMAs in the same order, so its results are
// bit-identical to the AVX2 kernel's (TestGemmPathsBitIdentical).
TEXT ·kern6x16AVX512(SB), NOSPLIT, $0-49
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	MOVQ CX, R9
	SHRQ $2, R9
	ANDQ $3, CX
	TESTQ R9, R9
	JZ tail

loop4:
	STEP512(0, 0)
	STEP512(24, 64)
	STEP512(48, 128)
	STEP512(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ R9
	JNZ loop4

tail:
	TESTQ CX, CX
	JZ store

loop1:
	STEP512(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop1

store:
	VBROADCASTSS alpha+40(FP), Z0
	VMULPS Z0, Z4, Z4
	VMULPS Z0, Z5, Z5
	VMULPS Z0, Z6, Z6
	VMULPS Z0, Z7, Z7
	VMULPS Z0, Z8, Z8
	VMULPS Z0, Z9, Z9
	MOVBLZX loadC+48(FP), AX
	TESTL AX, AX
	JZ noload

	VBROADCASTSS beta+44(FP), Z1
	FMAROW512(Z4)
	FMAROW512(Z5)
	FMAROW512(Z6)
	FMAROW512(Z7)
	FMAROW512(Z8)
	FMAROW512(Z9)
	VZEROUPPER
	RET

noload:
	STOREROW512(Z4)
	STOREROW512(Z5)
	STOREROW512(Z6)
	STOREROW512(Z7)
	STOREROW512(Z8)
	STOREROW512(Z9)
	VZEROUPPER
	RET
