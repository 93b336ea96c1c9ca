//go:build !amd64 || purego

package kernels

// fmaPeak has no portable form: it reports 0 flops.
func fmaPeak(int) float64 { return 0 }
