//go:build amd64 && !purego

#include "textflag.h"

// Constant vectors (each 8 copies) for the vectorised GELU and exp; generated
// values, one 32-byte row per constant.
#define K_absmask vconst<>+0(SB)
#define K_one vconst<>+32(SB)
#define K_hisq vconst<>+64(SB)
#define K_c9 vconst<>+96(SB)
#define K_c8 vconst<>+128(SB)
#define K_c7 vconst<>+160(SB)
#define K_c6 vconst<>+192(SB)
#define K_c5 vconst<>+224(SB)
#define K_c4 vconst<>+256(SB)
#define K_c3 vconst<>+288(SB)
#define K_c2 vconst<>+320(SB)
#define K_c1 vconst<>+352(SB)
#define K_c0 vconst<>+384(SB)
#define K_neghalf vconst<>+416(SB)
#define K_lim104 vconst<>+448(SB)
#define K_log2e vconst<>+480(SB)
#define K_ln2hi vconst<>+512(SB)
#define K_ln2lo vconst<>+544(SB)
#define K_e5 vconst<>+576(SB)
#define K_e4 vconst<>+608(SB)
#define K_e3 vconst<>+640(SB)
#define K_e2 vconst<>+672(SB)
#define K_e1 vconst<>+704(SB)
#define K_e0 vconst<>+736(SB)
#define K_bias191 vconst<>+768(SB)
#define K_half vconst<>+800(SB)
#define K_twoM64 vconst<>+832(SB)
#define K_lim87 vconst<>+864(SB)
#define K_bias127 vconst<>+896(SB)
DATA vconst<>+0(SB)/4, $0x7fffffff
DATA vconst<>+4(SB)/4, $0x7fffffff
DATA vconst<>+8(SB)/4, $0x7fffffff
DATA vconst<>+12(SB)/4, $0x7fffffff
DATA vconst<>+16(SB)/4, $0x7fffffff
DATA vconst<>+20(SB)/4, $0x7fffffff
DATA vconst<>+24(SB)/4, $0x7fffffff
DATA vconst<>+28(SB)/4, $0x7fffffff
DATA vconst<>+32(SB)/4, $0x3f800000
DATA vconst<>+36(SB)/4, $0x3f800000
DATA vconst<>+40(SB)/4, $0x3f800000
DATA vconst<>+44(SB)/4, $0x3f800000
DATA vconst<>+48(SB)/4, $0x3f800000
DATA vconst<>+52(SB)/4, $0x3f800000
DATA vconst<>+56(SB)/4, $0x3f800000
DATA vconst<>+60(SB)/4, $0x3f800000
DATA vconst<>+64(SB)/4, $0x3eb504f3
DATA vconst<>+68(SB)/4, $0x3eb504f3
DATA vconst<>+72(SB)/4, $0x3eb504f3
DATA vconst<>+76(SB)/4, $0x3eb504f3
DATA vconst<>+80(SB)/4, $0x3eb504f3
DATA vconst<>+84(SB)/4, $0x3eb504f3
DATA vconst<>+88(SB)/4, $0x3eb504f3
DATA vconst<>+92(SB)/4, $0x3eb504f3
DATA vconst<>+96(SB)/4, $0x3e2ef945
DATA vconst<>+100(SB)/4, $0x3e2ef945
DATA vconst<>+104(SB)/4, $0x3e2ef945
DATA vconst<>+108(SB)/4, $0x3e2ef945
DATA vconst<>+112(SB)/4, $0x3e2ef945
DATA vconst<>+116(SB)/4, $0x3e2ef945
DATA vconst<>+120(SB)/4, $0x3e2ef945
DATA vconst<>+124(SB)/4, $0x3e2ef945
DATA vconst<>+128(SB)/4, $0xbf527892
DATA vconst<>+132(SB)/4, $0xbf527892
DATA vconst<>+136(SB)/4, $0xbf527892
DATA vconst<>+140(SB)/4, $0xbf527892
DATA vconst<>+144(SB)/4, $0xbf527892
DATA vconst<>+148(SB)/4, $0xbf527892
DATA vconst<>+152(SB)/4, $0xbf527892
DATA vconst<>+156(SB)/4, $0xbf527892
DATA vconst<>+160(SB)/4, $0x3fbe87b0
DATA vconst<>+164(SB)/4, $0x3fbe87b0
DATA vconst<>+168(SB)/4, $0x3fbe87b0
DATA vconst<>+172(SB)/4, $0x3fbe87b0
DATA vconst<>+176(SB)/4, $0x3fbe87b0
DATA vconst<>+180(SB)/4, $0x3fbe87b0
DATA vconst<>+184(SB)/4, $0x3fbe87b0
DATA vconst<>+188(SB)/4, $0x3fbe87b0
DATA vconst<>+192(SB)/4, $0xbf914e5d
DATA vconst<>+196(SB)/4, $0xbf914e5d
DATA vconst<>+200(SB)/4, $0xbf914e5d
DATA vconst<>+204(SB)/4, $0xbf914e5d
DATA vconst<>+208(SB)/4, $0xbf914e5d
DATA vconst<>+212(SB)/4, $0xbf914e5d
DATA vconst<>+216(SB)/4, $0xbf914e5d
DATA vconst<>+220(SB)/4, $0xbf914e5d
DATA vconst<>+224(SB)/4, $0x3e8ec7cc
DATA vconst<>+228(SB)/4, $0x3e8ec7cc
DATA vconst<>+232(SB)/4, $0x3e8ec7cc
DATA vconst<>+236(SB)/4, $0x3e8ec7cc
DATA vconst<>+240(SB)/4, $0x3e8ec7cc
DATA vconst<>+244(SB)/4, $0x3e8ec7cc
DATA vconst<>+248(SB)/4, $0x3e8ec7cc
DATA vconst<>+252(SB)/4, $0x3e8ec7cc
DATA vconst<>+256(SB)/4, $0xbe3ec24c
DATA vconst<>+260(SB)/4, $0xbe3ec24c
DATA vconst<>+264(SB)/4, $0xbe3ec24c
DATA vconst<>+268(SB)/4, $0xbe3ec24c
DATA vconst<>+272(SB)/4, $0xbe3ec24c
DATA vconst<>+276(SB)/4, $0xbe3ec24c
DATA vconst<>+280(SB)/4, $0xbe3ec24c
DATA vconst<>+284(SB)/4, $0xbe3ec24c
DATA vconst<>+288(SB)/4, $0x3dc636c9
DATA vconst<>+292(SB)/4, $0x3dc636c9
DATA vconst<>+296(SB)/4, $0x3dc636c9
DATA vconst<>+300(SB)/4, $0x3dc636c9
DATA vconst<>+304(SB)/4, $0x3dc636c9
DATA vconst<>+308(SB)/4, $0x3dc636c9
DATA vconst<>+312(SB)/4, $0x3dc636c9
DATA vconst<>+316(SB)/4, $0x3dc636c9
DATA vconst<>+320(SB)/4, $0x3ebf88fb
DATA vconst<>+324(SB)/4, $0x3ebf88fb
DATA vconst<>+328(SB)/4, $0x3ebf88fb
DATA vconst<>+332(SB)/4, $0x3ebf88fb
DATA vconst<>+336(SB)/4, $0x3ebf88fb
DATA vconst<>+340(SB)/4, $0x3ebf88fb
DATA vconst<>+344(SB)/4, $0x3ebf88fb
DATA vconst<>+348(SB)/4, $0x3ebf88fb
DATA vconst<>+352(SB)/4, $0x3f8000c7
DATA vconst<>+356(SB)/4, $0x3f8000c7
DATA vconst<>+360(SB)/4, $0x3f8000c7
DATA vconst<>+364(SB)/4, $0x3f8000c7
DATA vconst<>+368(SB)/4, $0x3f8000c7
DATA vconst<>+372(SB)/4, $0x3f8000c7
DATA vconst<>+376(SB)/4, $0x3f8000c7
DATA vconst<>+380(SB)/4, $0x3f8000c7
DATA vconst<>+384(SB)/4, $0xbfa1fc4e
DATA vconst<>+388(SB)/4, $0xbfa1fc4e
DATA vconst<>+392(SB)/4, $0xbfa1fc4e
DATA vconst<>+396(SB)/4, $0xbfa1fc4e
DATA vconst<>+400(SB)/4, $0xbfa1fc4e
DATA vconst<>+404(SB)/4, $0xbfa1fc4e
DATA vconst<>+408(SB)/4, $0xbfa1fc4e
DATA vconst<>+412(SB)/4, $0xbfa1fc4e
DATA vconst<>+416(SB)/4, $0xbf000000
DATA vconst<>+420(SB)/4, $0xbf000000
DATA vconst<>+424(SB)/4, $0xbf000000
DATA vconst<>+428(SB)/4, $0xbf000000
DATA vconst<>+432(SB)/4, $0xbf000000
DATA vconst<>+436(SB)/4, $0xbf000000
DATA vconst<>+440(SB)/4, $0xbf000000
DATA vconst<>+444(SB)/4, $0xbf000000
DATA vconst<>+448(SB)/4, $0xc2d00000
DATA vconst<>+452(SB)/4, $0xc2d00000
DATA vconst<>+456(SB)/4, $0xc2d00000
DATA vconst<>+460(SB)/4, $0xc2d00000
DATA vconst<>+464(SB)/4, $0xc2d00000
DATA vconst<>+468(SB)/4, $0xc2d00000
DATA vconst<>+472(SB)/4, $0xc2d00000
DATA vconst<>+476(SB)/4, $0xc2d00000
DATA vconst<>+480(SB)/4, $0x3fb8aa3b
DATA vconst<>+484(SB)/4, $0x3fb8aa3b
DATA vconst<>+488(SB)/4, $0x3fb8aa3b
DATA vconst<>+492(SB)/4, $0x3fb8aa3b
DATA vconst<>+496(SB)/4, $0x3fb8aa3b
DATA vconst<>+500(SB)/4, $0x3fb8aa3b
DATA vconst<>+504(SB)/4, $0x3fb8aa3b
DATA vconst<>+508(SB)/4, $0x3fb8aa3b
DATA vconst<>+512(SB)/4, $0x3f318000
DATA vconst<>+516(SB)/4, $0x3f318000
DATA vconst<>+520(SB)/4, $0x3f318000
DATA vconst<>+524(SB)/4, $0x3f318000
DATA vconst<>+528(SB)/4, $0x3f318000
DATA vconst<>+532(SB)/4, $0x3f318000
DATA vconst<>+536(SB)/4, $0x3f318000
DATA vconst<>+540(SB)/4, $0x3f318000
DATA vconst<>+544(SB)/4, $0xb95e8083
DATA vconst<>+548(SB)/4, $0xb95e8083
DATA vconst<>+552(SB)/4, $0xb95e8083
DATA vconst<>+556(SB)/4, $0xb95e8083
DATA vconst<>+560(SB)/4, $0xb95e8083
DATA vconst<>+564(SB)/4, $0xb95e8083
DATA vconst<>+568(SB)/4, $0xb95e8083
DATA vconst<>+572(SB)/4, $0xb95e8083
DATA vconst<>+576(SB)/4, $0x39506967
DATA vconst<>+580(SB)/4, $0x39506967
DATA vconst<>+584(SB)/4, $0x39506967
DATA vconst<>+588(SB)/4, $0x39506967
DATA vconst<>+592(SB)/4, $0x39506967
DATA vconst<>+596(SB)/4, $0x39506967
DATA vconst<>+600(SB)/4, $0x39506967
DATA vconst<>+604(SB)/4, $0x39506967
DATA vconst<>+608(SB)/4, $0x3ab743ce
DATA vconst<>+612(SB)/4, $0x3ab743ce
DATA vconst<>+616(SB)/4, $0x3ab743ce
DATA vconst<>+620(SB)/4, $0x3ab743ce
DATA vconst<>+624(SB)/4, $0x3ab743ce
DATA vconst<>+628(SB)/4, $0x3ab743ce
DATA vconst<>+632(SB)/4, $0x3ab743ce
DATA vconst<>+636(SB)/4, $0x3ab743ce
DATA vconst<>+640(SB)/4, $0x3c088908
DATA vconst<>+644(SB)/4, $0x3c088908
DATA vconst<>+648(SB)/4, $0x3c088908
DATA vconst<>+652(SB)/4, $0x3c088908
DATA vconst<>+656(SB)/4, $0x3c088908
DATA vconst<>+660(SB)/4, $0x3c088908
DATA vconst<>+664(SB)/4, $0x3c088908
DATA vconst<>+668(SB)/4, $0x3c088908
DATA vconst<>+672(SB)/4, $0x3d2aa9c1
DATA vconst<>+676(SB)/4, $0x3d2aa9c1
DATA vconst<>+680(SB)/4, $0x3d2aa9c1
DATA vconst<>+684(SB)/4, $0x3d2aa9c1
DATA vconst<>+688(SB)/4, $0x3d2aa9c1
DATA vconst<>+692(SB)/4, $0x3d2aa9c1
DATA vconst<>+696(SB)/4, $0x3d2aa9c1
DATA vconst<>+700(SB)/4, $0x3d2aa9c1
DATA vconst<>+704(SB)/4, $0x3e2aaaaa
DATA vconst<>+708(SB)/4, $0x3e2aaaaa
DATA vconst<>+712(SB)/4, $0x3e2aaaaa
DATA vconst<>+716(SB)/4, $0x3e2aaaaa
DATA vconst<>+720(SB)/4, $0x3e2aaaaa
DATA vconst<>+724(SB)/4, $0x3e2aaaaa
DATA vconst<>+728(SB)/4, $0x3e2aaaaa
DATA vconst<>+732(SB)/4, $0x3e2aaaaa
DATA vconst<>+736(SB)/4, $0x3f000000
DATA vconst<>+740(SB)/4, $0x3f000000
DATA vconst<>+744(SB)/4, $0x3f000000
DATA vconst<>+748(SB)/4, $0x3f000000
DATA vconst<>+752(SB)/4, $0x3f000000
DATA vconst<>+756(SB)/4, $0x3f000000
DATA vconst<>+760(SB)/4, $0x3f000000
DATA vconst<>+764(SB)/4, $0x3f000000
DATA vconst<>+768(SB)/4, $0x000000bf
DATA vconst<>+772(SB)/4, $0x000000bf
DATA vconst<>+776(SB)/4, $0x000000bf
DATA vconst<>+780(SB)/4, $0x000000bf
DATA vconst<>+784(SB)/4, $0x000000bf
DATA vconst<>+788(SB)/4, $0x000000bf
DATA vconst<>+792(SB)/4, $0x000000bf
DATA vconst<>+796(SB)/4, $0x000000bf
DATA vconst<>+800(SB)/4, $0x3f000000
DATA vconst<>+804(SB)/4, $0x3f000000
DATA vconst<>+808(SB)/4, $0x3f000000
DATA vconst<>+812(SB)/4, $0x3f000000
DATA vconst<>+816(SB)/4, $0x3f000000
DATA vconst<>+820(SB)/4, $0x3f000000
DATA vconst<>+824(SB)/4, $0x3f000000
DATA vconst<>+828(SB)/4, $0x3f000000
DATA vconst<>+832(SB)/4, $0x1f800000
DATA vconst<>+836(SB)/4, $0x1f800000
DATA vconst<>+840(SB)/4, $0x1f800000
DATA vconst<>+844(SB)/4, $0x1f800000
DATA vconst<>+848(SB)/4, $0x1f800000
DATA vconst<>+852(SB)/4, $0x1f800000
DATA vconst<>+856(SB)/4, $0x1f800000
DATA vconst<>+860(SB)/4, $0x1f800000
DATA vconst<>+864(SB)/4, $0xc2aeac4f
DATA vconst<>+868(SB)/4, $0xc2aeac4f
DATA vconst<>+872(SB)/4, $0xc2aeac4f
DATA vconst<>+876(SB)/4, $0xc2aeac4f
DATA vconst<>+880(SB)/4, $0xc2aeac4f
DATA vconst<>+884(SB)/4, $0xc2aeac4f
DATA vconst<>+888(SB)/4, $0xc2aeac4f
DATA vconst<>+892(SB)/4, $0xc2aeac4f
DATA vconst<>+896(SB)/4, $0x0000007f
DATA vconst<>+900(SB)/4, $0x0000007f
DATA vconst<>+904(SB)/4, $0x0000007f
DATA vconst<>+908(SB)/4, $0x0000007f
DATA vconst<>+912(SB)/4, $0x0000007f
DATA vconst<>+916(SB)/4, $0x0000007f
DATA vconst<>+920(SB)/4, $0x0000007f
DATA vconst<>+924(SB)/4, $0x0000007f
GLOBL vconst<>(SB), RODATA|NOPTR, $928

