//go:build unix

package flava

import "syscall"

// cpuSeconds is the process's user+system CPU time. The benchmarks report
// it per op ("cpu-s/op"): on a shared machine wall time moves with other
// people's load, while CPU seconds per op measure the work done.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
