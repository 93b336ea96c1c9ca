//go:build !unix

package checkpoint

func mapFile(path string) ([]byte, func() error, error) { return readWhole(path) }
