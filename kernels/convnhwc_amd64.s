//go:build amd64 && !purego

#include "textflag.h"

// One k step of Conv2DNHWC's micro-kernel: two 8-float loads of the packed
// weight panel at bo(DI), one broadcast from each of the six pixel pointers
// (SI, BX, R8..R11) at ao + R12 bytes, twelve FMAs into Y4..Y15 (pixel r in
// Y(4+2r), Y(5+2r)).
#define CSTEP(ao, bo) \
	VMOVUPS bo(DI), Y0; \
	VMOVUPS bo+32(DI), Y1; \
	VBROADCASTSS ao(SI)(R12*1), Y2; \
	VBROADCASTSS ao(BX)(R12*1), Y3; \
	VFMADD231PS Y0, Y2, Y4; \
	VFMADD231PS Y1, Y2, Y5; \
	VFMADD231PS Y0, Y3, Y6; \
	VFMADD231PS Y1, Y3, Y7; \
	VBROADCASTSS ao(R8)(R12*1), Y2; \
	VBROADCASTSS ao(R9)(R12*1), Y3; \
	VFMADD231PS Y0, Y2, Y8; \
	VFMADD231PS Y1, Y2, Y9; \
	VFMADD231PS Y0, Y3, Y10; \
	VFMADD231PS Y1, Y3, Y11; \
	VBROADCASTSS ao(R10)(R12*1), Y2; \
	VBROADCASTSS ao(R11)(R12*1), Y3; \
	VFMADD231PS Y0, Y2, Y12; \
	VFMADD231PS Y1, Y2, Y13; \
	VFMADD231PS Y0, Y3, Y14; \
	VFMADD231PS Y1, Y3, Y15

#define CSTORE(lo, hi) \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ R8, DX

#define CADDSTORE(lo, hi) \
	VADDPS (DX), lo, lo; \
	VADDPS 32(DX), hi, hi; \
	CSTORE(lo, hi)

#define CBIAS(lo, hi) \
	VADDPS Y0, lo, lo; \
	VADDPS Y1, hi, hi

// func convTiles6x16AVX2(in *float32, bases *int, ntiles int, segs *convSeg, nseg int, b, c *float32, ldc int, bias *[16]float32, load bool)
// For each of ntiles ≥ 1 tiles (pixel r of tile t at float offset
// bases[6t+r] into in, output rows c + 6t·ldc + r·ldc): for each segment
// {off, n} (nseg ≥ 1), n k steps reading pixel r's value at base + off + q.
// Then c[r·ldc+j] += acc (load) or = acc + bias[j]. The tile state (bases,
// ntiles, c) lives in the argument slots between tiles.
TEXT ·convTiles6x16AVX2(SB), NOSPLIT, $0-73
tile:
	MOVQ in+0(FP), AX
	MOVQ bases+8(FP), DX
	MOVQ 0(DX), SI
	LEAQ (AX)(SI*4), SI
	MOVQ 8(DX), BX
	LEAQ (AX)(BX*4), BX
	MOVQ 16(DX), R8
	LEAQ (AX)(R8*4), R8
	MOVQ 24(DX), R9
	LEAQ (AX)(R9*4), R9
	MOVQ 32(DX), R10
	LEAQ (AX)(R10*4), R10
	MOVQ 40(DX), R11
	LEAQ (AX)(R11*4), R11
	ADDQ $48, DX
	MOVQ DX, bases+8(FP)
	MOVQ segs+24(FP), R13
	MOVQ nseg+32(FP), AX
	MOVQ b+40(FP), DI
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

seg:
	MOVQ 0(R13), R12
	SHLQ $2, R12
	MOVQ 8(R13), CX
	ADDQ $16, R13
	MOVQ CX, DX
	SHRQ $2, DX
	ANDQ $3, CX
	TESTQ DX, DX
	JZ tail

loop4:
	CSTEP(0, 0)
	CSTEP(4, 64)
	CSTEP(8, 128)
	CSTEP(12, 192)
	ADDQ $16, R12
	ADDQ $256, DI
	DECQ DX
	JNZ loop4

tail:
	TESTQ CX, CX
	JZ next

loop1:
	CSTEP(0, 0)
	ADDQ $4, R12
	ADDQ $64, DI
	DECQ CX
	JNZ loop1

next:
	DECQ AX
	JNZ seg

	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R8
	SHLQ $2, R8
	MOVBLZX load+72(FP), AX
	TESTL AX, AX
	JZ nobias

	CADDSTORE(Y4, Y5)
	CADDSTORE(Y6, Y7)
	CADDSTORE(Y8, Y9)
	CADDSTORE(Y10, Y11)
	CADDSTORE(Y12, Y13)
	CADDSTORE(Y14, Y15)
	JMP endtile

