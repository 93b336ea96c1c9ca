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

// One k step of the 12×16 micro-kernel: one 16-float load of packed B and
// twelve FMAs, rows 0–5 broadcast from the first A panel (SI) into Z4..Z9,
// rows 6–11 from the second (R10) into Z10..Z15.
#define STEP512X12(ao, bo) \
	VMOVUPS bo(DI), Z0; \
	VFMADD231PS.BCST ao(SI), Z0, Z4; \
	VFMADD231PS.BCST ao+4(SI), Z0, Z5; \
	VFMADD231PS.BCST ao+8(SI), Z0, Z6; \
	VFMADD231PS.BCST ao+12(SI), Z0, Z7; \
	VFMADD231PS.BCST ao+16(SI), Z0, Z8; \
	VFMADD231PS.BCST ao+20(SI), Z0, Z9; \
	VFMADD231PS.BCST ao(R10), Z0, Z10; \
	VFMADD231PS.BCST ao+4(R10), Z0, Z11; \
	VFMADD231PS.BCST ao+8(R10), Z0, Z12; \
	VFMADD231PS.BCST ao+12(R10), Z0, Z13; \
	VFMADD231PS.BCST ao+16(R10), Z0, Z14; \
	VFMADD231PS.BCST ao+20(R10), Z0, Z15

// func kern12x16AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32, loadC bool)
// Two 6×16 tiles stacked: rows 0–5 from the packed A panel at a, rows 6–11
// from the next one (a + 6·kc floats), both against the same B panel, so
// each B load feeds twelve FMAs instead of six and twelve independent
// accumulators cover the FMA latency of a CPU with two 512-bit FMA units.
// Per element the same FMAs in the same order as kern6x16AVX512, so the
// results are bit-identical (TestGemmPathsBitIdentical).
TEXT ·kern12x16AVX512(SB), NOSPLIT, $0-49
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	LEAQ (CX)(CX*2), R10
	SHLQ $3, R10
	ADDQ SI, R10
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ CX, R9
	SHRQ $2, R9
	ANDQ $3, CX
	TESTQ R9, R9
	JZ tail12

loop12:
	STEP512X12(0, 0)
	STEP512X12(24, 64)
	STEP512X12(48, 128)
	STEP512X12(72, 192)
	ADDQ $96, SI
	ADDQ $96, R10
	ADDQ $256, DI
	DECQ R9
	JNZ loop12

tail12:
	TESTQ CX, CX
	JZ store12

loop12one:
	STEP512X12(0, 0)
	ADDQ $24, SI
	ADDQ $24, R10
	ADDQ $64, DI
	DECQ CX
	JNZ loop12one

store12:
	VBROADCASTSS alpha+40(FP), Z0
	VMULPS Z0, Z4, Z4
	VMULPS Z0, Z5, Z5
	VMULPS Z0, Z6, Z6
	VMULPS Z0, Z7, Z7
	VMULPS Z0, Z8, Z8
	VMULPS Z0, Z9, Z9
	VMULPS Z0, Z10, Z10
	VMULPS Z0, Z11, Z11
	VMULPS Z0, Z12, Z12
	VMULPS Z0, Z13, Z13
	VMULPS Z0, Z14, Z14
	VMULPS Z0, Z15, Z15
	MOVBLZX loadC+48(FP), AX
	TESTL AX, AX
	JZ noload12

	VBROADCASTSS beta+44(FP), Z1
	FMAROW512(Z4)
	FMAROW512(Z5)
	FMAROW512(Z6)
	FMAROW512(Z7)
	FMAROW512(Z8)
	FMAROW512(Z9)
	FMAROW512(Z10)
	FMAROW512(Z11)
	FMAROW512(Z12)
	FMAROW512(Z13)
	FMAROW512(Z14)
	FMAROW512(Z15)
	VZEROUPPER
	RET

noload12:
	STOREROW512(Z4)
	STOREROW512(Z5)
	STOREROW512(Z6)
	STOREROW512(Z7)
	STOREROW512(Z8)
	STOREROW512(Z9)
	STOREROW512(Z10)
	STOREROW512(Z11)
	STOREROW512(Z12)
	STOREROW512(Z13)
	STOREROW512(Z14)
	STOREROW512(Z15)
	VZEROUPPER
	RET
