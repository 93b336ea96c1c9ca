//go:build !amd64 || purego

package kernels

// fmaPeakISA has no portable form: it reports 0 flops.
func fmaPeakISA(string, int) float64 { return 0 }

// fmaPeak has no portable form: it reports 0 flops.
func fmaPeak(int) float64 { return 0 }
