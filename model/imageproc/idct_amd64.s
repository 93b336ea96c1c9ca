//go:build amd64 && !purego

#include "textflag.h"

// jidctint.c's jpeg_idct_islow in 32-bit lanes, eight columns (pass 1) or
// eight rows (pass 2) at a time, on a dequantised block. libjpeg computes
// in 64-bit JLONG; 32-bit lanes give the same integers whenever no sum
// leaves int32: the largest multiple of an input a 1-D pass forms is
// 178,219 (tmp11 + tmp2), so inputs below 2^13 in magnitude keep every sum
// below 2^31. The kernel checks the block's coefficients and the pass-1
// results against that bound and reports false (having written nothing)
// when either exceeds it; idctBlock then runs the Go IDCT.

// Per-lane constants, eight copies each: the FIX() multipliers, the
// descale roundings, the range-limit constants and the guard mask.
DATA idctK<>+0(SB)/8, $0x0000115100001151
DATA idctK<>+8(SB)/8, $0x0000115100001151
DATA idctK<>+16(SB)/8, $0x0000115100001151
DATA idctK<>+24(SB)/8, $0x0000115100001151
DATA idctK<>+32(SB)/8, $0xffffc4dfffffc4df
DATA idctK<>+40(SB)/8, $0xffffc4dfffffc4df
DATA idctK<>+48(SB)/8, $0xffffc4dfffffc4df
DATA idctK<>+56(SB)/8, $0xffffc4dfffffc4df
DATA idctK<>+64(SB)/8, $0x0000187e0000187e
DATA idctK<>+72(SB)/8, $0x0000187e0000187e
DATA idctK<>+80(SB)/8, $0x0000187e0000187e
DATA idctK<>+88(SB)/8, $0x0000187e0000187e
DATA idctK<>+96(SB)/8, $0x000025a1000025a1
DATA idctK<>+104(SB)/8, $0x000025a1000025a1
DATA idctK<>+112(SB)/8, $0x000025a1000025a1
DATA idctK<>+120(SB)/8, $0x000025a1000025a1
DATA idctK<>+128(SB)/8, $0x0000300b0000300b
DATA idctK<>+136(SB)/8, $0x0000300b0000300b
DATA idctK<>+144(SB)/8, $0x0000300b0000300b
DATA idctK<>+152(SB)/8, $0x0000300b0000300b
DATA idctK<>+160(SB)/8, $0x0000625400006254
DATA idctK<>+168(SB)/8, $0x0000625400006254
DATA idctK<>+176(SB)/8, $0x0000625400006254
DATA idctK<>+184(SB)/8, $0x0000625400006254
DATA idctK<>+192(SB)/8, $0x000041b3000041b3
DATA idctK<>+200(SB)/8, $0x000041b3000041b3
DATA idctK<>+208(SB)/8, $0x000041b3000041b3
DATA idctK<>+216(SB)/8, $0x000041b3000041b3
DATA idctK<>+224(SB)/8, $0x0000098e0000098e
DATA idctK<>+232(SB)/8, $0x0000098e0000098e
DATA idctK<>+240(SB)/8, $0x0000098e0000098e
DATA idctK<>+248(SB)/8, $0x0000098e0000098e
DATA idctK<>+256(SB)/8, $0xfffff384fffff384
DATA idctK<>+264(SB)/8, $0xfffff384fffff384
DATA idctK<>+272(SB)/8, $0xfffff384fffff384
DATA idctK<>+280(SB)/8, $0xfffff384fffff384
DATA idctK<>+288(SB)/8, $0xffffc13bffffc13b
DATA idctK<>+296(SB)/8, $0xffffc13bffffc13b
DATA idctK<>+304(SB)/8, $0xffffc13bffffc13b
DATA idctK<>+312(SB)/8, $0xffffc13bffffc13b
DATA idctK<>+320(SB)/8, $0xffffe333ffffe333
DATA idctK<>+328(SB)/8, $0xffffe333ffffe333
DATA idctK<>+336(SB)/8, $0xffffe333ffffe333
DATA idctK<>+344(SB)/8, $0xffffe333ffffe333
DATA idctK<>+352(SB)/8, $0xffffadfdffffadfd
DATA idctK<>+360(SB)/8, $0xffffadfdffffadfd
DATA idctK<>+368(SB)/8, $0xffffadfdffffadfd
DATA idctK<>+376(SB)/8, $0xffffadfdffffadfd
DATA idctK<>+384(SB)/8, $0x0000040000000400
DATA idctK<>+392(SB)/8, $0x0000040000000400
DATA idctK<>+400(SB)/8, $0x0000040000000400
DATA idctK<>+408(SB)/8, $0x0000040000000400
DATA idctK<>+416(SB)/8, $0x0002000000020000
DATA idctK<>+424(SB)/8, $0x0002000000020000
DATA idctK<>+432(SB)/8, $0x0002000000020000
DATA idctK<>+440(SB)/8, $0x0002000000020000
DATA idctK<>+448(SB)/8, $0x0000008000000080
DATA idctK<>+456(SB)/8, $0x0000008000000080
DATA idctK<>+464(SB)/8, $0x0000008000000080
DATA idctK<>+472(SB)/8, $0x0000008000000080
DATA idctK<>+480(SB)/8, $0x000003ff000003ff
DATA idctK<>+488(SB)/8, $0x000003ff000003ff
DATA idctK<>+496(SB)/8, $0x000003ff000003ff
DATA idctK<>+504(SB)/8, $0x000003ff000003ff
DATA idctK<>+512(SB)/8, $0x0000028000000280
DATA idctK<>+520(SB)/8, $0x0000028000000280
DATA idctK<>+528(SB)/8, $0x0000028000000280
DATA idctK<>+536(SB)/8, $0x0000028000000280
DATA idctK<>+544(SB)/8, $0x000000ff000000ff
DATA idctK<>+552(SB)/8, $0x000000ff000000ff
DATA idctK<>+560(SB)/8, $0x000000ff000000ff
DATA idctK<>+568(SB)/8, $0x000000ff000000ff
DATA idctK<>+576(SB)/8, $0xffffe000ffffe000
DATA idctK<>+584(SB)/8, $0xffffe000ffffe000
DATA idctK<>+592(SB)/8, $0xffffe000ffffe000
DATA idctK<>+600(SB)/8, $0xffffe000ffffe000
GLOBL idctK<>(SB), RODATA|NOPTR, $608

