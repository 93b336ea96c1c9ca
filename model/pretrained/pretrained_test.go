package pretrained

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/hub"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/model/tokenizer"
)

func TestTinyRandomIsDeterministicAndRuns(t *testing.T) {
	a, err := Load(context.Background(), TinyRandom, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(context.Background(), TinyRandom, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Meaningless || a.Model.ImageCodebook == nil || a.Model.ITMHead == nil {
		t.Fatalf("tiny bundle incomplete: meaningless=%v codebook=%v itm=%v", a.Meaningless, a.Model.ImageCodebook != nil, a.Model.ITMHead != nil)
	}
	enc, err := a.Tokenizer.Encode("A photo of two dogs in the snow", tokenizer.EncodeOptions{MaxLength: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range enc.Tokens {
		if tok == "[UNK]" {
			t.Errorf("caption words should be in the built-in vocabulary: %v", enc.Tokens)
		}
	}
	ids := tensor.NewInt64(1, len(enc.IDs))
	mask := tensor.NewInt64(1, len(enc.IDs))
	for i := range enc.IDs {
		ids.Data[i], mask.Data[i] = int64(enc.IDs[i]), int64(enc.AttentionMask[i])
	}
	va, err := a.Scorer.TextVectors(flava.TextInput{InputIDs: ids, AttentionMask: mask})
	if err != nil {
		t.Fatal(err)
	}
	vb, err := b.Scorer.TextVectors(flava.TextInput{InputIDs: ids, AttentionMask: mask})
	if err != nil {
		t.Fatal(err)
	}
	var norm float64
	for i := range va[0] {
		if va[0][i] != vb[0][i] {
			t.Fatalf("tiny-random differs between loads at %d", i)
		}
		norm += float64(va[0][i]) * float64(va[0][i])
	}
	if math.Abs(norm-1) > 1e-5 {
		t.Fatalf("retrieval vector norm² %v, want 1", norm)
	}
	pix := tensor.New(1, 3, 64, 64)
	if _, err := a.Scorer.ImageVectors(flava.ImageInput{PixelValues: pix}); err != nil {
		t.Fatal(err)
	}
	if a.Bytes <= 0 {
		t.Fatalf("Bytes = %d", a.Bytes)
	}
}

// A fixture model folder plus the fixture tokenizer files is a complete HF
// model directory; loading it must give the fixture's model.
func TestLoadDirectoryAndHubCache(t *testing.T) {
	dir := fixtures.ModelDir(t, fixtures.Dirs(t, "config.json", "model.safetensors")[0], "")
	b, err := Load(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Meaningless || b.Model.ITMHead == nil || b.Tokenizer.VocabSize() != 30522 {
		t.Fatalf("bundle from %s: meaningless=%v itm=%v vocab=%d", dir, b.Meaningless, b.Model.ITMHead != nil, b.Tokenizer.VocabSize())
	}

	// The same folder laid out as a Hub cache snapshot is found offline.
	cache := t.TempDir()
	commit := "1111111111111111111111111111111111111111"
	snap := filepath.Join(cache, "models--org--tiny", "snapshots", commit)
	os.MkdirAll(filepath.Dir(snap), 0o755)
	if err := os.Symlink(dir, snap); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(cache, "models--org--tiny", "refs"), 0o755)
	os.WriteFile(filepath.Join(cache, "models--org--tiny", "refs", "main"), []byte(commit), 0o644)
	hb, err := Load(context.Background(), "org/tiny", Options{Hub: hub.Options{CacheDir: cache, Offline: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close()
	if hb.ID != "org/tiny" || hb.Dir != snap {
		t.Fatalf("hub bundle id %q dir %q", hb.ID, hb.Dir)
	}
	if _, err := Load(context.Background(), "org/absent", Options{Hub: hub.Options{CacheDir: cache, Offline: true}}); !errors.Is(err, hub.ErrOffline) {
		t.Fatalf("absent offline: %v, want hub.ErrOffline", err)
	}
	if _, err := Load(context.Background(), "not a source", Options{}); !errors.Is(err, ErrSource) {
		t.Fatalf("bad source: %v", err)
	}
}
