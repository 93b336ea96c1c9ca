package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convNHWCCases are odd sizes: channels not multiples of 16, pixel counts
// not multiples of 6, K split into several chunks, batches > 1.
var convNHWCCases = []Conv2DParams{
	{Batch: 1, InC: 3, InH: 13, InW: 11, OutC: 20, KH: 7, KW: 7, PadH: 3, PadW: 3}, // codebook input conv
	{Batch: 2, InC: 5, InH: 9, InW: 10, OutC: 17, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true},
	{Batch: 3, InC: 37, InH: 7, InW: 5, OutC: 33, KH: 1, KW: 1},
	{Batch: 1, InC: 37, InH: 7, InW: 5, OutC: 16, KH: 1, KW: 1, ReLUInput: true},
	{Batch: 2, InC: 300, InH: 6, InW: 7, OutC: 40, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true}, // chunks split taps
	{Batch: 2, InC: 6, InH: 9, InW: 8, OutC: 9, KH: 3, KW: 3},                                       // no padding, no ReLU: src read directly
	{Batch: 1, InC: 4, InH: 8, InW: 9, OutC: 18, KH: 2, KW: 3, PadH: 2, PadW: 1},
	{Batch: 2, InC: 8, InH: 20, InW: 19, OutC: 70, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true},   // several pixel blocks
	{Batch: 1, InC: 2, InH: 3, InW: 2, OutC: 3, KH: 5, KW: 7, PadH: 2, PadW: 3},                       // kernel wider than the image
	{Batch: 1, InC: 64, InH: 1, InW: 1, OutC: 5, KH: 1, KW: 1},                                        // one pixel
	{Batch: 2, InC: 72, InH: 16, InW: 17, OutC: 200, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true}, // weights > 512 KiB: 240-pixel blocks
}

// convInput returns NCHW input with negatives, NaN, −0 and +0 sprinkled in
// when special is set.
func convInput(r *rand.Rand, n int, special bool) []float32 {
	s := randSlice(r, n)
	if special {
		for i := range s {
			switch r.IntN(23) {
			case 0:
				s[i] = float32(math.NaN())
			case 1:
				s[i] = float32(math.Copysign(0, -1))
			case 2:
				s[i] = 0
			}
		}
	}
	return s
}

// checkConvNHWC runs Conv2DNHWC on p and compares it with Conv2D (NCHW)
// within 1e-5 of Σ|a·w|+|bias| per output, NaN where Conv2D has NaN, and
// guard bands around dst untouched.
func checkConvNHWC(t *testing.T, r *rand.Rand, p Conv2DParams, special bool) {
	t.Helper()
	oh, ow := p.OutH(), p.OutW()
	src := convInput(r, p.Batch*p.InC*p.InH*p.InW, special)
	w := randSlice(r, p.OutC*p.InC*p.KH*p.KW)
	bias := randSlice(r, p.OutC)
	cw := PackConvWeights(w, p)
	srcNHWC := make([]float32, len(src))
	NCHWToNHWC(srcNHWC, src, p.Batch, p.InC, p.InH, p.InW)
	srcCopy := append([]float32(nil), srcNHWC...)

	for _, b := range [][]float32{bias, nil} {
		want := make([]float32, p.Batch*p.OutC*oh*ow)
		Conv2D(want, src, p, w, b)
		// magnitude: the same convolution over |ReLU?(src)|, |w|, |bias|
		absSrc := make([]float32, len(src))
		for i, v := range src {
			if p.ReLUInput {
				v = max(v, 0)
			}
			absSrc[i] = float32(math.Abs(float64(v)))
		}
		absW := make([]float32, len(w))
		for i, v := range w {
			absW[i] = float32(math.Abs(float64(v)))
		}
		var absB []float32
		if b != nil {
			absB = make([]float32, len(b))
			for i, v := range b {
				absB[i] = float32(math.Abs(float64(v)))
			}
		}
		mag := convNaive(absSrc, p, absW, absB)

		const guard = 37
		n := p.Batch * oh * ow * p.OutC
		buf := make([]float32, n+2*guard)
		for i := range buf {
			buf[i] = 12345
		}
		dst := buf[guard : guard+n]
		Conv2DNHWC(dst, srcNHWC, p, cw, b)
		for i := range guard {
			if buf[i] != 12345 || buf[guard+n+i] != 12345 {
				t.Fatalf("bias=%v: guard band overwritten at %d", b != nil, i)
			}
		}
		for i := range srcNHWC {
			if math.Float32bits(srcNHWC[i]) != math.Float32bits(srcCopy[i]) {
				t.Fatalf("src changed at %d", i)
			}
		}
		got := make([]float32, n)
		NHWCToNCHW(got, dst, p.Batch, oh, ow, p.OutC)
		bad := 0
		for i := range want {
			g, wv := float64(got[i]), float64(want[i])
			if math.IsNaN(wv) || math.IsNaN(g) {
				if math.IsNaN(wv) != math.IsNaN(g) {
					t.Errorf("bias=%v [%d]: got %v, want %v", b != nil, i, g, wv)
					bad++
				}
			} else if d := math.Abs(g - wv); d > 1e-5*float64(mag[i])+1e-30 {
				t.Errorf("bias=%v [%d]: got %v, want %v (diff %g, magnitude %g)", b != nil, i, g, wv, d, mag[i])
				bad++
			}
			if bad > 5 {
				t.FailNow()
			}
		}
	}
}

