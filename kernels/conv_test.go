package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// convNaive is the textbook seven-loop convolution, in float64.
func convNaive(src []float32, p Conv2DParams, w, bias []float32) []float32 {
	oh, ow := p.OutH(), p.OutW()
	sh, sw := p.strides()
	out := make([]float32, p.Batch*p.OutC*oh*ow)
	for n := 0; n < p.Batch; n++ {
		for o := 0; o < p.OutC; o++ {
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					var s float64
					if bias != nil {
						s = float64(bias[o])
					}
					for c := 0; c < p.InC; c++ {
						for ky := 0; ky < p.KH; ky++ {
							for kx := 0; kx < p.KW; kx++ {
								iy, ix := y*sh-p.PadH+ky, x*sw-p.PadW+kx
								if iy < 0 || iy >= p.InH || ix < 0 || ix >= p.InW {
									continue
								}
								s += float64(src[((n*p.InC+c)*p.InH+iy)*p.InW+ix]) * float64(w[((o*p.InC+c)*p.KH+ky)*p.KW+kx])
							}
						}
					}
					out[((n*p.OutC+o)*oh+y)*ow+x] = float32(s)
				}
			}
		}
	}
	return out
}

func TestConv2DMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, p := range []Conv2DParams{
		{Batch: 2, InC: 3, InH: 48, InW: 48, OutC: 8, KH: 16, KW: 16, StrideH: 16, StrideW: 16}, // ViT patch embedding
		{Batch: 1, InC: 5, InH: 13, InW: 11, OutC: 7, KH: 3, KW: 3, PadH: 1, PadW: 1},
		{Batch: 2, InC: 3, InH: 17, InW: 19, OutC: 6, KH: 7, KW: 7, PadH: 3, PadW: 3}, // codebook input conv
		{Batch: 2, InC: 9, InH: 7, InW: 5, OutC: 4, KH: 1, KW: 1},                     // 1×1 fast path
		{Batch: 1, InC: 4, InH: 15, InW: 14, OutC: 3, KH: 3, KW: 2, StrideH: 2, StrideW: 3, PadH: 2, PadW: 1},
		{Batch: 1, InC: 64, InH: 48, InW: 48, OutC: 8, KH: 3, KW: 3, PadH: 1, PadW: 1}, // crosses im2col blocks
		{Batch: 1, InC: 2, InH: 3, InW: 2, OutC: 3, KH: 5, KW: 7, PadH: 2, PadW: 3},    // kernel wider than the image
		{Batch: 0, InC: 1, InH: 4, InW: 4, OutC: 1, KH: 1, KW: 1},
	} {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			src := randSlice(r, max(1, p.Batch*p.InC*p.InH*p.InW))
			w := randSlice(r, p.OutC*p.InC*p.KH*p.KW)
			bias := randSlice(r, p.OutC)
			for _, b := range [][]float32{bias, nil} {
				want := convNaive(src, p, w, b)
				got := make([]float32, len(want)+3)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				Conv2D(got, src, p, w, b)
				kdim := float64(p.InC * p.KH * p.KW)
				for i := range want {
					// ~k·eps of the magnitude of the sum (values are O(√k)).
					if d := math.Abs(float64(got[i] - want[i])); !(d <= 4*kdim*1.2e-7*math.Sqrt(kdim)+1e-6) {
						t.Fatalf("bias=%v: out[%d] = %v, naive %v", b != nil, i, got[i], want[i])
					}
				}
				for i := len(want); i < len(got); i++ {
					if !math.IsNaN(float64(got[i])) {
						t.Fatalf("wrote past dst: [%d] = %v", i, got[i])
					}
				}
			}
		})
	}
}

func TestMaxPool2DMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range [][4]int{{3, 8, 8, 2}, {2, 7, 9, 3}, {1, 5, 5, 1}, {40, 112, 112, 2}} {
		planes, h, w, k := c[0], c[1], c[2], c[3]
		src := randSlice(r, planes*h*w)
		src[1] = float32(math.NaN())
		oh, ow := (h-k)/k+1, (w-k)/k+1
		got := make([]float32, planes*oh*ow)
		prev := SetThreads(2)
		MaxPool2D(got, src, planes, h, w, k, k)
		SetThreads(prev)
		for pl := 0; pl < planes; pl++ {
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					want := float32(math.Inf(-1))
					nan := false
					for ky := 0; ky < k; ky++ {
						for kx := 0; kx < k; kx++ {
							v := src[(pl*h+y*k+ky)*w+x*k+kx]
							nan = nan || v != v
							want = max(want, v)
						}
					}
					g := got[(pl*oh+y)*ow+x]
					if nan != (g != g) || (!nan && g != want) {
						t.Fatalf("%v: [%d,%d,%d] = %v, want %v (nan %v)", c, pl, y, x, g, want, nan)
					}
				}
			}
		}
	}
}

func TestConv2DDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	p := Conv2DParams{Batch: 1, InC: 16, InH: 20, InW: 20, OutC: 32, KH: 3, KW: 3, PadH: 1, PadW: 1}
	src, w, b := randSlice(r, 16*400), randSlice(r, 32*16*9), randSlice(r, 32)
	dst := make([]float32, 32*400)
	Conv2D(dst, src, p, w, b)
	if a := testing.AllocsPerRun(10, func() { Conv2D(dst, src, p, w, b) }); a != 0 {
		t.Errorf("Conv2D allocates %v times per call", a)
	}
}

func TestConv2DParamsValidateNamesTheField(t *testing.T) {
	ok := Conv2DParams{Batch: 1, InC: 3, InH: 224, InW: 224, OutC: 768, KH: 16, KW: 16, StrideH: 16, StrideW: 16}
	if err := ok.Validate(); err != nil {
		t.Fatalf("patch embedding params: %v", err)
	}
	for field, mutate := range map[string]func(*Conv2DParams){
		"InC":     func(p *Conv2DParams) { p.InC = 0 },
		"Batch":   func(p *Conv2DParams) { p.Batch = -1 },
		"StrideW": func(p *Conv2DParams) { p.StrideW = -2 },
		"KH":      func(p *Conv2DParams) { p.KH = 300 },
		"KW":      func(p *Conv2DParams) { p.KW = 0 },
		"PadH":    func(p *Conv2DParams) { p.PadH = -1 },
	} {
		p := ok
		mutate(&p)
		err := p.Validate()
		if !errors.Is(err, ErrInvalidParams) || !strings.Contains(err.Error(), "Conv2DParams."+field) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidParams naming %s", field, err, field)
		}
	}
}
