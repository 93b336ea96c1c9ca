package checkpoint

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
)

// TestPyTorchMatchesSafetensors reads both formats of every fixture model: the
// same names (the .bin also holds the tied aliases that safetensors stores
// once), the same dtypes and shapes, and bit-identical values.
func TestPyTorchMatchesSafetensors(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "model.safetensors", "pytorch_model.bin") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			st, err := OpenSafetensors(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			pt, err := OpenPyTorch(filepath.Join(dir, "pytorch_model.bin"))
			if err != nil {
				t.Fatal(err)
			}
			defer pt.Close()
			if st.Len() == 0 {
				t.Fatal("safetensors fixture holds no tensors")
			}
			for _, name := range st.Names() {
				if !pt.Has(name) {
					t.Errorf("%s: in model.safetensors, not in pytorch_model.bin", name)
					continue
				}
				compareTensor(t, name, st, pt)
			}
			// Names only the .bin has must be tied aliases of names both have.
			for _, name := range pt.Names() {
				if st.Has(name) {
					continue
				}
				tied := ""
				for _, other := range st.Names() {
					if pt.Shared(name, other) {
						tied = other
						break
					}
				}
				if tied == "" {
					t.Errorf("%s: only in pytorch_model.bin and shares no storage with a safetensors tensor", name)
					continue
				}
				a, _ := pt.Info(name)
				b, _ := st.Info(tied)
				if a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) {
					t.Errorf("%s ties %s but is %s%v, not %s%v", name, tied, a.DType, a.Shape, b.DType, b.Shape)
				}
				t.Logf("%s is a tied alias of %s", name, tied)
			}
		})
	}
}

func compareTensor(t *testing.T, name string, want, got *StateDict) {
	t.Helper()
	wi, _ := want.Info(name)
	gi, _ := got.Info(name)
	if wi.DType != gi.DType || !slices.Equal(wi.Shape, gi.Shape) {
		t.Errorf("%s: %s%v, want %s%v", name, gi.DType, gi.Shape, wi.DType, wi.Shape)
		return
	}
	switch wi.DType {
	case F32, F16, BF16, F64:
		w, err1 := want.Float32(name)
		g, err2 := got.Float32(name)
		if err1 != nil || err2 != nil {
			t.Errorf("%s: %v %v", name, err1, err2)
			return
		}
		for i := range w.Data {
			if math.Float32bits(w.Data[i]) != math.Float32bits(g.Data[i]) {
				t.Errorf("%s[%d] = %v, want %v", name, i, g.Data[i], w.Data[i])
				return
			}
		}
	default:
		w, err1 := want.Int64(name)
		g, err2 := got.Int64(name)
		if err1 != nil || err2 != nil {
			t.Errorf("%s: %v %v", name, err1, err2)
			return
		}
		if !slices.Equal(w.Data, g.Data) {
			t.Errorf("%s: integer values differ", name)
		}
	}
}

// TestPyTorchTiedAliasesShareStorage checks that names saved from one
// storage come back as one block of memory, not copies.
func TestPyTorchTiedAliasesShareStorage(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "pytorch_model.bin") {
		pt, err := OpenPyTorch(filepath.Join(dir, "pytorch_model.bin"))
		if err != nil {
			t.Fatal(err)
		}
		for _, pair := range [][2]string{{"mim_head.bias", "mim_head.decoder.bias"}, {"mlm_head.bias", "mlm_head.decoder.bias"}} {
			if pt.Has(pair[0]) && pt.Has(pair[1]) && !pt.Shared(pair[0], pair[1]) {
				t.Errorf("%s: %s and %s do not share storage", dir, pair[0], pair[1])
			}
		}
		if pt.Shared("mim_head.bias", "mlm_head.bias") {
			t.Errorf("%s: unrelated tensors reported as shared", dir)
		}
		pt.Close()
	}
}
