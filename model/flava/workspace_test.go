package flava

import (
	"testing"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// midConfig is big enough that the kernels split GEMMs, attention and
// elementwise passes over the pool, small enough for a quick test.
func midConfig() Config {
	c := tinyConfig()
	for _, e := range []*struct{ h, l, a, i *int }{
		{&c.ImageConfig.HiddenSize, &c.ImageConfig.NumHiddenLayers, &c.ImageConfig.NumAttentionHeads, &c.ImageConfig.IntermediateSize},
		{&c.TextConfig.HiddenSize, &c.TextConfig.NumHiddenLayers, &c.TextConfig.NumAttentionHeads, &c.TextConfig.IntermediateSize},
		{&c.MultimodalConfig.HiddenSize, &c.MultimodalConfig.NumHiddenLayers, &c.MultimodalConfig.NumAttentionHeads, &c.MultimodalConfig.IntermediateSize},
	} {
		*e.h, *e.l, *e.a, *e.i = 128, 2, 4, 512
	}
	c.ImageConfig.ImageSize, c.ImageConfig.PatchSize = 64, 8
	c.TextConfig.MaxPositionEmbeddings = 32
	return c
}

func midInputs(batch int) ModelInput {
	pix := tensor.New(batch, 3, 64, 64)
	for i := range pix.Data {
		pix.Data[i] = float32(i%251)/125 - 1
	}
	ids := tensor.NewInt64(batch, 20)
	mask := tensor.NewInt64(batch, 20)
	for i := range ids.Data {
		ids.Data[i] = int64(1 + 7*i%40)
		mask.Data[i] = 1
		if i%20 > 15 && i/20%2 == 1 {
			mask.Data[i] = 0
		}
	}
	return ModelInput{PixelValues: pix, InputIDs: ids, AttentionMask: mask}
}

func TestForwardIntoDoesNotAllocate(t *testing.T) {
	for _, p := range []Precision{PrecisionF32, PrecisionBF16} {
		t.Run(p.String(), func(t *testing.T) { testForwardIntoDoesNotAllocate(t, p) })
	}
}

func testForwardIntoDoesNotAllocate(t *testing.T, p Precision) {
	m, err := NewRandom(midConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if p == PrecisionBF16 {
		allowBF16(t)
	}
	if err := m.SetPrecision(p); err != nil {
		t.Fatal(err)
	}
	in := midInputs(3)
	var ws Workspace
	var out ModelOutput
	var img ImageOutput
	var txt TextOutput
	var mm MultimodalOutput
	run := func() {
		if err := m.ForwardInto(&ws, &out, in); err != nil {
			t.Fatal(err)
		}
		if err := m.ImageModel.ForwardInto(&ws, &img, ImageInput{PixelValues: in.PixelValues}); err != nil {
			t.Fatal(err)
		}
		if err := m.TextModel.ForwardInto(&ws, &txt, TextInput{InputIDs: in.InputIDs, AttentionMask: in.AttentionMask, OutputHiddenStates: true}); err != nil {
			t.Fatal(err)
		}
		if err := m.MultimodalModel.ForwardInto(&ws, &mm, *out.MultimodalInput); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run()
	if a := testing.AllocsPerRun(5, run); a != 0 {
		t.Errorf("ForwardInto with a warm Workspace: %v allocations per run, want 0", a)
	}
}

// TestForwardIntoMatchesForward checks that reused outputs and a reused
// Workspace give exactly what a fresh Forward gives, across batch sizes
// that shrink and grow the buffers.
func TestForwardIntoMatchesForward(t *testing.T) {
	m, err := NewRandom(midConfig(), 4)
	if err != nil {
		t.Fatal(err)
	}
	var ws Workspace
	var out ModelOutput
	for _, batch := range []int{2, 1, 3} {
		in := midInputs(batch)
		in.OutputHiddenStates = true
		want, err := m.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.ForwardInto(&ws, &out, in); err != nil {
			t.Fatal(err)
		}
		pairs := map[string][2]*tensor.Tensor{
			"image":      {want.ImageEmbeddings, out.ImageEmbeddings},
			"image pool": {want.ImageOutput.PooledOutput, out.ImageOutput.PooledOutput},
			"text":       {want.TextEmbeddings, out.TextEmbeddings},
			"mm input":   {want.MultimodalInput.HiddenStates, out.MultimodalInput.HiddenStates},
			"mm mask":    {want.MultimodalInput.AttentionMask, out.MultimodalInput.AttentionMask},
			"mm":         {want.MultimodalEmbeddings, out.MultimodalEmbeddings},
			"mm pool":    {want.MultimodalOutput.PooledOutput, out.MultimodalOutput.PooledOutput},
			"text h1":    {want.TextOutput.HiddenStates[1], out.TextOutput.HiddenStates[1]},
		}
		for name, p := range pairs {
			if !tensor.SameShape(p[0].Shape, p[1].Shape) {
				t.Fatalf("batch %d %s: shape %v, want %v", batch, name, p[1].Shape, p[0].Shape)
			}
			if d, at := tensor.MaxAbsDiff(p[0].Data, p[1].Data); d != 0 {
				t.Errorf("batch %d %s: differs by %g at %d", batch, name, d, at)
			}
		}
	}
}

// TestFusedEncoderMatchesModuleForward compares the fused in-place encoder
// path the models run with the plain module-by-module Forward methods.
func TestFusedEncoderMatchesModuleForward(t *testing.T) {
	m, err := NewRandom(midConfig(), 5)
	if err != nil {
		t.Fatal(err)
	}
	const batch, seq, hidden = 2, 20, 128
	x := make([]float32, batch*seq*hidden)
	for i := range x {
		x[i] = float32(i%89)/89 - 0.5
	}
	mask := make([]float32, batch*seq)
	for i := range mask {
		mask[i] = 1
		if i > seq+14 {
			mask[i] = 0
		}
	}
	ext := make([]float32, len(mask))
	extendedMaskFloat32(ext, mask)
	want, _ := m.TextModel.Encoder.Forward(x, batch, seq, ext, false)
	var s encoderScratch
	got := append([]float32(nil), x...)
	m.TextModel.Encoder.forward(&s, got, batch, seq, ext, nil)
	if ok, at := tensor.AllClose(got, want, 1e-5, 1e-5); !ok {
		t.Errorf("fused encoder differs at %d: %g vs %g", at, got[at], want[at])
	}
}

func smallCodebook(t *testing.T) *ImageCodebook {
	t.Helper()
	return randomCodebook(t, CodebookConfig{HiddenSize: 16, VocabSize: 40})
}

func codebookPixels(batch, size int) *tensor.Tensor {
	px := tensor.New(batch, 3, size, size)
	for i := range px.Data {
		px.Data[i] = 0.1 + 0.8*float32(i%113)/113
	}
	return px
}

// TestCodebookFusedMatchesModules compares the Workspace path (images split
// over the pool) with the modules' own Forward methods.
func TestCodebookFusedMatchesModules(t *testing.T) {
	cb := smallCodebook(t)
	for _, batch := range []int{1, 3} {
		px := codebookPixels(batch, 24)
		want := cb.forwardModules(px)
		got, err := cb.Forward(px)
		if err != nil {
			t.Fatal(err)
		}
		if !tensor.SameShape(got.Shape, want.Shape) {
			t.Fatalf("batch %d: shape %v, want %v", batch, got.Shape, want.Shape)
		}
		if ok, at := tensor.AllClose(got.Data, want.Data, 1e-5, 1e-5); !ok {
			t.Errorf("batch %d: logits differ at %d: %g vs %g", batch, at, got.Data[at], want.Data[at])
		}
		ids, err := cb.CodebookIndices(px)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs := argmaxChannels(got)
		for i := range ids.Data {
			if ids.Data[i] != wantIDs.Data[i] {
				t.Fatalf("batch %d: id %d = %d, want %d", batch, i, ids.Data[i], wantIDs.Data[i])
			}
		}
	}
}

func TestCodebookIndicesIntoDoesNotAllocate(t *testing.T) {
	cb := smallCodebook(t)
	px := codebookPixels(4, 24)
	var ws Workspace
	var ids tensor.Int64
	var logits tensor.Tensor
	run := func() {
		if err := cb.CodebookIndicesInto(&ws, &ids, px); err != nil {
			t.Fatal(err)
		}
		if err := cb.ForwardInto(&ws, &logits, px); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run()
	if a := steadyAllocsPerRun(run); a != 0 {
		t.Errorf("codebook with a warm Workspace: %v allocations per run, want 0", a)
	}
}

// argmaxChannels returns argmax over dim 1 of a B×C×H×W tensor as B×H×W.
// NaN counts as the maximum, as in torch.argmax.
func argmaxChannels(t *tensor.Tensor) *tensor.Int64 {
	n, c, h, w := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	hw := h * w
	out := tensor.NewInt64(n, h, w)
	for b := 0; b < n; b++ {
		argmaxPlanes(out.Data[b*hw:(b+1)*hw], t.Data[b*c*hw:(b+1)*c*hw], c, hw)
	}
	return out
}

// TestImageEmbeddingsGEMMMatchesConv compares the patch-matrix GEMM of the
// fused path with the Conv2D + transpose of PatchEmbeddings.Forward, with a
// mask and with interpolated position embeddings.
func TestImageEmbeddingsGEMMMatchesConv(t *testing.T) {
	m, err := NewRandom(midConfig(), 6)
	if err != nil {
		t.Fatal(err)
	}
	e := &m.ImageModel.Embeddings
	for _, c := range []struct {
		name        string
		h, w        int
		interpolate bool
	}{{"native", 64, 64, false}, {"interpolated", 48, 80, true}} {
		pix := tensor.New(2, 3, c.h, c.w)
		for i := range pix.Data {
			pix.Data[i] = float32(i%71)/35 - 1
		}
		n := (c.h / 8) * (c.w / 8)
		mask := tensor.NewBool(2, n)
		for i := range mask.Data {
			mask.Data[i] = i%3 == 1
		}
		want, wantSeq, err := e.Forward(pix, mask, c.interpolate)
		if err != nil {
			t.Fatal(err)
		}
		var s encoderScratch
		got, seq, err := e.forward(&s, pix, mask, c.interpolate)
		if err != nil {
			t.Fatal(err)
		}
		if seq != wantSeq || len(got) != len(want) {
			t.Fatalf("%s: seq %d (%d values), want %d (%d)", c.name, seq, len(got), wantSeq, len(want))
		}
		if ok, at := tensor.AllClose(got, want, 1e-5, 1e-5); !ok {
			t.Errorf("%s: embeddings differ at %d: %g vs %g", c.name, at, got[at], want[at])
		}
	}
}

// argmaxPlanes (the reference for the NCHW logits ForwardInto returns)
// writes into dst (hw values) the argmax over c planes of hw
// values each (first maximum on ties; NaN counts as the maximum, as in
// torch.argmax).
func argmaxPlanes(dst []int64, planes []float32, c, hw int) {
	for p := 0; p < hw; p++ {
		best, at := planes[p], 0
		if best == best {
			for ch := 1; ch < c; ch++ {
				v := planes[ch*hw+p]
				if v != v {
					at = ch
					break
				}
				if v > best {
					best, at = v, ch
				}
			}
		}
		dst[p] = int64(at)
	}
}