// GELU8 maps Y0 (x) to Y1 = gelu(x) = 0.5·x·erfc(−x/√2), computed as
//   t = 1/(1+|x|/(2√2)), erfc(|x|/√2) = t·exp(−x²/2 + P(t))
// (Numerical Recipes' erfcc fit, fractional error < 1.2e-7), with x² split
// exactly into hi+lo by FMA so exp's argument carries no rounding of x², and
// the exp scaled by 2^64 until the last multiply so tiny results round once.
// x < 0 gives x·erfc/2; x ≥ 0 gives x·(1 − erfc/2) — no cancellation either
// way. Clobbers Y1–Y15.
#define GELU8 \
	VANDPS K_absmask, Y0, Y1; \
	VMOVUPS K_one, Y3; \
	VFMADD231PS K_hisq, Y1, Y3; \
	VMOVUPS K_one, Y4; \
	VDIVPS Y3, Y4, Y4; \
	VMOVUPS K_c9, Y5; \
	VFMADD213PS K_c8, Y4, Y5; \
	VFMADD213PS K_c7, Y4, Y5; \
	VFMADD213PS K_c6, Y4, Y5; \
	VFMADD213PS K_c5, Y4, Y5; \
	VFMADD213PS K_c4, Y4, Y5; \
	VFMADD213PS K_c3, Y4, Y5; \
	VFMADD213PS K_c2, Y4, Y5; \
	VFMADD213PS K_c1, Y4, Y5; \
	VFMADD213PS K_c0, Y4, Y5; \
	VMULPS Y1, Y1, Y6; \
	VMOVAPS Y6, Y7; \
	VFMSUB231PS Y1, Y1, Y7; \
	VMULPS K_neghalf, Y6, Y6; \
	VFMADD231PS K_neghalf, Y7, Y5; \
	VADDPS Y5, Y6, Y8; \
	VCMPPS $0x1d, K_lim104, Y8, Y10; \
	VMAXPS K_lim104, Y8, Y8; \
	VMULPS K_log2e, Y8, Y9; \
	VROUNDPS $0, Y9, Y9; \
	VFNMADD231PS K_ln2hi, Y9, Y6; \
	VFNMADD231PS K_ln2lo, Y9, Y6; \
	VADDPS Y5, Y6, Y6; \
	VMOVUPS K_e5, Y7; \
	VFMADD213PS K_e4, Y6, Y7; \
	VFMADD213PS K_e3, Y6, Y7; \
	VFMADD213PS K_e2, Y6, Y7; \
	VFMADD213PS K_e1, Y6, Y7; \
	VFMADD213PS K_e0, Y6, Y7; \
	VMULPS Y6, Y6, Y11; \
	VFMADD213PS Y6, Y11, Y7; \
	VADDPS K_one, Y7, Y7; \
	VCVTPS2DQ Y9, Y12; \
	VPADDD K_bias191, Y12, Y12; \
	VPSLLD $23, Y12, Y12; \
	VMULPS Y12, Y7, Y7; \
	VANDPS Y10, Y7, Y7; \
	VMULPS Y4, Y7, Y7; \
	VMULPS K_half, Y7, Y7; \
	VMULPS Y0, Y7, Y13; \
	VMULPS K_twoM64, Y13, Y13; \
	VMULPS K_twoM64, Y7, Y14; \
	VMOVUPS K_one, Y15; \
	VSUBPS Y14, Y15, Y15; \
	VMULPS Y0, Y15, Y15; \
	VBLENDVPS Y0, Y13, Y15, Y1

