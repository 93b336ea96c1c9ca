package kernels

import (
	"errors"
	"fmt"
	"math"
)

// Conv2DParams describes a 2-D convolution over NCHW input with OIHW weights,
// torch.nn.Conv2d's layouts (groups = 1, dilation = 1, zero padding). The zero
// value is not a valid convolution (sizes must be set); Validate says which
// field is wrong.
type Conv2DParams struct {
	Batch int // images in src and dst; 0 is allowed (nothing to do)
	InC   int // input channels; required, > 0
	InH   int // input height; required, > 0
	InW   int // input width; required, > 0
	OutC  int // output channels (rows of w); required, > 0
	KH    int // kernel height; required, > 0
	KW    int // kernel width; required, > 0

	StrideH int // vertical stride; default (0) 1
	StrideW int // horizontal stride; default (0) 1
	PadH    int // zero rows added above and below; default 0
	PadW    int // zero columns added left and right; default 0

	// ReLUInput applies ReLU to src as it is read (src itself is not
	// changed): the result is that of Conv2D over ReLU(src), without the
	// extra pass over the input. Default (false): src is used as is.
	ReLUInput bool
}

// ErrInvalidParams is wrapped by the errors of Conv2DParams.Validate.
var ErrInvalidParams = errors.New("kernels: invalid parameters")

// Validate reports the first field that makes p unusable, naming it, wrapped
// around ErrInvalidParams. Conv2D itself panics on such parameters (a
// programmer error); callers building params from untrusted configs should
// call Validate first.
func (p Conv2DParams) Validate() error {
	for _, f := range []struct {
		name string
		v    int
		min  int
	}{
		{"Batch", p.Batch, 0}, {"InC", p.InC, 1}, {"InH", p.InH, 1}, {"InW", p.InW, 1},
		{"OutC", p.OutC, 1}, {"KH", p.KH, 1}, {"KW", p.KW, 1},
		{"StrideH", p.StrideH, 0}, {"StrideW", p.StrideW, 0}, {"PadH", p.PadH, 0}, {"PadW", p.PadW, 0},
	} {
		if f.v < f.min {
			return fmt.Errorf("%w: Conv2DParams.%s = %d, want >= %d", ErrInvalidParams, f.name, f.v, f.min)
		}
	}
	if p.OutH() <= 0 {
		return fmt.Errorf("%w: Conv2DParams.KH = %d exceeds InH+2·PadH = %d", ErrInvalidParams, p.KH, p.InH+2*p.PadH)
	}
	if p.OutW() <= 0 {
		return fmt.Errorf("%w: Conv2DParams.KW = %d exceeds InW+2·PadW = %d", ErrInvalidParams, p.KW, p.InW+2*p.PadW)
	}
	return nil
}

func (p Conv2DParams) strides() (int, int) { return max(p.StrideH, 1), max(p.StrideW, 1) }

// OutH returns the output height.
func (p Conv2DParams) OutH() int {
	sh, _ := p.strides()
	return (p.InH+2*p.PadH-p.KH)/sh + 1
}

// OutW returns the output width.
func (p Conv2DParams) OutW() int {
	_, sw := p.strides()
	return (p.InW+2*p.PadW-p.KW)/sw + 1
}

// Conv2D computes dst (Batch×OutC×OutH×OutW) = conv(src, w) + bias, where src
// is Batch×InC×InH×InW, w is OutC×InC×KH×KW and bias has OutC values or is nil
// (with p.ReLUInput, conv(ReLU(src), w) + bias). It is im2col + the packed
// SGEMM without the im2col matrix: the weights are packed once per call, and
// each block of output pixels writes its patch rows straight into the
// micro-kernel's panels; pixel blocks of every image are spread over the
// kernel pool, the bias added while each block is hot (see conv_fast.go).
// Scratch is pooled: steady-state calls do not allocate.
func Conv2D(dst, src []float32, p Conv2DParams, w, bias []float32) {
	oh, ow := p.OutH(), p.OutW()
	if p.Batch < 0 || p.InC <= 0 || p.OutC <= 0 || p.KH <= 0 || p.KW <= 0 || oh <= 0 || ow <= 0 ||
		len(src) < p.Batch*p.InC*p.InH*p.InW || len(dst) < p.Batch*p.OutC*oh*ow ||
		len(w) != p.OutC*p.InC*p.KH*p.KW || (bias != nil && len(bias) != p.OutC) {
		panic(fmt.Sprintf("kernels: Conv2D %+v with src %d, dst %d, w %d, bias %d", p, len(src), len(dst), len(w), len(bias)))
	}
	conv2DPacked(dst, src, p, w, bias)
}

// MaxPool2D computes a k×k max pool with the given stride (no padding,
// floor mode) over NCHW src of planes = Batch·C planes of h×w; dst receives
// planes × ((h-k)/stride+1) × ((w-k)/stride+1) values. NaN propagates.
// Planes are spread over the kernel pool; it does not allocate.
func MaxPool2D(dst, src []float32, planes, h, w, k, stride int) {
	if k <= 0 || stride <= 0 {
		panic(fmt.Sprintf("kernels: MaxPool2D %d planes %dx%d k=%d s=%d", planes, h, w, k, stride))
	}
	oh, ow := (h-k)/stride+1, (w-k)/stride+1
	if oh <= 0 || ow <= 0 || len(src) < planes*h*w || len(dst) < planes*oh*ow {
		panic(fmt.Sprintf("kernels: MaxPool2D %d planes %dx%d k=%d s=%d", planes, h, w, k, stride))
	}
	j := poolJob{dst: dst, src: src, h: h, w: w, k: k, stride: stride}
	grain := max(1, 65536/(h*w))
	if planes < 2*grain || Threads() == 1 {
		j.run(0, planes)
		return
	}
	p := poolJobPool.get()
	*p = j
	parallelRun(planes, grain, p)
	*p = poolJob{}
	poolJobPool.put(p)
}

type poolJob struct {
	dst, src        []float32
	h, w, k, stride int
}

var poolJobPool freeList[poolJob]

func (j *poolJob) run(lo, hi int) {
	h, w, k, stride := j.h, j.w, j.k, j.stride
	oh, ow := (h-k)/stride+1, (w-k)/stride+1
	for pl := lo; pl < hi; pl++ {
		in := j.src[pl*h*w : (pl+1)*h*w]
		out := j.dst[pl*oh*ow : (pl+1)*oh*ow]
		if k == 2 && stride == 2 { // the codebook's pool: two rows at a time
			for y := 0; y < oh; y++ {
				r0 := in[2*y*w : 2*y*w+2*ow]
				r1 := in[(2*y+1)*w : (2*y+1)*w+2*ow]
				o := out[y*ow : (y+1)*ow]
				for x := range o {
					// the builtin max returns NaN if any argument is NaN
					o[x] = max(r0[2*x], r0[2*x+1], r1[2*x], r1[2*x+1])
				}
			}
			continue
		}
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				m := float32(math.Inf(-1))
				nan := false
				for ky := 0; ky < k; ky++ {
					row := in[(y*stride+ky)*w+x*stride:][:k]
					for _, v := range row {
						if v != v {
							nan = true
						}
						if v > m {
							m = v
						}
					}
				}
				if nan {
					m = float32(math.NaN())
				}
				out[y*ow+x] = m
			}
		}
	}
}
