// Package modelfile opens the files of a model directory that may not be
// trusted: a folder downloaded from a hub, unpacked from an archive or
// mounted from shared storage. Two things can go wrong there before any
// parser runs, and the parsers' own size caps do not see them:
//
//   - a symbolic link (config.json -> /etc/passwd, a shard -> ../../other)
//     makes the loader read a file the directory's owner did not ship;
//   - a name that is not a regular file (a FIFO blocks the open forever;
//     /dev/zero or /dev/urandom has no size and never ends) makes a plain
//     os.ReadFile block or allocate without bound.
//
// Confine checks the first: a file named from inside a directory must
// resolve, through every link, to a file inside that directory (a Hugging
// Face cache snapshot, <repo>/snapshots/<rev>/, links its files into
// <repo>/blobs/, so there the whole <repo> folder is allowed). ReadFile
// checks the second and caps the size it reads; Read does both. The loaders in model/
// (checkpoint, flava, tokenizer, imageproc, pretrained) use both for every
// file they find in a directory; a file the caller names explicitly is
// still confined to being a regular file of bounded size.
//
// It is written here rather than taken from a library because it is a few
// lines over os and path/filepath, and the allowance for the HF cache layout
// is specific to model folders.
package modelfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrOutside: a file found inside a model directory resolves, through
// symbolic links, to a file outside that directory.
var ErrOutside = errors.New("model file resolves outside its model directory")

// ErrNotRegular: a model file is not a regular file (a directory, FIFO,
// socket or device).
var ErrNotRegular = errors.New("model file is not a regular file")

// ErrTooLarge: a model file is larger than its reader's cap.
var ErrTooLarge = errors.New("model file too large")

// Confine returns the real path of p, a file named from inside directory
// root, after checking that it resolves inside root (see the package doc
// for the Hugging Face cache allowance). A p that does not exist is
// returned as is, for the caller to report as missing.
func Confine(root, p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		return "", err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	allowed := []string{realRoot}
	if parent := filepath.Dir(realRoot); filepath.Base(parent) == "snapshots" {
		allowed = append(allowed, filepath.Dir(parent))
	}
	for _, a := range allowed {
		if rel, err := filepath.Rel(a, real); err == nil && filepath.IsLocal(rel) {
			return real, nil
		}
	}
	return "", fmt.Errorf("%w: %s resolves to %s, outside %s", ErrOutside, p, real, realRoot)
}

// Open opens path for reading after checking that it is a regular file
// (following links). The check is made on the opened file, so the file
// cannot be swapped between the check and the read; a FIFO is refused
// before it is opened, since opening one blocks until a writer appears.
func Open(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is %s", ErrNotRegular, path, kind(st.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is %s", ErrNotRegular, path, kind(st.Mode()))
	}
	return f, nil
}

// ReadFile reads a whole regular file of at most max bytes. The cap holds
// even when the file grows while it is read.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrTooLarge, path, st.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: %s is more than %d bytes", ErrTooLarge, path, max)
	}
	return data, nil
}

// Read reads path, a file the caller found inside model directory dir
// (Confine; dir "" when the caller was given path itself and only the
// regular-file and size checks apply), of at most max bytes. An error of
// this package (ErrOutside, ErrNotRegular, ErrTooLarge) is also wrapped in
// the caller's sentinel, so callers' errors.Is checks keep working; other
// errors (a missing file) are returned as they are.
func Read(dir, path string, max int64, sentinel error) ([]byte, error) {
	if dir != "" {
		if _, err := Confine(dir, path); err != nil {
			return nil, wrap(sentinel, err)
		}
	}
	data, err := ReadFile(path, max)
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrNotRegular) {
		return nil, wrap(sentinel, err)
	}
	return data, err
}

func wrap(sentinel, err error) error {
	if sentinel == nil || errors.Is(err, sentinel) {
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	}
	return "not a regular file (" + m.String() + ")"
}