#define C4433 idctK<>+0(SB)
#define CM15137 idctK<>+32(SB)
#define C6270 idctK<>+64(SB)
#define C9633 idctK<>+96(SB)
#define C12299 idctK<>+128(SB)
#define C25172 idctK<>+160(SB)
#define C16819 idctK<>+192(SB)
#define C2446 idctK<>+224(SB)
#define CM3196 idctK<>+256(SB)
#define CM16069 idctK<>+288(SB)
#define CM7373 idctK<>+320(SB)
#define CM20995 idctK<>+352(SB)
#define C1024 idctK<>+384(SB)
#define C131072 idctK<>+416(SB)
#define C128 idctK<>+448(SB)
#define C1023 idctK<>+480(SB)
#define C640 idctK<>+512(SB)
#define C255 idctK<>+544(SB)
#define CGUARD idctK<>+576(SB)

// Output byte order within each 128-bit lane after the packs: four bytes
// per row.
DATA idctShuf<>+0(SB)/8, $0x0d0905010c080400
DATA idctShuf<>+8(SB)/8, $0x0f0b07030e0a0602
DATA idctShuf<>+16(SB)/8, $0x0d0905010c080400
DATA idctShuf<>+24(SB)/8, $0x0f0b07030e0a0602
GLOBL idctShuf<>(SB), RODATA|NOPTR, $32

