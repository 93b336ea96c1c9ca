package pretrained

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/hub"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// codebookIDs labels fixed pixels with cb.
func codebookIDs(t *testing.T, cb *flava.ImageCodebook) []int64 {
	t.Helper()
	px := tensor.New(1, 3, 32, 32)
	for i := range px.Data {
		px.Data[i] = float32((i*37)%101) / 101
	}
	ids, err := cb.CodebookIndices(px)
	if err != nil {
		t.Fatal(err)
	}
	return ids.Data
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A model without a codebook gets facebook/flava-image-codebook from the Hub
// cache when a codebook is needed, and no codebook otherwise.
func TestNeedCodebookFallsBackToTheHubCodebook(t *testing.T) {
	model := fixtures.NoCodebookModelDir(t, "")
	cache := fixtures.HubCache(t, FlavaCodebook, fixtures.CodebookDir(t, false))
	h := hub.Options{CacheDir: cache, Offline: true}

	b, err := Load(context.Background(), model, Options{Hub: h})
	if err != nil {
		t.Fatal(err)
	}
	if b.Codebook() != nil || b.CodebookID != "" {
		t.Errorf("without NeedCodebook: codebook %v, id %q; want none", b.Codebook() != nil, b.CodebookID)
	}
	b.Close()

	b, err = Load(context.Background(), model, Options{Hub: h, NeedCodebook: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Codebook() == nil || b.CodebookID != FlavaCodebook || b.CodebookReplaced {
		t.Fatalf("with NeedCodebook: codebook %v, id %q, replaced %v; want %s", b.Codebook() != nil, b.CodebookID, b.CodebookReplaced, FlavaCodebook)
	}
	ref, err := flava.LoadImageCodebook(fixtures.CodebookDir(t, false))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if !equalIDs(codebookIDs(t, b.Codebook()), codebookIDs(t, ref)) {
		t.Error("the fallback codebook labels differently from the cached one")
	}

	// Offline with an empty cache: a clear error, not a worker failure.
	_, err = Load(context.Background(), model, Options{Hub: hub.Options{CacheDir: t.TempDir(), Offline: true}, NeedCodebook: true})
	if !errors.Is(err, hub.ErrOffline) || !strings.Contains(err.Error(), FlavaCodebook) || !strings.Contains(err.Error(), "not in the hub cache") {
		t.Errorf("offline, uncached codebook: %v", err)
	}
}

// The fallback codebook is downloaded into the cache once: a second load
// finds it there and asks the server nothing.
func TestFallbackCodebookIsDownloadedOnce(t *testing.T) {
	src := fixtures.CodebookDir(t, false)
	const commit = "3333333333333333333333333333333333333333"
	var listings, files atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/api/models/"+FlavaCodebook+"/revision/main", func(w http.ResponseWriter, r *http.Request) {
		listings.Add(1)
		var sib []map[string]any
		for _, f := range []string{"config.json", "model.safetensors"} {
			st, _ := os.Stat(filepath.Join(src, f))
			sib = append(sib, map[string]any{"rfilename": f, "size": st.Size()})
		}
		json.NewEncoder(w).Encode(map[string]any{"sha": commit, "siblings": sib})
	})
	mux.HandleFunc("/"+FlavaCodebook+"/resolve/"+commit+"/", func(w http.ResponseWriter, r *http.Request) {
		files.Add(1)
		http.ServeFile(w, r, filepath.Join(src, filepath.Base(r.URL.Path)))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	t.Setenv("HF_HUB_OFFLINE", "")
	cache := t.TempDir()
	model := fixtures.NoCodebookModelDir(t, "")
	opts := Options{Hub: hub.Options{CacheDir: cache, Endpoint: srv.URL}, NeedCodebook: true}
	var first int32
	for i := range 2 {
		b, err := Load(context.Background(), model, opts)
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		if b.CodebookID != FlavaCodebook || b.Codebook() == nil {
			t.Fatalf("load %d: codebook id %q", i, b.CodebookID)
		}
		b.Close()
		if i == 0 {
			first = listings.Load()
		}
		if n, l := files.Load(), listings.Load(); n != 2 || l != first {
			t.Fatalf("after load %d: %d file downloads and %d listings; want 2 (config.json, model.safetensors) and %d, all from the first load", i, n, l, first)
		}
	}
	if _, ok := CachedCodebook(FlavaCodebook, hub.Options{CacheDir: cache}); !ok {
		t.Error("the codebook is not in the cache layout")
	}
}

// An explicit CodebookSource replaces the checkpoint's own codebook, and the
// bundle says so.
func TestCodebookSourceReplacesTheCheckpointsOwn(t *testing.T) {
	model := fixtures.ModelDir(t, filepath.Join(fixtures.Root(t), "tiny"), "")
	own, err := Load(context.Background(), model, Options{NeedCodebook: true})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if own.CodebookID != model || own.CodebookReplaced {
		t.Fatalf("own codebook: id %q, replaced %v; want %q", own.CodebookID, own.CodebookReplaced, model)
	}
	other := fixtures.CodebookDir(t, true)
	b, err := Load(context.Background(), model, Options{CodebookSource: other})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.CodebookID != other || !b.CodebookReplaced {
		t.Fatalf("replaced codebook: id %q, replaced %v; want %q", b.CodebookID, b.CodebookReplaced, other)
	}
	ref, err := flava.LoadImageCodebook(other)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	got, mine, want := codebookIDs(t, b.Codebook()), codebookIDs(t, own.Codebook()), codebookIDs(t, ref)
	if !equalIDs(got, want) {
		t.Error("the bundle's codebook does not label as the codebook passed")
	}
	if equalIDs(got, mine) {
		t.Fatal("test codebook labels as the checkpoint's own: the replacement is not observable")
	}

	// The built-in model takes a codebook source too.
	tb, err := Load(context.Background(), TinyRandom, Options{NeedCodebook: true})
	if err != nil || tb.CodebookID != TinyRandom {
		t.Fatalf("tiny-random own codebook: %v, id %q", err, tb.CodebookID)
	}
}
