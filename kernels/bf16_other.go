//go:build !amd64 || purego

package kernels

var bf16Native = false