// IDCT1D runs jidctint.c's 1-D transform on the eight 32-byte vectors at
// base(0), base+32, ..., base+224 (vector k = input k), lane-wise, and
// leaves the eight outputs, rounded with rnd and shifted right by sh, in
// Y4 (out 0), Y10 (1), Y12 (2), Y14 (3), Y15 (4), Y13 (5), Y11 (6), Y5 (7).
#define IDCT1D(base, rnd, sh) \
	VMOVDQU 64(base), Y0; \
	VMOVDQU 192(base), Y1; \
	VPADDD Y1, Y0, Y2; \
	VPMULLD C4433, Y2, Y2; \
	VPMULLD CM15137, Y1, Y1; \
	VPADDD Y1, Y2, Y3; \
	VPMULLD C6270, Y0, Y0; \
	VPADDD Y0, Y2, Y2; \
	VMOVDQU 0(base), Y0; \
	VMOVDQU 128(base), Y1; \
	VPADDD Y1, Y0, Y4; \
	VPSLLD $13, Y4, Y4; \
	VPSUBD Y1, Y0, Y5; \
	VPSLLD $13, Y5, Y5; \
	VPADDD Y2, Y4, Y6; \
	VPSUBD Y2, Y4, Y7; \
	VPADDD Y3, Y5, Y8; \
	VPSUBD Y3, Y5, Y9; \
	VMOVDQU 32(base), Y0; \
	VMOVDQU 96(base), Y1; \
	VMOVDQU 160(base), Y2; \
	VMOVDQU 224(base), Y3; \
	VPADDD Y0, Y2, Y4; \
	VPADDD Y1, Y3, Y5; \
	VPADDD Y1, Y2, Y10; \
	VPADDD Y0, Y3, Y11; \
	VPADDD Y4, Y5, Y12; \
	VPMULLD C9633, Y12, Y12; \
	VPMULLD C12299, Y0, Y0; \
	VPMULLD C25172, Y1, Y1; \
	VPMULLD C16819, Y2, Y2; \
	VPMULLD C2446, Y3, Y3; \
	VPMULLD CM3196, Y4, Y4; \
	VPADDD Y12, Y4, Y4; \
	VPMULLD CM16069, Y5, Y5; \
	VPADDD Y12, Y5, Y5; \
	VPMULLD CM7373, Y11, Y11; \
	VPMULLD CM20995, Y10, Y10; \
	VPADDD Y11, Y0, Y0; \
	VPADDD Y4, Y0, Y0; \
	VPADDD Y10, Y1, Y1; \
	VPADDD Y5, Y1, Y1; \
	VPADDD Y10, Y2, Y2; \
	VPADDD Y4, Y2, Y2; \
	VPADDD Y11, Y3, Y3; \
	VPADDD Y5, Y3, Y3; \
	VPADDD rnd, Y6, Y6; \
	VPADDD rnd, Y8, Y8; \
	VPADDD rnd, Y9, Y9; \
	VPADDD rnd, Y7, Y7; \
	VPADDD Y0, Y6, Y4; \
	VPSUBD Y0, Y6, Y5; \
	VPADDD Y1, Y8, Y10; \
	VPSUBD Y1, Y8, Y11; \
	VPADDD Y2, Y9, Y12; \
	VPSUBD Y2, Y9, Y13; \
	VPADDD Y3, Y7, Y14; \
	VPSUBD Y3, Y7, Y15; \
	VPSRAD $sh, Y4, Y4; \
	VPSRAD $sh, Y5, Y5; \
	VPSRAD $sh, Y10, Y10; \
	VPSRAD $sh, Y11, Y11; \
	VPSRAD $sh, Y12, Y12; \
	VPSRAD $sh, Y13, Y13; \
	VPSRAD $sh, Y14, Y14; \
	VPSRAD $sh, Y15, Y15

// GUARD ORs |v| of the listed registers into acc.
#define ABSOR(r, acc) \
	VPABSD r, Y9; \
	VPOR Y9, acc, acc

// RANGE is jdmaster.c's range limit read at (v & 1023), for v = r:
// u = (v + 128) & 1023; u if u < 256, 255 if u < 640, else 0.
#define RANGE(r) \
	VPADDD C128, r, r; \
	VPAND C1023, r, r; \
	VMOVDQU C640, Y9; \
	VPCMPGTD r, Y9, Y9; \
	VPMINSD C255, r, r; \
	VPAND Y9, r, r