// func geluAVX2(x *float32, n int)
// n is a multiple of 8; x[i] = gelu(x[i]).
TEXT ·geluAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	JZ gdone
gloop:
	VMOVUPS (SI), Y0
	GELU8
	VMOVUPS Y1, (SI)
	ADDQ $32, SI
	DECQ CX
	JNZ gloop
gdone:
	VZEROUPPER
	RET

// func biasGeluAVX2(x, bias *float32, n int)
// n is a multiple of 8; x[i] = gelu(x[i] + bias[i]).
TEXT ·biasGeluAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ bias+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ bdone
bloop:
	VMOVUPS (SI), Y0
	VADDPS (DI), Y0, Y0
	GELU8
	VMOVUPS Y1, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ bloop
bdone:
	VZEROUPPER
	RET

// func expShiftSumAVX2(x *float32, n int, shift float32) float32
// n is a multiple of 8; x[i] = exp(x[i] − shift) (Cephes expf polynomial,
// ~1 ulp), returning the sum of the new values. Arguments below −87.34 give
// 0 (−Inf included); NaN stays NaN.
TEXT ·expShiftSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS shift+16(FP), Y15
	VXORPS Y14, Y14, Y14
	VMOVUPS K_lim87, Y13
	SHRQ $3, CX
	JZ edone
