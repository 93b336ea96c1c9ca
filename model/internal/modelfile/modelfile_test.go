package modelfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestReadFileCapsAndRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(p, 10); err != nil || string(b) != "0123456789" {
		t.Fatalf("ReadFile at the cap: %q, %v", b, err)
	}
	if _, err := ReadFile(p, 9); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile over the cap: %v, want ErrTooLarge", err)
	}
	if _, err := ReadFile(dir, 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadFile of a directory: %v, want ErrNotRegular", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := ReadFile("/dev/zero", 1<<20); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadFile of /dev/zero: %v, want ErrNotRegular", err)
		}
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err == nil {
		// Opening a FIFO would block until a writer appears.
		if _, err := ReadFile(fifo, 1<<20); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadFile of a FIFO: %v, want ErrNotRegular", err)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "absent"), 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v, want ErrNotExist", err)
	}
}

func TestConfineAllowsTheHubCacheLayout(t *testing.T) {
	cache := t.TempDir()
	repo := filepath.Join(cache, "models--org--m")
	blob := filepath.Join(repo, "blobs", "abc")
	snap := filepath.Join(repo, "snapshots", "rev")
	for _, d := range []string{filepath.Dir(blob), snap} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(blob, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../blobs/abc", filepath.Join(snap, "config.json")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	if b, err := Read(snap, filepath.Join(snap, "config.json"), 10, nil); err != nil || string(b) != "{}" {
		t.Errorf("snapshot file linked into blobs/: %q, %v", b, err)
	}
	// Outside the repo folder is outside, even from a snapshot.
	other := filepath.Join(cache, "elsewhere.json")
	os.WriteFile(other, []byte("{}"), 0o644)
	if err := os.Symlink(other, filepath.Join(snap, "vocab.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(snap, filepath.Join(snap, "vocab.txt"), 10, nil); !errors.Is(err, ErrOutside) {
		t.Errorf("snapshot file linked out of its repo: %v, want ErrOutside", err)
	}
	// A plain directory gets no such allowance.
	plain := filepath.Join(cache, "plain")
	os.MkdirAll(plain, 0o755)
	if err := os.Symlink(blob, filepath.Join(plain, "config.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(plain, filepath.Join(plain, "config.json"), 10, nil); !errors.Is(err, ErrOutside) {
		t.Errorf("plain folder linked out: %v, want ErrOutside", err)
	}
}

func TestReadWrapsTheCallersSentinel(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	os.WriteFile(p, []byte("12345"), 0o644)
	sentinel := errors.New("pkg: bad config")
	_, err := Read(dir, p, 4, sentinel)
	if !errors.Is(err, sentinel) || !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the cap: %v, want both the sentinel and ErrTooLarge", err)
	}
	if _, err := Read(dir, filepath.Join(dir, "absent"), 4, sentinel); errors.Is(err, sentinel) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist alone", err)
	}
}
