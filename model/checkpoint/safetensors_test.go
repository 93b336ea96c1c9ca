package checkpoint

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/model/tensor"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	in := tensor.FromData([]float32{1, -2, 3.5, 0, 7, 8}, 2, 3)
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, []SafetensorsTensor{Float32Tensor("a.weight", in)}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sd, err := OpenSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	got, err := sd.Float32("a.weight")
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(got.Shape, in.Shape) {
		t.Fatalf("shape %v, want %v", got.Shape, in.Shape)
	}
	if ok, i := tensor.AllClose(got.Data, in.Data, 0, 0); !ok {
		t.Fatalf("value %d differs", i)
	}
	if sd.Metadata["format"] != "pt" {
		t.Fatalf("metadata %v", sd.Metadata)
	}
}