eloop:
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0
	VCMPPS $0x11, Y13, Y0, Y10
	VMAXPS Y0, Y13, Y8
	VMULPS K_log2e, Y8, Y9
	VROUNDPS $0, Y9, Y9
	VMOVAPS Y8, Y6
	VFNMADD231PS K_ln2hi, Y9, Y6
	VFNMADD231PS K_ln2lo, Y9, Y6
	VMOVUPS K_e5, Y7
	VFMADD213PS K_e4, Y6, Y7
	VFMADD213PS K_e3, Y6, Y7
	VFMADD213PS K_e2, Y6, Y7
	VFMADD213PS K_e1, Y6, Y7
	VFMADD213PS K_e0, Y6, Y7
	VMULPS Y6, Y6, Y11
	VFMADD213PS Y6, Y11, Y7
	VADDPS K_one, Y7, Y7
	VCVTPS2DQ Y9, Y12
	VPADDD K_bias127, Y12, Y12
	VPSLLD $23, Y12, Y12
	VMULPS Y12, Y7, Y7
	VANDNPS Y7, Y10, Y7
	VMOVUPS Y7, (SI)
	VADDPS Y7, Y14, Y14
	ADDQ $32, SI
	DECQ CX
	JNZ eloop
edone:
	VEXTRACTF128 $1, Y14, X0
	VADDPS X0, X14, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// n is a positive multiple of 8. NaNs are skipped (VMAXPS returns its
