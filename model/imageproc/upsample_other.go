//go:build !amd64 || purego

package imageproc

func h2v2Interior(dst, near, far []uint8) int { return 0 }

func h2v1Interior(dst, in []uint8) int { return 0 }