// func idctAVX2(out *uint8, stride int, blk *[64]int32) bool
TEXT ·idctAVX2(SB), NOSPLIT, $256-25
	MOVQ out+0(FP), DI
	MOVQ stride+8(FP), R8
	MOVQ blk+16(FP), SI

	// Guard: every coefficient below 2^13 in magnitude.
	VPXOR Y8, Y8, Y8
	VMOVDQU 0(SI), Y0
	ABSOR(Y0, Y8)
	VMOVDQU 32(SI), Y0
	ABSOR(Y0, Y8)
	VMOVDQU 64(SI), Y0
	ABSOR(Y0, Y8)
	VMOVDQU 96(SI), Y0
	ABSOR(Y0, Y8)
	VMOVDQU 128(SI), Y0
	ABSOR(Y0, Y8)
	VMOVDQU 160(SI), Y0
	ABSOR(Y0, Y8)
	VMOVDQU 192(SI), Y0
	ABSOR(Y0, Y8)
	VMOVDQU 224(SI), Y0
	ABSOR(Y0, Y8)
	VPTEST CGUARD, Y8
	JNZ refuse

	// Pass 1: columns (lanes) over the rows, descaled by 2^11.
	IDCT1D(SI, C1024, 11)

	// Guard: the workspace below 2^13 in magnitude.
	VPXOR Y8, Y8, Y8
	ABSOR(Y4, Y8)
	ABSOR(Y5, Y8)
	ABSOR(Y10, Y8)
	ABSOR(Y11, Y8)
	ABSOR(Y12, Y8)
	ABSOR(Y13, Y8)
	ABSOR(Y14, Y8)
	ABSOR(Y15, Y8)
	VPTEST CGUARD, Y8
	JNZ refuse

	// Transpose the workspace (rows a0..a7 = Y4 Y10 Y12 Y14 Y15 Y13 Y11
	// Y5) into columns, stored at 0(SP)..224(SP).
	VPUNPCKLDQ Y10, Y4, Y0
	VPUNPCKHDQ Y10, Y4, Y1
	VPUNPCKLDQ Y14, Y12, Y2
	VPUNPCKHDQ Y14, Y12, Y3
	VPUNPCKLDQ Y13, Y15, Y6
	VPUNPCKHDQ Y13, Y15, Y7
	VPUNPCKLDQ Y5, Y11, Y8
	VPUNPCKHDQ Y5, Y11, Y9
	VPUNPCKLQDQ Y2, Y0, Y4
	VPUNPCKHQDQ Y2, Y0, Y5
	VPUNPCKLQDQ Y3, Y1, Y10
	VPUNPCKHQDQ Y3, Y1, Y11
	VPUNPCKLQDQ Y8, Y6, Y12
	VPUNPCKHQDQ Y8, Y6, Y13
	VPUNPCKLQDQ Y9, Y7, Y14
	VPUNPCKHQDQ Y9, Y7, Y15
	VPERM2I128 $0x20, Y12, Y4, Y0
	VMOVDQU Y0, 0(SP)
	VPERM2I128 $0x31, Y12, Y4, Y0
	VMOVDQU Y0, 128(SP)
	VPERM2I128 $0x20, Y13, Y5, Y0
	VMOVDQU Y0, 32(SP)
	VPERM2I128 $0x31, Y13, Y5, Y0
	VMOVDQU Y0, 160(SP)
	VPERM2I128 $0x20, Y14, Y10, Y0
	VMOVDQU Y0, 64(SP)
	VPERM2I128 $0x31, Y14, Y10, Y0
	VMOVDQU Y0, 192(SP)
	VPERM2I128 $0x20, Y15, Y11, Y0
	VMOVDQU Y0, 96(SP)
	VPERM2I128 $0x31, Y15, Y11, Y0
	VMOVDQU Y0, 224(SP)

	// Pass 2: rows (lanes) over the columns, descaled by 2^18; output k
	// is column k of the block, one row per lane.
	MOVQ SP, BX
	IDCT1D(BX, C131072, 18)
	RANGE(Y4)
	RANGE(Y10)
	RANGE(Y12)
	RANGE(Y14)
	RANGE(Y15)
	RANGE(Y13)
	RANGE(Y11)
	RANGE(Y5)

	// Pack to bytes: per 128-bit lane (rows 0-3 | rows 4-7), column k's
	// four samples; then reorder to four bytes per row and interleave.
	VPACKUSDW Y10, Y4, Y0 // cols 0, 1
	VPACKUSDW Y14, Y12, Y1 // cols 2, 3
	VPACKUSDW Y13, Y15, Y2 // cols 4, 5
	VPACKUSDW Y5, Y11, Y3 // cols 6, 7
	VPACKUSWB Y1, Y0, Y0
	VPACKUSWB Y3, Y2, Y2
	VMOVDQU idctShuf<>(SB), Y6
	VPSHUFB Y6, Y0, Y0
	VPSHUFB Y6, Y2, Y2
	VPUNPCKLDQ Y2, Y0, Y1 // rows 0, 1 | 4, 5
	VPUNPCKHDQ Y2, Y0, Y3 // rows 2, 3 | 6, 7

	LEAQ (R8)(R8*2), R9
	LEAQ (DI)(R8*4), R10
	VMOVQ X1, (DI)
	VPEXTRQ $1, X1, (DI)(R8*1)
	VMOVQ X3, (DI)(R8*2)
	VPEXTRQ $1, X3, (DI)(R9*1)
	VEXTRACTI128 $1, Y1, X1
	VEXTRACTI128 $1, Y3, X3
	VMOVQ X1, (R10)
	VPEXTRQ $1, X1, (R10)(R8*1)
	VMOVQ X3, (R10)(R8*2)
	VPEXTRQ $1, X3, (R10)(R9*1)
	VZEROUPPER
	MOVB $1, ret+24(FP)
	RET

refuse:
	VZEROUPPER
	MOVB $0, ret+24(FP)
	RET