// second source when either is NaN, and the accumulator is that source),
// matching the scalar `if v > m` loop.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0xff800000, AX
	MOVL AX, X0
	VBROADCASTSS X0, Y0
	VMOVAPS Y0, Y1
	SHRQ $3, CX
	MOVQ CX, DX
	SHRQ $1, DX
	ANDQ $1, CX
	TESTQ DX, DX
	JZ mtail
mloop:
	VMOVUPS (SI), Y2
	VMOVUPS 32(SI), Y3
	VMAXPS Y0, Y2, Y0
	VMAXPS Y1, Y3, Y1
	ADDQ $64, SI
	DECQ DX
	JNZ mloop
mtail:
	TESTQ CX, CX
	JZ mdone
	VMOVUPS (SI), Y2
	VMAXPS Y0, Y2, Y0
mdone:
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
// x[i] *= s for n (a multiple of 8) values.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	SHRQ $3, CX
	JZ sdone
sloop:
	VMULPS (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ CX
	JNZ sloop
sdone:
	VZEROUPPER
	RET

// func addAVX2(dst, a, b *float32, n int)
// dst[i] = a[i] + b[i] for n (a multiple of 8) values; dst may alias a or b.
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ adddone
addloop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ addloop
adddone:
	VZEROUPPER
	RET

// func lnStatsAVX2(x *float32, n int, shift float64) (s, q float64)
// For n (a multiple of 8) values: s = Σ(x−shift), q = Σ(x−shift)², in
// float64 (four lanes, two accumulators each).
TEXT ·lnStatsAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD shift+16(FP), Y15
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	SHRQ $3, CX
	JZ lsdone
lsloop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VSUBPD Y15, Y4, Y4
	VSUBPD Y15, Y5, Y5
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VFMADD231PD Y4, Y4, Y2
	VFMADD231PD Y5, Y5, Y3
	ADDQ $32, SI
	DECQ CX
	JNZ lsloop
lsdone:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	VEXTRACTF128 $1, Y2, X3
	VADDPD X3, X2, X2
	VHADDPD X2, X2, X2
	MOVSD X0, s+24(FP)
	MOVSD X2, q+32(FP)
	VZEROUPPER
	RET

// func lnApplyAVX2(out, x, gamma, beta *float32, n int, mean, inv float32)
// out[i] = (x[i]−mean)·inv·gamma[i] + beta[i] for n (a multiple of 8) values.
TEXT ·lnApplyAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), DX
	MOVQ beta+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSS mean+40(FP), Y14
	VBROADCASTSS inv+44(FP), Y15
	SHRQ $3, CX
	JZ ladone
