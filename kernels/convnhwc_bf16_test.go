package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// im2colNHWC builds the im2col matrix of NHWC src for p: one row per output
// pixel, k ordered (ky, kx, c), ReLU applied when p.ReLUInput, zeros for
// the padding. Written independently of Conv2DNHWCBF16's row builder.
func im2colNHWC(src []float32, p Conv2DParams) []float32 {
	oh, ow := p.OutH(), p.OutW()
	k := p.KH * p.KW * p.InC
	out := make([]float32, p.Batch*oh*ow*k)
	for n := 0; n < p.Batch; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				row := out[((n*oh+y)*ow+x)*k:][:k]
				for ky := 0; ky < p.KH; ky++ {
					for kx := 0; kx < p.KW; kx++ {
						iy, ix := y+ky-p.PadH, x+kx-p.PadW
						if iy < 0 || iy >= p.InH || ix < 0 || ix >= p.InW {
							continue
						}
						for c := 0; c < p.InC; c++ {
							v := src[((n*p.InH+iy)*p.InW+ix)*p.InC+c]
							if p.ReLUInput && v < 0 {
								v = 0
							}
							row[(ky*p.KW+kx)*p.InC+c] = v
						}
					}
				}
			}
		}
	}
	return out
}

// TestConv2DNHWCBF16MatchesIm2colGEMM checks the bf16 convolution bit for
// bit against an im2col matrix through SgemmPackedBF16 (the same rounding,
// kernel and order: C preset to the bias, beta 1), the residual variant
// against Scale then Add of that, both against a float64 sum of the
// bf16-rounded products within float32 summation error, at 1 and 2
// threads, with NaN, −0 and negatives in the input, and guard bands
// around dst untouched.
func TestConv2DNHWCBF16MatchesIm2colGEMM(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, threads := range []int{1, 2} {
		prev := SetThreads(threads)
		for ci, p := range convNHWCCases {
			t.Run(fmt.Sprintf("threads%d/case%d", threads, ci), func(t *testing.T) {
				checkConvNHWCBF16(t, r, p)
			})
		}
		SetThreads(prev)
	}
}

func checkConvNHWCBF16(t *testing.T, r *rand.Rand, p Conv2DParams) {
	t.Helper()
	oh, ow := p.OutH(), p.OutW()
	k := p.KH * p.KW * p.InC
	npix := p.Batch * oh * ow
	src := convInput(r, p.Batch*p.InH*p.InW*p.InC, true)
	w := randSlice(r, p.OutC*p.InC*p.KH*p.KW)
	bias := randSlice(r, p.OutC)
	res := randSlice(r, npix*p.OutC)
	const gain = 0.0625
	srcCopy := append([]float32(nil), src...)
	cw := PackConvWeightsBF16(w, p)

	// The GEMM operands, built here from the OIHW weights.
	cols := im2colNHWC(src, p)
	wm := make([]float32, p.OutC*k)
	for o := 0; o < p.OutC; o++ {
		for c := 0; c < p.InC; c++ {
			for ky := 0; ky < p.KH; ky++ {
				for kx := 0; kx < p.KW; kx++ {
					wm[o*k+(ky*p.KW+kx)*p.InC+c] = w[((o*p.InC+c)*p.KH+ky)*p.KW+kx]
				}
			}
		}
	}
	pw := PackWeightsBF16(wm, p.OutC, k)

	for _, withRes := range []bool{false, true} {
		for _, b := range [][]float32{bias, nil} {
			want := make([]float32, npix*p.OutC)
			for i := 0; i < npix; i++ {
				if b != nil {
					copy(want[i*p.OutC:], b)
				}
			}
			SgemmPackedBF16(npix, cols, k, pw, 1, want, p.OutC)
			var ref []float32
			if withRes {
				Scale(want, gain)
				Add(want, res, want)
				ref = make([]float32, len(want))
				conv2DNHWCBF16Ref(ref, src, p, w, b, res, gain)
			} else {
				ref = make([]float32, len(want))
				conv2DNHWCBF16Ref(ref, src, p, w, b, nil, 0)
			}

			const guard = 5
			buf := make([]float32, len(want)+2*guard)
			for i := range buf {
				buf[i] = 777
			}
			dst := buf[guard : guard+len(want)]
			if withRes {
				Conv2DNHWCAddScaledBF16(dst, src, p, cw, b, gain, res)
			} else {
				Conv2DNHWCBF16(dst, src, p, cw, b)
			}
			for i := 0; i < guard; i++ {
				if buf[i] != 777 || buf[len(buf)-1-i] != 777 {
					t.Fatalf("%+v: wrote outside dst", p)
				}
			}
			for i := range want {
				if math.Float32bits(dst[i]) != math.Float32bits(want[i]) && !(dst[i] != dst[i] && want[i] != want[i]) {
					t.Fatalf("%+v res=%v bias=%v: out[%d] = %v, im2col+SgemmPackedBF16 %v", p, withRes, b != nil, i, dst[i], want[i])
				}
				if want[i] != want[i] {
					if ref[i] == ref[i] {
						t.Fatalf("%+v: out[%d] NaN, reference %v", p, i, ref[i])
					}
					continue
				}
				if d := math.Abs(float64(dst[i]) - float64(ref[i])); d > 1e-5*float64(k)*(1+math.Abs(float64(ref[i]))) {
					t.Fatalf("%+v res=%v: out[%d] = %v, float64 reference %v", p, withRes, i, dst[i], ref[i])
				}
			}
		}
	}
	for i := range src {
		if math.Float32bits(src[i]) != math.Float32bits(srcCopy[i]) {
			t.Fatalf("%+v: src changed", p)
		}
	}
}