func TestConv2DNHWCMatchesConv2D(t *testing.T) {
	for _, th := range []int{1, 2} {
		prev := SetThreads(th)
		r := rand.New(rand.NewPCG(31, uint64(th)))
		for _, p := range convNHWCCases {
			for _, special := range []bool{false, true} {
				t.Run(fmt.Sprintf("threads=%d/special=%v/%+v", th, special, p), func(t *testing.T) {
					checkConvNHWC(t, r, p, special)
				})
			}
		}
		SetThreads(prev)
	}
}

// TestConv2DNHWCGoKernel runs the same comparison with the portable
// micro-kernel, and checks that it and the assembly one (when present)
// agree to rounding (the assembly fuses multiply and add).
func TestConv2DNHWCGoKernel(t *testing.T) {
	fast := convTiles
	r := rand.New(rand.NewPCG(33, 34))
	for _, p := range convNHWCCases {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			convTiles = convTilesGo
			defer func() { convTiles = fast }()
			checkConvNHWC(t, r, p, true)

			src := randSlice(r, p.Batch*p.InH*p.InW*p.InC)
			w := PackConvWeights(randSlice(r, p.OutC*p.InC*p.KH*p.KW), p)
			bias := randSlice(r, p.OutC)
			n := p.Batch * p.OutH() * p.OutW() * p.OutC
			goOut, asmOut := make([]float32, n), make([]float32, n)
			Conv2DNHWC(goOut, src, p, w, bias)
			convTiles = fast
			Conv2DNHWC(asmOut, src, p, w, bias)
			for i := range goOut {
				if d := math.Abs(float64(goOut[i] - asmOut[i])); d > 2e-5*(1+math.Abs(float64(goOut[i]))) {
					t.Fatalf("[%d]: Go kernel %v, fast kernel %v", i, goOut[i], asmOut[i])
				}
			}
		})
	}
}