laloop:
	VMOVUPS (SI), Y0
	VSUBPS Y14, Y0, Y0
	VMULPS Y15, Y0, Y0
	VMULPS (DX), Y0, Y0
	VADDPS (R8), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ laloop
ladone:
	VZEROUPPER
	RET

// func reluAVX2(x *float32, n int)
// x[i] = max(x[i], 0) for n (a multiple of 8) values. x is VMAXPS's second
// source, which it returns for NaN and for ±0, so NaN and −0 stay as they are
// (like the scalar `if v < 0 { v = 0 }`).
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y1, Y1, Y1
	SHRQ $3, CX
	JZ rdone
rloop:
	VMOVUPS (SI), Y0
	VMAXPS Y0, Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ CX
	JNZ rloop
rdone:
	VZEROUPPER
	RET

// GELU16 is GELU8 on ZMM registers: Z0 (x) to Z1 = gelu(x), sixteen values
// per pass, with the same operations in the same order on every lane (the
// constants broadcast from the first float of their row, the compare into K1
// and the AND with its lanes as a zeroing move, the sign-bit blend through
// K2 and VBLENDMPS, VROUNDPS $0 as VRNDSCALEPS $0), so each lane's result is
// bit-identical to GELU8's (TestGELUAVX512BitIdenticalToAVX2). Half the
// instructions per value: on Zen 4, where a ZMM op issues as two YMM halves,
// the gain is a longer effective out-of-order window over the long
// dependency chain of one vector, not wider FMA units. Clobbers Z1–Z15,
// K1, K2.
#define GELU16 \
	VPANDD.BCST K_absmask, Z0, Z1; \
	VBROADCASTSS K_one, Z3; \
	VFMADD231PS.BCST K_hisq, Z1, Z3; \
	VBROADCASTSS K_one, Z4; \
	VDIVPS Z3, Z4, Z4; \
	VBROADCASTSS K_c9, Z5; \
	VFMADD213PS.BCST K_c8, Z4, Z5; \
	VFMADD213PS.BCST K_c7, Z4, Z5; \
	VFMADD213PS.BCST K_c6, Z4, Z5; \
	VFMADD213PS.BCST K_c5, Z4, Z5; \
	VFMADD213PS.BCST K_c4, Z4, Z5; \
	VFMADD213PS.BCST K_c3, Z4, Z5; \
	VFMADD213PS.BCST K_c2, Z4, Z5; \
	VFMADD213PS.BCST K_c1, Z4, Z5; \
	VFMADD213PS.BCST K_c0, Z4, Z5; \
	VMULPS Z1, Z1, Z6; \
	VMOVAPS Z6, Z7; \
	VFMSUB231PS Z1, Z1, Z7; \
	VMULPS.BCST K_neghalf, Z6, Z6; \
	VFMADD231PS.BCST K_neghalf, Z7, Z5; \
	VADDPS Z5, Z6, Z8; \
	VCMPPS.BCST $0x1d, K_lim104, Z8, K1; \
	VMAXPS.BCST K_lim104, Z8, Z8; \
	VMULPS.BCST K_log2e, Z8, Z9; \
	VRNDSCALEPS $0, Z9, Z9; \
	VFNMADD231PS.BCST K_ln2hi, Z9, Z6; \
	VFNMADD231PS.BCST K_ln2lo, Z9, Z6; \
	VADDPS Z5, Z6, Z6; \
	VBROADCASTSS K_e5, Z7; \
	VFMADD213PS.BCST K_e4, Z6, Z7; \
	VFMADD213PS.BCST K_e3, Z6, Z7; \
	VFMADD213PS.BCST K_e2, Z6, Z7; \
	VFMADD213PS.BCST K_e1, Z6, Z7; \
	VFMADD213PS.BCST K_e0, Z6, Z7; \
	VMULPS Z6, Z6, Z11; \
	VFMADD213PS Z6, Z11, Z7; \
	VADDPS.BCST K_one, Z7, Z7; \
	VCVTPS2DQ Z9, Z12; \
	VPADDD.BCST K_bias191, Z12, Z12; \
	VPSLLD $23, Z12, Z12; \
	VMULPS Z12, Z7, Z7; \
	VMOVAPS.Z Z7, K1, Z7; \
	VMULPS Z4, Z7, Z7; \
	VMULPS.BCST K_half, Z7, Z7; \
	VMULPS Z0, Z7, Z13; \
	VMULPS.BCST K_twoM64, Z13, Z13; \
	VMULPS.BCST K_twoM64, Z7, Z14; \
	VBROADCASTSS K_one, Z15; \
	VSUBPS Z14, Z15, Z15; \
	VMULPS Z0, Z15, Z15; \
	VPMOVD2M Z0, K2; \
	VBLENDMPS Z13, Z15, K2, Z1

// func geluAVX512(x *float32, n int)
// n is a multiple of 16; x[i] = gelu(x[i]).
TEXT ·geluAVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $4, CX
	JZ zgdone
zgloop:
	VMOVUPS (SI), Z0
	GELU16
	VMOVUPS Z1, (SI)
	ADDQ $64, SI
	DECQ CX
	JNZ zgloop
zgdone:
	VZEROUPPER
	RET

// func biasGeluAVX512(x, bias *float32, n int)
// n is a multiple of 16; x[i] = gelu(x[i] + bias[i]).
TEXT ·biasGeluAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ bias+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ zbdone
zbloop:
	VMOVUPS (SI), Z0
	VADDPS (DI), Z0, Z0
	GELU16
	VMOVUPS Z1, (SI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ zbloop
zbdone:
	VZEROUPPER
	RET