// TestConv2DNHWCBF16Panics checks the programmer-error checks.
func TestConv2DNHWCBF16Panics(t *testing.T) {
	p := Conv2DParams{Batch: 1, InC: 2, InH: 4, InW: 4, OutC: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}
	cw := PackConvWeightsBF16(make([]float32, 3*2*9), p)
	for name, f := range map[string]func(){
		"short dst":  func() { Conv2DNHWCBF16(make([]float32, 47), make([]float32, 32), p, cw, nil) },
		"short src":  func() { Conv2DNHWCBF16(make([]float32, 48), make([]float32, 31), p, cw, nil) },
		"stride 2":   func() { q := p; q.StrideH = 2; Conv2DNHWCBF16(make([]float32, 48), make([]float32, 32), q, cw, nil) },
		"wrong inC":  func() { q := p; q.InC = 1; Conv2DNHWCBF16(make([]float32, 48), make([]float32, 32), q, cw, nil) },
		"bad bias":   func() { Conv2DNHWCBF16(make([]float32, 48), make([]float32, 32), p, cw, make([]float32, 2)) },
		"no res":     func() { Conv2DNHWCAddScaledBF16(make([]float32, 48), make([]float32, 32), p, cw, nil, 1, nil) },
		"bad weight": func() { PackConvWeightsBF16(make([]float32, 5), p) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestConv2DNHWCBF16DoesNotAllocate checks steady-state calls.
func TestConv2DNHWCBF16DoesNotAllocate(t *testing.T) {
	p := Conv2DParams{Batch: 1, InC: 16, InH: 14, InW: 14, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true}
	r := rand.New(rand.NewPCG(1, 2))
	src := randSlice(r, 14*14*16)
	cw := PackConvWeightsBF16(randSlice(r, 64*16*9), p)
	bias := randSlice(r, 64)
	dst := make([]float32, 14*14*64)
	res := randSlice(r, len(dst))
	Conv2DNHWCAddScaledBF16(dst, src, p, cw, bias, 0.5, res)
	if a := testing.AllocsPerRun(20, func() { Conv2DNHWCAddScaledBF16(dst, src, p, cw, bias, 0.5, res) }); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}
