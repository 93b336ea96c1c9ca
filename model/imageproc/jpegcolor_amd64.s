//go:build amd64 && !purego

#include "textflag.h"

// jdcolor.c's ycc_rgb_convert in 16-bit lanes. With xr = Cr−128 and
// xb = Cb−128 and the tables' constants split so that every multiplier fits
// int16 (FIX(1.402) = 65536 + 26345, FIX(1.772) = 2·65536 − 14942,
// −FIX(0.71414) = −65536 + 18734):
//   R = Y + xr   + ((26345·xr             + 32768) >> 16)
//   G = Y − xr   + ((18734·xr − 22554·xb + 32768) >> 16)
//   B = Y + 2·xb + ((−14942·xb            + 32768) >> 16)
// which are the table sums exactly; VPACKUSWB clamps as the range limit.
DATA yccConst<>+0(SB)/4, $0x000066e9  // (26345, 0)
DATA yccConst<>+4(SB)/4, $0xc5a20000  // (0, -14942)
DATA yccConst<>+8(SB)/4, $0xa7e6492e  // (18734, -22554)
DATA yccConst<>+12(SB)/4, $0x00008000 // 32768
DATA yccConst<>+16(SB)/4, $0x00800080 // words of 128
GLOBL yccConst<>(SB), RODATA|NOPTR, $20

// VPSHUFB masks interleaving 16 R, G, B bytes into 48 RGB bytes: chunk k
// (bytes 16k..16k+15) = R·mask[k][0] | G·mask[k][1] | B·mask[k][2].
DATA rgbShuf<>+0(SB)/8, $0x8002808001808000
DATA rgbShuf<>+8(SB)/8, $0x0580800480800380
DATA rgbShuf<>+16(SB)/8, $0x0280800180800080
DATA rgbShuf<>+24(SB)/8, $0x8080048080038080
DATA rgbShuf<>+32(SB)/8, $0x8080018080008080
DATA rgbShuf<>+40(SB)/8, $0x8004808003808002
DATA rgbShuf<>+48(SB)/8, $0x8080078080068080
DATA rgbShuf<>+56(SB)/8, $0x800a808009808008
DATA rgbShuf<>+64(SB)/8, $0x8007808006808005
DATA rgbShuf<>+72(SB)/8, $0x0a80800980800880
DATA rgbShuf<>+80(SB)/8, $0x0780800680800580
DATA rgbShuf<>+88(SB)/8, $0x8080098080088080
DATA rgbShuf<>+96(SB)/8, $0x0d80800c80800b80
DATA rgbShuf<>+104(SB)/8, $0x80800f80800e8080
DATA rgbShuf<>+112(SB)/8, $0x80800c80800b8080
DATA rgbShuf<>+120(SB)/8, $0x800f80800e80800d
DATA rgbShuf<>+128(SB)/8, $0x800c80800b80800a
DATA rgbShuf<>+136(SB)/8, $0x0f80800e80800d80
GLOBL rgbShuf<>(SB), RODATA|NOPTR, $144

// func yccRowAVX2(dst, y, cb, cr *uint8, n int)
// n is a multiple of 16.
TEXT ·yccRowAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ cb+16(FP), BX
	MOVQ cr+24(FP), DX
	MOVQ n+32(FP), CX
	VPBROADCASTD yccConst<>+0(SB), Y10
	VPBROADCASTD yccConst<>+4(SB), Y11
	VPBROADCASTD yccConst<>+8(SB), Y12
	VPBROADCASTD yccConst<>+12(SB), Y13
	VPBROADCASTD yccConst<>+16(SB), Y14

yloop:
	CMPQ CX, $16
	JLT ydone
	VPMOVZXBW (SI), Y0 // Y
	VPMOVZXBW (BX), Y1
	VPSUBW Y14, Y1, Y1 // xb
	VPMOVZXBW (DX), Y2
	VPSUBW Y14, Y2, Y2 // xr
	VPUNPCKLWD Y1, Y2, Y3 // (xr, xb) pairs, pixels 0-3 | 8-11
	VPUNPCKHWD Y1, Y2, Y4 // pixels 4-7 | 12-15

	// R
	VPMADDWD Y10, Y3, Y5
	VPMADDWD Y10, Y4, Y6
	VPADDD Y13, Y5, Y5
	VPADDD Y13, Y6, Y6
	VPSRAD $16, Y5, Y5
	VPSRAD $16, Y6, Y6
	VPACKSSDW Y6, Y5, Y5
	VPADDW Y2, Y5, Y5
	VPADDW Y0, Y5, Y5
	VPACKUSWB Y5, Y5, Y5
	VPERMQ $0x08, Y5, Y5 // R0..15 in X5

	// G
	VPMADDWD Y12, Y3, Y6
	VPMADDWD Y12, Y4, Y7
	VPADDD Y13, Y6, Y6
	VPADDD Y13, Y7, Y7
	VPSRAD $16, Y6, Y6
	VPSRAD $16, Y7, Y7
	VPACKSSDW Y7, Y6, Y6
	VPSUBW Y2, Y6, Y6
	VPADDW Y0, Y6, Y6
	VPACKUSWB Y6, Y6, Y6
	VPERMQ $0x08, Y6, Y6 // G in X6

	// B
	VPMADDWD Y11, Y3, Y7
	VPMADDWD Y11, Y4, Y8
	VPADDD Y13, Y7, Y7
	VPADDD Y13, Y8, Y8
	VPSRAD $16, Y7, Y7
	VPSRAD $16, Y8, Y8
	VPACKSSDW Y8, Y7, Y7
	VPADDW Y1, Y7, Y7
	VPADDW Y1, Y7, Y7
	VPADDW Y0, Y7, Y7
	VPACKUSWB Y7, Y7, Y7
	VPERMQ $0x08, Y7, Y7 // B in X7

	VPSHUFB rgbShuf<>+0(SB), X5, X8
	VPSHUFB rgbShuf<>+16(SB), X6, X9
	VPOR X9, X8, X8
	VPSHUFB rgbShuf<>+32(SB), X7, X9
	VPOR X9, X8, X8
	VMOVDQU X8, (DI)
	VPSHUFB rgbShuf<>+48(SB), X5, X8
	VPSHUFB rgbShuf<>+64(SB), X6, X9
	VPOR X9, X8, X8
	VPSHUFB rgbShuf<>+80(SB), X7, X9
	VPOR X9, X8, X8
	VMOVDQU X8, 16(DI)
	VPSHUFB rgbShuf<>+96(SB), X5, X8
	VPSHUFB rgbShuf<>+112(SB), X6, X9
	VPOR X9, X8, X8
	VPSHUFB rgbShuf<>+128(SB), X7, X9
	VPOR X9, X8, X8
	VMOVDQU X8, 32(DI)

	ADDQ $16, SI
	ADDQ $16, BX
	ADDQ $16, DX
	ADDQ $48, DI
	SUBQ $16, CX
	JMP yloop

ydone:
	VZEROUPPER
	RET
