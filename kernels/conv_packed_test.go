package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convIm2colSgemm is the plain formulation Conv2D replaces: the whole
// (InC·KH·KW)×(OutH·OutW) patch matrix of each image, one Sgemm, then the
// bias; with p.ReLUInput it convolves a ReLU'd copy of src.
func convIm2colSgemm(src []float32, p Conv2DParams, w, bias []float32) []float32 {
	oh, ow := p.OutH(), p.OutW()
	sh, sw := p.strides()
	kdim, npix := p.InC*p.KH*p.KW, oh*ow
	if p.ReLUInput {
		src = append([]float32(nil), src...)
		reluGo(src)
	}
	out := make([]float32, p.Batch*p.OutC*npix)
	cols := make([]float32, kdim*npix)
	for n := 0; n < p.Batch; n++ {
		for c := 0; c < p.InC; c++ {
			for ky := 0; ky < p.KH; ky++ {
				for kx := 0; kx < p.KW; kx++ {
					row := cols[((c*p.KH+ky)*p.KW+kx)*npix:][:npix]
					for y := 0; y < oh; y++ {
						for x := 0; x < ow; x++ {
							iy, ix := y*sh-p.PadH+ky, x*sw-p.PadW+kx
							var v float32
							if iy >= 0 && iy < p.InH && ix >= 0 && ix < p.InW {
								v = src[((n*p.InC+c)*p.InH+iy)*p.InW+ix]
							}
							row[y*ow+x] = v
						}
					}
				}
			}
		}
		o := out[n*p.OutC*npix : (n+1)*p.OutC*npix]
		Sgemm(false, false, p.OutC, npix, kdim, 1, w, kdim, cols, npix, 0, o, npix)
		for ch, bv := range bias {
			for i := range o[ch*npix : (ch+1)*npix] {
				o[ch*npix+i] += bv
			}
		}
	}
	return out
}

// TestConv2DBitwiseMatchesIm2colSgemm checks that the packed convolution
// gives exactly (bit for bit) what im2col + Sgemm gives, at one and two
// threads, across gemmKC slices, partial micro-tiles and pixel blocks, with
// and without the fused input ReLU (NaN and −0 in the input included).
func TestConv2DBitwiseMatchesIm2colSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, p := range []Conv2DParams{
		{Batch: 1, InC: 40, InH: 23, InW: 21, OutC: 13, KH: 3, KW: 3, PadH: 1, PadW: 1}, // kdim 360: two gemmKC slices
		{Batch: 3, InC: 3, InH: 30, InW: 29, OutC: 20, KH: 7, KW: 7, PadH: 3, PadW: 3},
		{Batch: 2, InC: 300, InH: 9, InW: 7, OutC: 7, KH: 1, KW: 1}, // 1×1 direct rows
		{Batch: 1, InC: 16, InH: 40, InW: 40, OutC: 32, KH: 1, KW: 1},
		{Batch: 1, InC: 5, InH: 19, InW: 17, OutC: 6, KH: 3, KW: 2, StrideH: 2, StrideW: 3, PadH: 2, PadW: 1},
		{Batch: 2, InC: 8, InH: 36, InW: 36, OutC: 9, KH: 3, KW: 3, PadH: 1, PadW: 1}, // several pixel blocks
	} {
		for _, relu := range []bool{false, true} {
			p.ReLUInput = relu
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%+v/threads=%d", p, threads), func(t *testing.T) {
					prev := SetThreads(threads)
					defer SetThreads(prev)
					src := randSlice(r, p.Batch*p.InC*p.InH*p.InW)
					src[0] = float32(math.NaN())
					src[1] = float32(math.Copysign(0, -1))
					w := randSlice(r, p.OutC*p.InC*p.KH*p.KW)
					bias := randSlice(r, p.OutC)
					for _, b := range [][]float32{bias, nil} {
						want := convIm2colSgemm(src, p, w, b)
						got := make([]float32, len(want))
						Conv2D(got, src, p, w, b)
						for i := range want {
							g, e := got[i], want[i]
							if math.Float32bits(g) != math.Float32bits(e) && !(g != g && e != e) {
								t.Fatalf("bias=%v: out[%d] = %v, im2col+Sgemm %v", b != nil, i, g, e)
							}
						}
					}
				})
			}
		}
	}
}

// TestConv2DReLUInputLeavesSrc checks that the fused ReLU reads src without
// changing it.
func TestConv2DReLUInputLeavesSrc(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	p := Conv2DParams{Batch: 1, InC: 4, InH: 9, InW: 9, OutC: 5, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true}
	src := randSlice(r, 4*81)
	keep := append([]float32(nil), src...)
	Conv2D(make([]float32, 5*81), src, p, randSlice(r, 5*4*9), nil)
	for i := range src {
		if src[i] != keep[i] {
			t.Fatalf("src[%d] changed from %v to %v", i, keep[i], src[i])
		}
	}
}
