package kernels

import (
	"fmt"
	"math"
)

// BicubicResize resamples planes of inH×inW values to outH×outW the way
// torch.nn.functional.interpolate(mode="bicubic", align_corners=False) does:
// source coordinate = scale·(dst+0.5) − 0.5, Keys cubic convolution with
// A = −0.75, indices clamped at the borders, arithmetic in float32.
//
// scaleH and scaleW are the source-per-destination ratios torch uses: inH/outH
// when interpolate is called with size=, or 1/scale_factor when called with
// scale_factor= (recompute_scale_factor unset).
func BicubicResize(dst, src []float32, planes, inH, inW, outH, outW int, scaleH, scaleW float64) {
	if planes < 0 || inH <= 0 || inW <= 0 || outH <= 0 || outW <= 0 || len(src) < planes*inH*inW || len(dst) < planes*outH*outW {
		panic(fmt.Sprintf("kernels: BicubicResize %d planes %dx%d -> %dx%d", planes, inH, inW, outH, outW))
	}
	type tap struct {
		idx [4]int
		w   [4]float32
	}
	taps := func(in, out int, scale float64) []tap {
		t := make([]tap, out)
		s := float32(scale)
		for o := range t {
			real := s*(float32(o)+0.5) - 0.5
			fl := float32(math.Floor(float64(real)))
			x := real - fl
			i0 := int(fl)
			t[o].w = cubicWeights(x)
			for k := 0; k < 4; k++ {
				t[o].idx[k] = min(max(i0-1+k, 0), in-1)
			}
		}
		return t
	}
	ty, tx := taps(inH, outH, scaleH), taps(inW, outW, scaleW)
	for p := 0; p < planes; p++ {
		in := src[p*inH*inW : (p+1)*inH*inW]
		out := dst[p*outH*outW : (p+1)*outH*outW]
		for oy := 0; oy < outH; oy++ {
			yt := ty[oy]
			for ox := 0; ox < outW; ox++ {
				xt := tx[ox]
				var rows [4]float32
				for k := 0; k < 4; k++ {
					r := in[yt.idx[k]*inW:]
					rows[k] = r[xt.idx[0]]*xt.w[0] + r[xt.idx[1]]*xt.w[1] + r[xt.idx[2]]*xt.w[2] + r[xt.idx[3]]*xt.w[3]
				}
				out[oy*outW+ox] = rows[0]*yt.w[0] + rows[1]*yt.w[1] + rows[2]*yt.w[2] + rows[3]*yt.w[3]
			}
		}
	}
}

// cubicWeights returns torch's get_cubic_upsample_coefficients for t in [0,1).
func cubicWeights(t float32) [4]float32 {
	const a = float32(-0.75)
	conv1 := func(x float32) float32 { return ((a+2)*x-(a+3))*x*x + 1 }
	conv2 := func(x float32) float32 { return ((a*x-5*a)*x+8*a)*x - 4*a }
	return [4]float32{conv2(t + 1), conv1(t), conv1(1 - t), conv2(2 - t)}
}
