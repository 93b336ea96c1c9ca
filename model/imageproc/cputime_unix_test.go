//go:build unix

package imageproc

import "syscall"

// cpuSeconds is the process's user+system CPU time: benchmarks report
// images per CPU second next to images per second, since on a shared,
// loaded machine wall time moves with other people's load.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
