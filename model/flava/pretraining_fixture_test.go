package flava

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// Helpers shared by the codebook, pretraining and scoring tests: they read a
// fixture folder's manifest.json, inputs.safetensors and expected.safetensors
// and compare tensors under the manifest's tolerance policy
// (|go-expected| <= atol + rtol*|expected|; integers exact).

type ptTensorSpec struct {
	File    string   `json:"file"`
	Shape   []int    `json:"shape"`
	DType   string   `json:"dtype"`
	Atol    *float64 `json:"atol"`
	Rtol    *float64 `json:"rtol"`
	Call    string   `json:"call"`
	Meaning string   `json:"meaning"`
}

type ptFixture struct {
	dir      string
	tensors  map[string]ptTensorSpec
	inputs   *checkpoint.StateDict
	expected *checkpoint.StateDict
}

func ptOpenFixture(t *testing.T, dir string) *ptFixture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Tensors map[string]ptTensorSpec `json:"tensors"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: manifest: %v", dir, err)
	}
	f := &ptFixture{dir: dir, tensors: m.Tensors}
	if f.inputs, err = checkpoint.OpenSafetensors(filepath.Join(dir, "inputs.safetensors")); err != nil {
		t.Fatal(err)
	}
	if f.expected, err = checkpoint.OpenSafetensors(filepath.Join(dir, "expected.safetensors")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.inputs.Close(); f.expected.Close() })
	return f
}

// names returns the expected tensors whose names start with one of the
// prefixes, sorted.
func (f *ptFixture) names(prefixes ...string) []string {
	var out []string
	for n, s := range f.tensors {
		if s.File != "expected.safetensors" {
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(n, p) {
				out = append(out, n)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func (f *ptFixture) inFloat(t *testing.T, name string) *tensor.Tensor {
	t.Helper()
	x, err := f.inputs.Float32(name)
	if err != nil {
		t.Fatalf("%s: input %s: %v", f.dir, name, err)
	}
	return x.Clone() // mmapped data is read-only; callers may compare copies
}

func (f *ptFixture) inInt(t *testing.T, name string) *tensor.Int64 {
	t.Helper()
	x, err := f.inputs.Int64(name)
	if err != nil {
		t.Fatalf("%s: input %s: %v", f.dir, name, err)
	}
	return x.Clone()
}

func (f *ptFixture) inBool(t *testing.T, name string) *tensor.Bool {
	t.Helper()
	x, err := f.inputs.Bool(name)
	if err != nil {
		t.Fatalf("%s: input %s: %v", f.dir, name, err)
	}
	return x.Clone()
}

// checkFloat compares got with the expected tensor name under the manifest
// tolerance. A nil got fails: the code did not produce a tensor it must.
func (f *ptFixture) checkFloat(t *testing.T, name string, got *tensor.Tensor) {
	t.Helper()
	spec, ok := f.tensors[name]
	if !ok {
		t.Errorf("%s: %s is not in the manifest", f.dir, name)
		return
	}
	if got == nil {
		t.Errorf("%s: %s was not produced", f.dir, name)
		return
	}
	want, err := f.expected.Float32(name)
	if err != nil {
		t.Errorf("%s: expected %s: %v", f.dir, name, err)
		return
	}
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Errorf("%s: %s shape %v, want %v", f.dir, name, got.Shape, want.Shape)
		return
	}
	if spec.Atol == nil || spec.Rtol == nil {
		t.Errorf("%s: %s has no tolerance in the manifest", f.dir, name)
		return
	}
	if ok, at := tensor.AllClose(got.Data, want.Data, *spec.Atol, *spec.Rtol); !ok {
		d, _ := tensor.MaxAbsDiff(got.Data, want.Data)
		t.Errorf("%s: %s differs at %d: got %g want %g (max |diff| %.3g, atol %g rtol %g)",
			f.dir, name, at, got.Data[at], want.Data[at], d, *spec.Atol, *spec.Rtol)
	}
}

// checkInt compares integer tensors exactly.
func (f *ptFixture) checkInt(t *testing.T, name string, got *tensor.Int64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: %s was not produced", f.dir, name)
		return
	}
	want, err := f.expected.Int64(name)
	if err != nil {
		t.Errorf("%s: expected %s: %v", f.dir, name, err)
		return
	}
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Errorf("%s: %s shape %v, want %v", f.dir, name, got.Shape, want.Shape)
		return
	}
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			t.Errorf("%s: %s differs at %d: got %d want %d", f.dir, name, i, got.Data[i], want.Data[i])
			return
		}
	}
}

// scalar wraps a float64 loss as a 0-d tensor for checkFloat.
func ptScalar(v float64) *tensor.Tensor {
	return &tensor.Tensor{Shape: []int{}, Data: []float32{float32(v)}}
}

func ptSameFloat(a, b *tensor.Tensor) bool {
	if !tensor.SameShape(a.Shape, b.Shape) || len(a.Data) != len(b.Data) {
		return false
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			return false
		}
	}
	return true
}

func ptSameInt(a, b *tensor.Int64) bool {
	return tensor.SameShape(a.Shape, b.Shape) && slices.Equal(a.Data, b.Data)
}

func ptSameBool(a, b *tensor.Bool) bool {
	return tensor.SameShape(a.Shape, b.Shape) && slices.Equal(a.Data, b.Data)
}
