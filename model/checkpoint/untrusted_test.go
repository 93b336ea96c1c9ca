package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/model/tensor"
)

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}

// A model directory is untrusted: what it holds must not reach files
// outside it through symbolic links.
func TestOpenRefusesSymlinksOutOfTheDirectory(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "elsewhere", "secret.safetensors")
	writeFile(t, outside, safetensorsBytes(t, map[string][]float32{"a": {1}}))

	dir := filepath.Join(base, "model")
	symlink(t, outside, filepath.Join(dir, "model.safetensors"))
	if _, err := Open(dir); !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), "secret.safetensors") {
		t.Errorf("checkpoint linked outside: %v, want ErrOutside naming the target", err)
	}
	// A relative link climbing out is the same.
	dir2 := filepath.Join(base, "model2")
	symlink(t, "../elsewhere/secret.safetensors", filepath.Join(dir2, "model.safetensors"))
	if _, err := Open(dir2); !errors.Is(err, ErrOutside) {
		t.Errorf("relative link outside: %v", err)
	}
	// A link inside the directory is fine.
	dir3 := filepath.Join(base, "model3")
	writeFile(t, filepath.Join(dir3, "weights", "real.safetensors"), safetensorsBytes(t, map[string][]float32{"a": {2}}))
	symlink(t, "weights/real.safetensors", filepath.Join(dir3, "model.safetensors"))
	sd, err := Open(dir3)
	if err != nil {
		t.Fatalf("link inside the directory: %v", err)
	}
	sd.Close()
}

func TestOpenShardedRefusesShardsOutOfTheDirectory(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "elsewhere", "s1.safetensors")
	writeFile(t, outside, safetensorsBytes(t, map[string][]float32{"a": {1}}))
	dir := filepath.Join(base, "model")
	writeFile(t, filepath.Join(dir, "s2.safetensors"), safetensorsBytes(t, map[string][]float32{"b": {2}}))
	symlink(t, outside, filepath.Join(dir, "s1.safetensors"))
	// A directory link escapes too.
	symlink(t, filepath.Join(base, "elsewhere"), filepath.Join(dir, "sub"))
	for name, wm := range map[string]map[string]string{
		"file link":      {"a": "s1.safetensors", "b": "s2.safetensors"},
		"directory link": {"a": "sub/s1.safetensors", "b": "s2.safetensors"},
	} {
		index := filepath.Join(dir, "model.safetensors.index.json")
		writeIndex(t, index, wm)
		if _, err := Open(dir); !errors.Is(err, ErrOutside) {
			t.Errorf("%s: %v, want ErrOutside", name, err)
		}
	}
	// Paths that climb out or are absolute are refused before any link is followed.
	for name, shard := range map[string]string{"dotdot": "../elsewhere/s1.safetensors", "absolute": outside, "backslash": `..\s1.safetensors`} {
		index := filepath.Join(dir, "model.safetensors.index.json")
		writeIndex(t, index, map[string]string{"a": shard})
		if _, err := Open(dir); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "outside its directory") {
			t.Errorf("%s shard: %v, want ErrMalformed", name, err)
		}
	}
}

// A Hugging Face cache snapshot links its files into the repo's blobs/.
func TestOpenAcceptsHuggingFaceCacheLinks(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "models--org--name")
	writeFile(t, filepath.Join(repo, "blobs", "aaaa"), safetensorsBytes(t, map[string][]float32{"a": {1, 2}}))
	writeFile(t, filepath.Join(repo, "blobs", "bbbb"), safetensorsBytes(t, map[string][]float32{"b": {3}}))
	snap := filepath.Join(repo, "snapshots", "0123abc")
	symlink(t, "../../blobs/aaaa", filepath.Join(snap, "s1.safetensors"))
	symlink(t, "../../blobs/bbbb", filepath.Join(snap, "s2.safetensors"))
	writeIndex(t, filepath.Join(snap, "model.safetensors.index.json"), map[string]string{"a": "s1.safetensors", "b": "s2.safetensors"})
	sd, err := Open(snap)
	if err != nil {
		t.Fatalf("HF cache snapshot: %v", err)
	}
	sd.Close()
	// But not beyond the repo folder.
	writeFile(t, filepath.Join(filepath.Dir(repo), "other", "x"), safetensorsBytes(t, map[string][]float32{"b": {3}}))
	os.Remove(filepath.Join(snap, "s2.safetensors"))
	symlink(t, "../../../other/x", filepath.Join(snap, "s2.safetensors"))
	if _, err := Open(snap); !errors.Is(err, ErrOutside) {
		t.Errorf("snapshot link beyond the repo: %v, want ErrOutside", err)
	}
}

// Both sides of a tie, when stored, must agree.
func TestBindRefusesTiedTensorsThatDiffer(t *testing.T) {
	v := func(a, b float32) *tensor.Tensor { return tensor.FromData([]float32{a, b}, 2) }
	base := map[string]*tensor.Tensor{
		"embed.weight": v(1, 2), "embed.bias": v(3, 4), "layer.0.weight": v(5, 6), "layer.1.weight": v(7, 8),
		"head.weight": v(11, 12), "weight": v(15, 16),
	}
	with := func(extra map[string]*tensor.Tensor) map[string]*tensor.Tensor {
		m := map[string]*tensor.Tensor{}
		for k, t := range base {
			m[k] = t
		}
		for k, t := range extra {
			m[k] = t
		}
		return m
	}
	aliases := Aliases{"head.bias": "head.decoder.bias"}
	for name, c := range map[string]struct {
		tensors map[string]*tensor.Tensor
		wantErr string
	}{
		"one side":        {with(map[string]*tensor.Tensor{"head.decoder.bias": v(1, 2)}), ""},
		"equal copies":    {with(map[string]*tensor.Tensor{"head.bias": v(1, 2), "head.decoder.bias": v(1, 2)}), ""},
		"different":       {with(map[string]*tensor.Tensor{"head.bias": v(1, 2), "head.decoder.bias": v(1, 9)}), "tied tensors head.bias and head.decoder.bias differ (first at element 1"},
		"different shape": {with(map[string]*tensor.Tensor{"head.bias": v(1, 2), "head.decoder.bias": tensor.FromData([]float32{1, 2, 3}, 3)}), "differ in shape"},
	} {
		_, err := Bind(sdOf(t, c.tensors), "", newBindModel(), aliases)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.wantErr != "" && (!errors.Is(err, ErrBind) || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: %v, want ErrBind with %q", name, err, c.wantErr)
		}
	}
}