func TestConv2DNHWCPanics(t *testing.T) {
	p := Conv2DParams{Batch: 1, InC: 2, InH: 4, InW: 4, OutC: 3, KH: 3, KW: 3, PadH: 1, PadW: 1}
	w := PackConvWeights(make([]float32, 3*2*9), p)
	src, dst := make([]float32, 32), make([]float32, 48)
	for name, f := range map[string]func(){
		"stride":    func() { q := p; q.StrideH = 2; Conv2DNHWC(dst, src, q, w, nil) },
		"shortSrc":  func() { Conv2DNHWC(dst, src[:31], p, w, nil) },
		"shortDst":  func() { Conv2DNHWC(dst[:47], src, p, w, nil) },
		"bias":      func() { Conv2DNHWC(dst, src, p, w, make([]float32, 2)) },
		"weights":   func() { q := p; q.InC = 1; Conv2DNHWC(dst, src, q, w, nil) },
		"nil":       func() { Conv2DNHWC(dst, src, p, nil, nil) },
		"packShort": func() { PackConvWeights(make([]float32, 5), p) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestConv2DNHWCZeroBatch(t *testing.T) {
	p := Conv2DParams{Batch: 0, InC: 2, InH: 4, InW: 4, OutC: 3, KH: 1, KW: 1}
	Conv2DNHWC(nil, nil, p, PackConvWeights(make([]float32, 6), p), nil)
}

func TestConv2DNHWCDoesNotAllocate(t *testing.T) {
	p := Conv2DParams{Batch: 1, InC: 16, InH: 24, InW: 24, OutC: 32, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true}
	r := rand.New(rand.NewPCG(35, 36))
	src := randSlice(r, 16*24*24)
	w := PackConvWeights(randSlice(r, 32*16*9), p)
	dst := make([]float32, 32*24*24)
	for _, th := range []int{1, 2} {
		prev := SetThreads(th)
		Conv2DNHWC(dst, src, p, w, nil)
		if a := testing.AllocsPerRun(20, func() { Conv2DNHWC(dst, src, p, w, nil) }); a != 0 {
			t.Errorf("threads=%d: %v allocations per call", th, a)
		}
		SetThreads(prev)
	}
}

func TestMaxPool2DNHWCMatchesMaxPool2D(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	for _, c := range []struct{ n, h, w, c, k, s int }{
		{2, 8, 6, 5, 2, 2}, {1, 7, 9, 3, 2, 2}, {3, 9, 8, 17, 3, 2}, {1, 5, 5, 4, 3, 1},
	} {
		src := convInput(r, c.n*c.c*c.h*c.w, true)
		oh, ow := (c.h-c.k)/c.s+1, (c.w-c.k)/c.s+1
		want := make([]float32, c.n*c.c*oh*ow)
		MaxPool2D(want, src, c.n*c.c, c.h, c.w, c.k, c.s)
		srcNHWC := make([]float32, len(src))
		NCHWToNHWC(srcNHWC, src, c.n, c.c, c.h, c.w)
		const guard = 9
		buf := make([]float32, len(want)+2*guard)
		for i := range buf {
			buf[i] = 777
		}
		MaxPool2DNHWC(buf[guard:guard+len(want)], srcNHWC, c.n, c.h, c.w, c.c, c.k, c.s)
		for i := range guard {
			if buf[i] != 777 || buf[len(buf)-1-i] != 777 {
				t.Fatalf("%+v: guard band overwritten", c)
			}
		}
		got := make([]float32, len(want))
		NHWCToNCHW(got, buf[guard:guard+len(want)], c.n, oh, ow, c.c)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("%+v [%d]: got %v, want %v", c, i, got[i], want[i])
			}
		}
	}
}

func TestTransposeNCHWRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(39, 40))
	n, c, h, w := 2, 35, 7, 9
	src := randSlice(r, n*c*h*w)
	nhwc := make([]float32, len(src))
	NCHWToNHWC(nhwc, src, n, c, h, w)
	for i := range n {
		for ch := range c {
			for y := range h {
				for x := range w {
					if nhwc[((i*h+y)*w+x)*c+ch] != src[((i*c+ch)*h+y)*w+x] {
						t.Fatalf("NCHWToNHWC wrong at %d,%d,%d,%d", i, ch, y, x)
					}
				}
			}
		}
	}
	back := make([]float32, len(src))
	NHWCToNCHW(back, nhwc, n, h, w, c)
	for i := range src {
		if back[i] != src[i] {
			t.Fatalf("round trip differs at %d", i)
		}
	}
}

