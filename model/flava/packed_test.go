package flava

import (
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// tensorFields returns the non-nil *tensor.Tensor fields of the struct v
// points to, by field name.
func tensorFields(v any) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	rv := reflect.ValueOf(v).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if t, ok := rv.Field(i).Interface().(*tensor.Tensor); ok && t != nil {
			out[rv.Type().Field(i).Name] = t
		}
	}
	return out
}

// requireSameBits fails unless got and want hold the same tensors with the
// same bit patterns.
func requireSameBits(t *testing.T, what string, got, want map[string]*tensor.Tensor) {
	t.Helper()
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%s: %d outputs, want %d (> 0)", what, len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if g == nil || !slices.Equal(g.Shape, w.Shape) {
			t.Fatalf("%s.%s: missing or shape differs", what, name)
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Fatalf("%s.%s[%d] = %v, want %v bit for bit", what, name, i, g.Data[i], w.Data[i])
			}
		}
	}
}

// TestPackedWeightsOnAndOffGiveIdenticalOutputs runs FlavaForPreTraining's
// forward (all three encoders, projections, ITM head) and the MLM head with
// packing on (the default) and off: the outputs must match bit for bit.
func TestPackedWeightsOnAndOffGiveIdenticalOutputs(t *testing.T) {
	prev := kernels.SetThreads(2)
	defer kernels.SetThreads(prev)
	cfg := midConfig()
	cfg.HiddenSize = cfg.MultimodalConfig.HiddenSize // the ITM and MMM heads read multimodal states
	m, err := NewRandomForPreTraining(cfg, 21)
	if err != nil {
		t.Fatal(err)
	}
	in := midInputs(3)
	pin := PretrainingInput{PixelValues: in.PixelValues, InputIDs: in.InputIDs, AttentionMask: in.AttentionMask, ReturnLoss: new(bool)}
	hidden := m.Config.TextConfig.HiddenSize
	x := make([]float32, 37*hidden)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	run := func() (map[string]*tensor.Tensor, []float32) {
		out, err := m.Forward(pin)
		if err != nil {
			t.Fatal(err)
		}
		return tensorFields(out), m.MLMHead.Forward(x, 37)
	}
	on, onMLM := run()
	if n := packedLinears(m); n == 0 {
		t.Fatal("no Linear was packed with packing on")
	}
	m.SetPackedWeights(false)
	if n := packedLinears(m); n != 0 {
		t.Fatalf("%d Linears still hold packed weights after SetPackedWeights(false)", n)
	}
	off, offMLM := run()
	if n := packedLinears(m); n != 0 {
		t.Fatalf("%d Linears packed with packing off", n)
	}
	requireSameBits(t, "PretrainingOutput", on, off)
	requireSameBits(t, "MLMHead", map[string]*tensor.Tensor{"x": tensor.FromData(onMLM, len(onMLM))},
		map[string]*tensor.Tensor{"x": tensor.FromData(offMLM, len(offMLM))})
	m.SetPackedWeights(true)
	again, _ := run()
	requireSameBits(t, "PretrainingOutput after turning packing back on", again, off)
}

// packedLinears counts the Linears of v holding a packed copy.
func packedLinears(v any) int {
	n := 0
	visitLinears(reflect.ValueOf(v), func(l *Linear) {
		if l.pack != nil && l.pack.cur.Load() != nil {
			n++
		}
	})
	return n
}

// TestPackedWeightsConcurrentFirstForward starts several forwards at once on
// a model nobody has run yet: they race to pack the same Linears, and all
// must get the unpacked model's outputs (run with -race to check the
// packing itself).
func TestPackedWeightsConcurrentFirstForward(t *testing.T) {
	ref, err := NewRandom(midConfig(), 22)
	if err != nil {
		t.Fatal(err)
	}
	ref.SetPackedWeights(false)
	in := midInputs(2)
	wantOut, err := ref.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	want := tensorFields(wantOut)
	m, err := NewRandom(midConfig(), 22)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines = 4
	outs := make([]*ModelOutput, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() { outs[g], errs[g] = m.Forward(in) })
	}
	wg.Wait()
	for g := range goroutines {
		if errs[g] != nil {
			t.Fatal(errs[g])
		}
		requireSameBits(t, "concurrent Forward", tensorFields(outs[g]), want)
	}
}

// TestPackedWeightsFollowReplacedTensors checks the documented staleness
// rules: a Weight replaced by another tensor is packed again on the next
// product; a weight changed in place keeps its old packed copy until
// SetPackedWeights(false) and (true) drop it.
func TestPackedWeightsFollowReplacedTensors(t *testing.T) {
	m, err := NewRandom(midConfig(), 23)
	if err != nil {
		t.Fatal(err)
	}
	in := ImageInput{PixelValues: midInputs(1).PixelValues}
	l := &m.ImageModel.Encoder.Layer[0].Intermediate.Dense
	forward := func() map[string]*tensor.Tensor {
		out, err := m.ImageModel.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		return tensorFields(out)
	}
	unpacked := func() map[string]*tensor.Tensor {
		m.SetPackedWeights(false)
		defer m.SetPackedWeights(true)
		return forward()
	}
	before := forward()

	// Replace the tensor: packed again, so packed and unpacked agree.
	w := l.Weight.Clone()
	for i := range w.Data {
		w.Data[i] *= -2
	}
	l.Weight = w
	afterReplace := forward()
	requireSameBits(t, "after replacing a weight", afterReplace, unpacked())
	if reflect.DeepEqual(afterReplace["LastHiddenState"].Data, before["LastHiddenState"].Data) {
		t.Fatal("replacing a weight did not change the output")
	}

	// Change in place: stale (documented) until packing is reset.
	forward()
	for i := range w.Data {
		w.Data[i] *= 0.5
	}
	stale := forward()
	requireSameBits(t, "a weight changed in place before repacking", stale, afterReplace)
	m.SetPackedWeights(false)
	m.SetPackedWeights(true)
	requireSameBits(t, "a weight changed in place after repacking", forward(), unpacked())
}
