package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/tensor"
)

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func safetensorsBytes(t *testing.T, tensors map[string][]float32) []byte {
	t.Helper()
	var ts []SafetensorsTensor
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ts = append(ts, Float32Tensor(n, tensor.FromData(tensors[n], len(tensors[n]))))
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeIndex(t *testing.T, path string, weightMap map[string]string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": weightMap})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b)
}

// TestOpenDirectoryPreference: a model directory is read from the first of
// model.safetensors, its index, pytorch_model.bin, its index.
func TestOpenDirectoryPreference(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty directory: %v, want ErrNotFound", err)
	}
	if _, err := Open(filepath.Join(dir, "absent.safetensors")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("absent file: %v, want ErrNotFound", err)
	}
	steps := []struct {
		file, marker string
		write        func(path string)
	}{
		{"pytorch_model.bin.index.json", "from_bin_index", func(p string) {
			writeFile(t, filepath.Join(dir, "bin-00001.bin"), readTestdata(t, "torch_p2.bin"))
			writeIndex(t, p, map[string]string{"w": "bin-00001.bin", "p": "bin-00001.bin"})
		}},
		{"pytorch_model.bin", "from_bin", func(p string) { writeFile(t, p, readTestdata(t, "torch_p4.bin")) }},
		{"model.safetensors.index.json", "from_st_index", func(p string) {
			writeFile(t, filepath.Join(dir, "st-00001.safetensors"), safetensorsBytes(t, map[string][]float32{"from_st_index": {1}}))
			writeIndex(t, p, map[string]string{"from_st_index": "st-00001.safetensors"})
		}},
		{"model.safetensors", "from_st", func(p string) {
			writeFile(t, p, safetensorsBytes(t, map[string][]float32{"from_st": {1}}))
		}},
	}
	for _, s := range steps {
		s.write(filepath.Join(dir, s.file))
		sd, err := Open(dir)
		if err != nil {
			t.Fatalf("after writing %s: %v", s.file, err)
		}
		switch s.marker {
		case "from_bin_index":
			// The index maps w and p; the shard's other tensors come along.
			if !sd.Has("w") || !sd.Has("p") || !sd.Has("tied") || !sd.Shared("w", "tied") {
				t.Errorf("%s: names %v", s.file, sd.Names())
			}
		case "from_bin":
			checkSample(t, sd)
		default:
			if !sd.Has(s.marker) || sd.Len() != 1 {
				t.Errorf("%s: names %v", s.file, sd.Names())
			}
		}
		sd.Close()
	}
}

// TestOpenSniffsContent: the format comes from the bytes, not the name.
func TestOpenSniffsContent(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "weights.ckpt"), readTestdata(t, "torch_p3.bin"))
	writeFile(t, filepath.Join(dir, "weights.data"), readTestdata(t, "st_good.safetensors"))
	writeFile(t, filepath.Join(dir, "old.pt"), readTestdata(t, "legacy.pt"))
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("hello"))
	sd, err := Open(filepath.Join(dir, "weights.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, sd)
	sd.Close()
	sd, err = Open(filepath.Join(dir, "weights.data"))
	if err != nil || !sd.Has("a") {
		t.Fatalf("safetensors without its extension: %v", err)
	}
	sd.Close()
	if _, err := Open(filepath.Join(dir, "old.pt")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("legacy torch file: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "notes.txt")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("text file: %v", err)
	}
}

// TestOpenShardedSafetensors merges shards and validates the index.
func TestOpenShardedSafetensors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "s1.safetensors"), safetensorsBytes(t, map[string][]float32{"a": {1, 2}, "b": {3}}))
	writeFile(t, filepath.Join(dir, "s2.safetensors"), safetensorsBytes(t, map[string][]float32{"c": {4, 5, 6}}))
	index := filepath.Join(dir, "model.safetensors.index.json")
	writeIndex(t, index, map[string]string{"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"})
	sd, err := OpenSharded(index)
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.Names(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("names %v", got)
	}
	if c, _ := sd.Float32("c"); c == nil || !slices.Equal(c.Data, []float32{4, 5, 6}) {
		t.Errorf("c = %v", c)
	}
	if err := sd.Close(); err != nil {
		t.Error(err)
	}

	bad := map[string]struct {
		weightMap map[string]string
		want      error
	}{
		"escaping shard":  {map[string]string{"a": "../s1.safetensors"}, ErrMalformed},
		"absolute shard":  {map[string]string{"a": filepath.Join(dir, "s1.safetensors")}, ErrMalformed},
		"name not in it":  {map[string]string{"zzz": "s1.safetensors"}, ErrMalformed},
		"missing shard":   {map[string]string{"a": "s9.safetensors"}, ErrNotFound},
		"empty weightmap": {map[string]string{}, ErrMalformed},
	}
	for name, c := range bad {
		p := filepath.Join(dir, "bad.index.json")
		writeIndex(t, p, c.weightMap)
		if _, err := Open(p); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	writeFile(t, filepath.Join(dir, "junk.index.json"), []byte("{not json"))
	if _, err := OpenSharded(filepath.Join(dir, "junk.index.json")); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad JSON: %v", err)
	}
}

// TestOpenFixtureDirectories: Open on each fixture folder picks
// model.safetensors, and on the .bin gives the same tensors.
func TestOpenFixtureDirectories(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "model.safetensors", "pytorch_model.bin") {
		sd, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		bin, err := Open(filepath.Join(dir, "pytorch_model.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if sd.Len() == 0 || bin.Len() < sd.Len() {
			t.Errorf("%s: %d safetensors tensors, %d in the .bin", dir, sd.Len(), bin.Len())
		}
		sd.Close()
		bin.Close()
	}
}