nobias:
	MOVQ bias+64(FP), SI
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	CBIAS(Y4, Y5)
	CBIAS(Y6, Y7)
	CBIAS(Y8, Y9)
	CBIAS(Y10, Y11)
	CBIAS(Y12, Y13)
	CBIAS(Y14, Y15)
	CSTORE(Y4, Y5)
	CSTORE(Y6, Y7)
	CSTORE(Y8, Y9)
	CSTORE(Y10, Y11)
	CSTORE(Y12, Y13)
	CSTORE(Y14, Y15)

endtile:
	// DX is now c + 6·ldc floats: the next tile's first row.
	MOVQ DX, c+48(FP)
	DECQ ntiles+16(FP)
	JNZ tile
	VZEROUPPER
	RET

// One k step of the ZMM micro-kernel: one 16-float load of the panel at
// bo(DI), six FMAs with each pixel's input value broadcast by the FMA
// itself, into Z4..Z9 (pixel r in Z(4+r)).
#define ZSTEP(ao, bo) \
	VMOVUPS bo(DI), Z0; \
	VFMADD231PS.BCST ao(SI)(R12*1), Z0, Z4; \
	VFMADD231PS.BCST ao(BX)(R12*1), Z0, Z5; \
	VFMADD231PS.BCST ao(R8)(R12*1), Z0, Z6; \
	VFMADD231PS.BCST ao(R9)(R12*1), Z0, Z7; \
	VFMADD231PS.BCST ao(R10)(R12*1), Z0, Z8; \
	VFMADD231PS.BCST ao(R11)(R12*1), Z0, Z9

#define ZSTORE(r) \
	VMOVUPS r, (DX); \
	ADDQ R8, DX

#define ZADDSTORE(r) \
	VADDPS (DX), r, r; \
	ZSTORE(r)

// func convTiles6x16AVX512(in *float32, bases *int, ntiles int, segs *convSeg, nseg int, b, c *float32, ldc int, bias *[16]float32, load bool)
// convTiles6x16AVX2 on ZMM registers: the same tiles, segments and, per
// output value, the same FMAs in the same order and the same final add, so
// its results are bit-identical (TestConv2DNHWCAVX512BitIdenticalToAVX2).
TEXT ·convTiles6x16AVX512(SB), NOSPLIT, $0-73
ztile:
	MOVQ in+0(FP), AX
	MOVQ bases+8(FP), DX
	MOVQ 0(DX), SI
	LEAQ (AX)(SI*4), SI
	MOVQ 8(DX), BX
	LEAQ (AX)(BX*4), BX
	MOVQ 16(DX), R8
	LEAQ (AX)(R8*4), R8
	MOVQ 24(DX), R9
	LEAQ (AX)(R9*4), R9
	MOVQ 32(DX), R10
	LEAQ (AX)(R10*4), R10
	MOVQ 40(DX), R11
	LEAQ (AX)(R11*4), R11
	ADDQ $48, DX
	MOVQ DX, bases+8(FP)
	MOVQ segs+24(FP), R13
	MOVQ nseg+32(FP), AX
	MOVQ b+40(FP), DI
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9

zseg:
	MOVQ 0(R13), R12
	SHLQ $2, R12
	MOVQ 8(R13), CX
	ADDQ $16, R13
	MOVQ CX, DX
	SHRQ $2, DX
	ANDQ $3, CX
	TESTQ DX, DX
	JZ ztail

zloop4:
	ZSTEP(0, 0)
	ZSTEP(4, 64)
	ZSTEP(8, 128)
	ZSTEP(12, 192)
	ADDQ $16, R12
	ADDQ $256, DI
	DECQ DX
	JNZ zloop4

ztail:
	TESTQ CX, CX
	JZ znext

zloop1:
	ZSTEP(0, 0)
	ADDQ $4, R12
	ADDQ $64, DI
	DECQ CX
	JNZ zloop1

znext:
	DECQ AX
	JNZ zseg

	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R8
	SHLQ $2, R8
	MOVBLZX load+72(FP), AX
	TESTL AX, AX
	JZ znobias

	ZADDSTORE(Z4)
	ZADDSTORE(Z5)
	ZADDSTORE(Z6)
	ZADDSTORE(Z7)
	ZADDSTORE(Z8)
	ZADDSTORE(Z9)
	JMP zendtile

znobias:
	MOVQ bias+64(FP), SI
	VMOVUPS (SI), Z0
	VADDPS Z0, Z4, Z4
	VADDPS Z0, Z5, Z5
	VADDPS Z0, Z6, Z6
	VADDPS Z0, Z7, Z7
	VADDPS Z0, Z8, Z8
	VADDPS Z0, Z9, Z9
	ZSTORE(Z4)
	ZSTORE(Z5)
	ZSTORE(Z6)
	ZSTORE(Z7)
	ZSTORE(Z8)
	ZSTORE(Z9)

zendtile:
	MOVQ DX, c+48(FP)
	DECQ ntiles+16(FP)
	JNZ ztile
	VZEROUPPER
	RET
