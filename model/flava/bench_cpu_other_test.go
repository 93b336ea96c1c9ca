//go:build !unix

package flava

// cpuSeconds is unavailable here; reportCPU then reports nothing.
func cpuSeconds() float64 { return 0 }
