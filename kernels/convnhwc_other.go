//go:build !amd64 || purego

package kernels

// Without the assembly, Conv2DNHWC runs convKernelGo (convnhwc.go).
