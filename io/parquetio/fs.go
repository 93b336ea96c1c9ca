package parquetio

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // plain paths
)

// openedFile is a Parquet file opened for random access.
type openedFile struct {
	r    io.ReaderAt
	size int64
	c    io.Closer
}

func (f *openedFile) Close() error {
	if f.c != nil {
		return f.c.Close()
	}
	return nil
}

// openFile opens path for random access through Beam's filesystem registry.
// Filesystems whose readers are not io.ReaderAt (object stores) are read
// whole into memory.
func openFile(ctx context.Context, path string) (*openedFile, error) {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	size, err := fs.Size(ctx, path)
	if err != nil {
		return nil, err
	}
	rc, err := fs.OpenRead(ctx, path)
	if err != nil {
		return nil, err
	}
	if ra, ok := rc.(io.ReaderAt); ok {
		return &openedFile{r: ra, size: size, c: rc}, nil
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return &openedFile{r: bytes.NewReader(b), size: int64(len(b))}, nil
}

// listGlob expands a glob through Beam's filesystem registry.
func listGlob(ctx context.Context, glob string) ([]string, error) {
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	return fs.List(ctx, glob)
}

// writeAtomically writes a file by calling fill on a temporary file next to
// path and renaming it to path once fill and Close succeed. Filesystems
// without rename get copy+remove, or else a direct write.
func writeAtomically(ctx context.Context, path string, fill func(io.Writer) error) (err error) {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return err
	}
	defer fs.Close()
	var nonce [6]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return err
	}
	tmp := path + ".tmp-" + hex.EncodeToString(nonce[:])
	renamer, canRename := fs.(filesystem.Renamer)
	copier, canCopy := fs.(filesystem.Copier)
	remover, canRemove := fs.(filesystem.Remover)
	target := tmp
	if !canRename && !(canCopy && canRemove) {
		target = path
	}
	w, err := fs.OpenWrite(ctx, target)
	if err != nil {
		return err
	}
	if err := fill(w); err != nil {
		w.Close()
		if canRemove {
			remover.Remove(ctx, target)
		}
		return err
	}
	if err := w.Close(); err != nil {
		if canRemove {
			remover.Remove(ctx, target)
		}
		return err
	}
	switch {
	case target == path:
		return nil
	case canRename:
		return renamer.Rename(ctx, tmp, path)
	default:
		if err := copier.Copy(ctx, tmp, path); err != nil {
			return fmt.Errorf("copy %s to %s: %w", tmp, path, err)
		}
		return remover.Remove(ctx, tmp)
	}
}
