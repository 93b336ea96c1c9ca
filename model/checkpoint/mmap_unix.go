//go:build unix

package checkpoint

import (
	"fmt"
	"syscall"

	"github.com/flavabeam/flavabeam/model/internal/modelfile"
)

// mapFile maps a file read-only; an empty file is returned as an empty slice.
func mapFile(path string) ([]byte, func() error, error) {
	f, err := modelfile.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	if size != int64(int(size)) {
		return nil, nil, fmt.Errorf("%w: %s is too large to map", ErrUnsupported, path)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readWhole(path)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