// BenchmarkConv2DNHWC runs BenchmarkConv2D's codebook shapes (and the
// codebook's widest layers) through Conv2DNHWC with weights packed once.
func BenchmarkConv2DNHWC(b *testing.B) {
	for _, c := range []struct {
		name string
		p    Conv2DParams
	}{
		{"codebook_input7x7_3to256_112", Conv2DParams{Batch: 1, InC: 3, InH: 112, InW: 112, OutC: 256, KH: 7, KW: 7, PadH: 3, PadW: 3}},
		{"codebook_3x3_64to64_112", Conv2DParams{Batch: 1, InC: 64, InH: 112, InW: 112, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true}},
		{"codebook_1x1_64to256_112", Conv2DParams{Batch: 1, InC: 64, InH: 112, InW: 112, OutC: 256, KH: 1, KW: 1, ReLUInput: true}},
		{"codebook_3x3_512to512_14", Conv2DParams{Batch: 1, InC: 512, InH: 14, InW: 14, OutC: 512, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true}},
		{"codebook_1x1_2048to8192_14", Conv2DParams{Batch: 1, InC: 2048, InH: 14, InW: 14, OutC: 8192, KH: 1, KW: 1, ReLUInput: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, 7))
			p := c.p
			src := randSlice(r, p.Batch*p.InC*p.InH*p.InW)
			w := PackConvWeights(randSlice(r, p.OutC*p.InC*p.KH*p.KW), p)
			bias := randSlice(r, p.OutC)
			dst := make([]float32, p.Batch*p.OutC*p.OutH()*p.OutW())
			flops := 2 * float64(p.OutC*p.InC*p.KH*p.KW) * float64(p.OutH()*p.OutW()*p.Batch)
			benchThreads(b, func(b *testing.B) {
				b.ReportAllocs()
				Conv2DNHWC(dst, src, p, w, bias)
				b.ResetTimer()
				for range b.N {
					Conv2DNHWC(dst, src, p, w, bias)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(p.Batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		})
	}
}

// TestConv2DNHWCAddScaledMatchesPasses checks the fused residual epilogue
// bit for bit against Conv2DNHWC, Scale and Add.
func TestConv2DNHWCAddScaledMatchesPasses(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, th := range []int{1, 2} {
		prev := SetThreads(th)
		for _, p := range convNHWCCases {
			n := p.Batch * p.OutH() * p.OutW() * p.OutC
			src := convInput(r, p.Batch*p.InH*p.InW*p.InC, true)
			w := PackConvWeights(randSlice(r, p.OutC*p.InC*p.KH*p.KW), p)
			bias := randSlice(r, p.OutC)
			res := randSlice(r, n)
			const gain = 1.0 / 64
			want := make([]float32, n)
			Conv2DNHWC(want, src, p, w, bias)
			Scale(want, gain)
			Add(want, res, want)
			const guard = 5
			buf := make([]float32, n+2*guard)
			for i := range buf {
				buf[i] = -3
			}
			Conv2DNHWCAddScaled(buf[guard:guard+n], src, p, w, bias, gain, res)
			for i := range guard {
				if buf[i] != -3 || buf[len(buf)-1-i] != -3 {
					t.Fatalf("threads=%d %+v: guard band overwritten", th, p)
				}
			}
			for i, v := range buf[guard : guard+n] {
				if math.Float32bits(v) != math.Float32bits(want[i]) && !(v != v && want[i] != want[i]) {
					t.Fatalf("threads=%d %+v [%d]: fused %v, passes %v", th, p, i, v, want[i])
				}
			}
		}
		SetThreads(prev)
	}
}
