//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv2DNHWCAVX512BitIdenticalToAVX2 runs Conv2DNHWC (with and without
// bias, and the residual variant) on every case with the ZMM and the YMM
// micro-kernel and requires the same bits, NaN and −0 inputs included. On
// a CPU without AVX-512 it is skipped (the AVX2 kernel is the default
// there and TestConv2DNHWCMatchesConv2D covers it).
func TestConv2DNHWCAVX512BitIdenticalToAVX2(t *testing.T) {
	if !hasAVX2FMA || !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	def := convTiles
	defer func() { convTiles = def }()
	r := rand.New(rand.NewPCG(51, 52))
	for _, p := range convNHWCCases {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			n := p.Batch * p.OutH() * p.OutW() * p.OutC
			src := convInput(r, p.Batch*p.InH*p.InW*p.InC, true)
			w := PackConvWeights(randSlice(r, p.OutC*p.InC*p.KH*p.KW), p)
			bias := randSlice(r, p.OutC)
			res := randSlice(r, n)
			run := func(k func(in []float32, a []int, segs []convSeg, k int, b, c []float32, ldc int, bias *[convNR]float32, load bool)) [][]float32 {
				convTiles = k
				out := [][]float32{make([]float32, n), make([]float32, n), make([]float32, n)}
				Conv2DNHWC(out[0], src, p, w, bias)
				Conv2DNHWC(out[1], src, p, w, nil)
				Conv2DNHWCAddScaled(out[2], src, p, w, bias, 0.25, res)
				return out
			}
			wide, narrow := run(convTilesAVX512), run(convTilesAVX2)
			for v := range wide {
				for i := range wide[v] {
					a, b := wide[v][i], narrow[v][i]
					if math.Float32bits(a) != math.Float32bits(b) && !(a != a && b != b) {
						t.Fatalf("variant %d [%d]: AVX-512 %v, AVX2 %v", v, i, a, b)
					}
				}
			}
		})
	}
}

// BenchmarkConv2DNHWCPaths compares the two micro-kernels on the
// codebook's layer shapes, one thread, in GFLOP per CPU second.
func BenchmarkConv2DNHWCPaths(b *testing.B) {
	def := convTiles
	defer func() { convTiles = def }()
	for _, c := range []struct {
		name string
		p    Conv2DParams
	}{
		{"3x3_64to64_112", Conv2DParams{Batch: 1, InC: 64, InH: 112, InW: 112, OutC: 64, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true}},
		{"1x1_64to256_112", Conv2DParams{Batch: 1, InC: 64, InH: 112, InW: 112, OutC: 256, KH: 1, KW: 1, ReLUInput: true}},
		{"3x3_512to512_14", Conv2DParams{Batch: 1, InC: 512, InH: 14, InW: 14, OutC: 512, KH: 3, KW: 3, PadH: 1, PadW: 1, ReLUInput: true}},
	} {
		r := rand.New(rand.NewPCG(2, 7))
		p := c.p
		src := randSlice(r, p.Batch*p.InC*p.InH*p.InW)
		w := PackConvWeights(randSlice(r, p.OutC*p.InC*p.KH*p.KW), p)
		bias := randSlice(r, p.OutC)
		dst := make([]float32, p.Batch*p.OutC*p.OutH()*p.OutW())
		flops := 2 * float64(p.OutC*p.InC*p.KH*p.KW) * float64(p.OutH()*p.OutW()*p.Batch)
		for _, path := range []string{"avx2", "avx512"} {
			if path == "avx512" && !hasAVX512 || !hasAVX2FMA {
				continue
			}
			b.Run(c.name+"/"+path, func(b *testing.B) {
				convTiles = convTilesAVX2
				if path == "avx512" {
					convTiles = convTilesAVX512
				}
				prev := SetThreads(1)
				defer SetThreads(prev)
				Conv2DNHWC(dst, src, p, w, bias)
				c0 := cpuSeconds()
				b.ResetTimer()
				for range b.N {
					Conv2DNHWC(dst, src, p, w, bias)
				}
				b.ReportMetric(flops*float64(b.N)/(cpuSeconds()-c0)/1e9, "GFLOP/cpu-s")
			})
		}
	}
}
