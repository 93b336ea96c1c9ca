//go:build unix

package kernels

import "syscall"

// cpuSeconds is the process's user+system CPU time. Benchmarks divide their
// flops by it ("GFLOP/cpu-s"): on a shared, loaded machine wall time moves
// with other people's load, CPU seconds much less.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
