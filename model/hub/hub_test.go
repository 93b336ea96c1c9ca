package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

const testCommit = "0123456789abcdef0123456789abcdef01234567"

// fakeHub serves the Hub's API, resolve and (redirected) CDN routes.
type fakeHub struct {
	files      map[string][]byte // name -> content
	lfs        map[string]bool   // served with a SHA-256 in the listing
	listSHA    map[string]string // override the listed SHA-256 (corruption test)
	token      string
	cutAfter   int64 // first full GET of an LFS file stops after this many bytes
	cut        atomic.Bool
	rangeSeen  atomic.Int64
	apiCalls   atomic.Int64
	blobServes atomic.Int64
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/models/org/model/revision/"):
		h.apiCalls.Add(1)
		type lfs struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		}
		type sib struct {
			RFilename string `json:"rfilename"`
			LFS       *lfs   `json:"lfs,omitempty"`
		}
		var sibs []sib
		for name, b := range h.files {
			s := sib{RFilename: name}
			if h.lfs[name] {
				sha := sum(b)
				if o, ok := h.listSHA[name]; ok {
					sha = o
				}
				s.LFS = &lfs{SHA256: sha, Size: int64(len(b))}
			}
			sibs = append(sibs, s)
		}
		json.NewEncoder(w).Encode(map[string]any{"sha": testCommit, "siblings": sibs})
	case strings.HasPrefix(r.URL.Path, "/org/model/resolve/"+testCommit+"/"):
		name := strings.TrimPrefix(r.URL.Path, "/org/model/resolve/"+testCommit+"/")
		b, ok := h.files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if h.lfs[name] {
			w.Header().Set("X-Linked-Etag", `"`+sum(b)+`"`)
			http.Redirect(w, r, "/cdn/"+name, http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"gitsha-`+strconv.Itoa(len(b))+`"`)
		w.Write(b)
	case strings.HasPrefix(r.URL.Path, "/cdn/"):
		h.blobServes.Add(1)
		b := h.files[strings.TrimPrefix(r.URL.Path, "/cdn/")]
		if rg := r.Header.Get("Range"); rg != "" {
			h.rangeSeen.Add(1)
			var from int64
			fmt.Sscanf(rg, "bytes=%d-", &from)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(b)-1, len(b)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(b[from:])
			return
		}
		if h.cutAfter > 0 && !h.cut.Swap(true) {
			// Claim the full length, send part, then drop the connection.
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b[:h.cutAfter])
			if hj, ok := w.(http.Hijacker); ok {
				w.(http.Flusher).Flush()
				c, _, _ := hj.Hijack()
				c.Close()
			}
			return
		}
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

func newFakeHub() *fakeHub {
	weights := bytes.Repeat([]byte("weights!"), 40000)
	return &fakeHub{
		files: map[string][]byte{"config.json": []byte(`{"model_type":"flava"}`), "pytorch_model.bin": weights},
		lfs:   map[string]bool{"pytorch_model.bin": true},
	}
}

func testOpts(t *testing.T, srv *httptest.Server) Options {
	return Options{Endpoint: srv.URL, CacheDir: t.TempDir(), Client: srv.Client()}
}

func TestDownloadBuildsTheHubCacheLayout(t *testing.T) {
	fh := newFakeHub()
	srv := httptest.NewServer(fh)
	defer srv.Close()
	opts := testOpts(t, srv)
	snap, err := Download(context.Background(), "org/model", []string{"config.json", "pytorch_model.bin"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(opts.CacheDir, "models--org--model", "snapshots", testCommit); snap != want {
		t.Fatalf("snapshot %s, want %s", snap, want)
	}
	got, err := os.ReadFile(filepath.Join(snap, "pytorch_model.bin"))
	if err != nil || !bytes.Equal(got, fh.files["pytorch_model.bin"]) {
		t.Fatalf("weights differ (err %v)", err)
	}
	if _, err := os.Stat(filepath.Join(opts.CacheDir, "models--org--model", "blobs", sum(fh.files["pytorch_model.bin"]))); err != nil {
		t.Fatalf("LFS blob not named by its sha256: %v", err)
	}
	ref, _ := os.ReadFile(filepath.Join(opts.CacheDir, "models--org--model", "refs", "main"))
	if string(ref) != testCommit {
		t.Fatalf("refs/main = %q", ref)
	}
	// A second call is served from the cache: no API call, no blob fetch.
	calls := fh.apiCalls.Load()
	if _, err := Download(context.Background(), "org/model", []string{"config.json", "pytorch_model.bin"}, opts); err != nil {
		t.Fatal(err)
	}
	if fh.apiCalls.Load() != calls {
		t.Fatal("cached files were looked up again")
	}
	// Offline mode finds the same snapshot and never touches the network.
	opts.Offline = true
	opts.Endpoint = "http://127.0.0.1:1" // unreachable on purpose
	if s, err := Download(context.Background(), "org/model", []string{"config.json"}, opts); err != nil || s != snap {
		t.Fatalf("offline: %q, %v", s, err)
	}
}

func TestDownloadResumesWithRangeRequests(t *testing.T) {
	fh := newFakeHub()
	fh.cutAfter = 100000
	srv := httptest.NewServer(fh)
	defer srv.Close()
	opts := testOpts(t, srv)
	_, err := Download(context.Background(), "org/model", []string{"pytorch_model.bin"}, opts)
	if err == nil {
		t.Fatal("first attempt: want an error from the dropped connection")
	}
	snap, err := Download(context.Background(), "org/model", []string{"pytorch_model.bin"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fh.rangeSeen.Load() != 1 {
		t.Fatalf("range requests = %d, want 1", fh.rangeSeen.Load())
	}
	got, _ := os.ReadFile(filepath.Join(snap, "pytorch_model.bin"))
	if !bytes.Equal(got, fh.files["pytorch_model.bin"]) {
		t.Fatal("resumed file differs")
	}
}

func TestDownloadCatchesCorruptionByHash(t *testing.T) {
	fh := newFakeHub()
	fh.listSHA = map[string]string{"pytorch_model.bin": strings.Repeat("ab", 32)}
	srv := httptest.NewServer(fh)
	defer srv.Close()
	opts := testOpts(t, srv)
	_, err := Download(context.Background(), "org/model", []string{"pytorch_model.bin"}, opts)
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	if _, statErr := os.Stat(filepath.Join(opts.RepoDir("org/model"), "snapshots", testCommit, "pytorch_model.bin")); statErr == nil {
		t.Fatal("a corrupted file was linked into the snapshot")
	}
}

func TestDownloadErrors(t *testing.T) {
	fh := newFakeHub()
	fh.token = "secret"
	srv := httptest.NewServer(fh)
	defer srv.Close()
	opts := testOpts(t, srv)
	if _, err := Download(context.Background(), "org/model", []string{"config.json"}, opts); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("no token: %v, want ErrUnauthorized", err)
	}
	opts.Token = "secret"
	if _, err := Download(context.Background(), "org/model", []string{"nope.bin"}, opts); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing file: %v, want ErrNotFound", err)
	}
	if _, err := Download(context.Background(), "org/model", []string{"../escape"}, opts); !errors.Is(err, ErrBadRepoID) {
		t.Fatalf("path escape: %v, want ErrBadRepoID", err)
	}
	if _, err := Download(context.Background(), "../x", nil, opts); !errors.Is(err, ErrBadRepoID) {
		t.Fatalf("bad repo id: %v", err)
	}
	opts.Offline = true
	if _, err := Download(context.Background(), "org/model", []string{"config.json"}, opts); !errors.Is(err, ErrOffline) {
		t.Fatalf("offline, not cached: %v, want ErrOffline", err)
	}
}

func TestDefaultCacheDirHonoursEnvironment(t *testing.T) {
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_HOME", "/x/hf")
	if d := DefaultCacheDir(); d != "/x/hf/hub" {
		t.Fatalf("HF_HOME: %s", d)
	}
	t.Setenv("HF_HUB_CACHE", "/y/cache")
	if d := DefaultCacheDir(); d != "/y/cache" {
		t.Fatalf("HF_HUB_CACHE: %s", d)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	if !(Options{}).FromEnv().Offline {
		t.Fatal("HF_HUB_OFFLINE=1 not honoured")
	}
}
