//go:build !unix

package imageproc

// cpuSeconds is unavailable here; the images/cpu-s metric is then omitted.
func cpuSeconds() float64 { return 0 }
