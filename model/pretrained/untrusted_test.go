package pretrained

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flavabeam/flavabeam/internal/fixtures"
)

// A model directory is untrusted (issue 15): none of the small files a load
// reads from it — config, tokenizer files, image settings — may lead the
// loader out of the directory through a symbolic link, or make it block or
// read without end (a FIFO, /dev/zero).
func TestLoadRefusesHostileModelFiles(t *testing.T) {
	src := fixtures.Dirs(t, "config.json", "model.safetensors")[0]
	files := []struct {
		name    string
		content string // "" keeps the fixture's file
	}{
		{"config.json", ""},
		{"vocab.txt", ""},
		{"tokenizer.json", `{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}}`},
		{"tokenizer_config.json", `{"do_lower_case": true}`},
		{"preprocessor_config.json", `{"image_mean": [0.5, 0.5, 0.5]}`},
		{"processor_config.json", `{"image_processor": {"image_mean": [0.5, 0.5, 0.5]}}`},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			// The plain file loads (or at least does not fail for its
			// place): the hostile variants below are what differs.
			newDir := func(t *testing.T) (dir, content string) {
				dir = fixtures.ModelDir(t, src, "")
				content = f.content
				if content == "" {
					b, err := os.ReadFile(filepath.Join(dir, f.name))
					if err != nil {
						t.Fatal(err)
					}
					content = string(b)
				}
				os.Remove(filepath.Join(dir, f.name))
				return dir, content
			}
			load := func(dir string) error {
				done := make(chan error, 1)
				go func() {
					b, err := Load(context.Background(), dir, Options{})
					if err == nil {
						b.Close()
					}
					done <- err
				}()
				select {
				case err := <-done:
					return err
				case <-time.After(2 * time.Minute):
					t.Fatalf("Load of %s did not return in 2 minutes", f.name)
					return nil
				}
			}

			t.Run("link-outside", func(t *testing.T) {
				dir, content := newDir(t)
				outside := filepath.Join(t.TempDir(), "secret-"+f.name)
				if err := os.WriteFile(outside, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(outside, filepath.Join(dir, f.name)); err != nil {
					t.Skipf("symlinks unavailable: %v", err)
				}
				err := load(dir)
				if err == nil || !strings.Contains(err.Error(), "outside") || !strings.Contains(err.Error(), "secret-"+f.name) {
					t.Errorf("%s linked outside the model directory: %v, want an error naming the target", f.name, err)
				}
			})
			t.Run("link-inside", func(t *testing.T) {
				dir, content := newDir(t)
				if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "sub", f.name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join("sub", f.name), filepath.Join(dir, f.name)); err != nil {
					t.Skipf("symlinks unavailable: %v", err)
				}
				if err := load(dir); err != nil && strings.Contains(err.Error(), "outside") {
					t.Errorf("%s linked inside the model directory refused: %v", f.name, err)
				}
			})
			t.Run("dev-zero", func(t *testing.T) {
				if _, err := os.Stat("/dev/zero"); err != nil {
					t.Skip("no /dev/zero")
				}
				dir, _ := newDir(t)
				// A link to a device resolves outside too; a device inside
				// the directory is what the regular-file check is for, so
				// link from a directory whose root is / (the device is then
				// "inside").
				if err := os.Symlink("/dev/zero", filepath.Join(dir, f.name)); err != nil {
					t.Skipf("symlinks unavailable: %v", err)
				}
				if err := load(dir); err == nil {
					t.Errorf("%s -> /dev/zero loaded", f.name)
				}
			})
			t.Run("fifo", func(t *testing.T) {
				dir, _ := newDir(t)
				if err := syscall.Mkfifo(filepath.Join(dir, f.name), 0o644); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
				err := load(dir)
				if err == nil || !strings.Contains(err.Error(), "not a regular file") && !strings.Contains(err.Error(), "named pipe") {
					t.Errorf("%s as a FIFO: %v, want a not-a-regular-file error", f.name, err)
				}
			})
		})
	}
}
