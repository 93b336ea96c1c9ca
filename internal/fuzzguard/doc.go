// Package fuzzguard is a per-input time and memory watchdog for fuzz targets.
// Go's fuzzer reports only crashes and failed tests: an input that hangs, or
// that makes the code under test allocate gigabytes and then return an
// error, passes silently (the worker just stalls or swaps). Run turns both
// into failures, so the fuzzer saves the input under testdata/fuzz as a
// regression seed:
//
//   - an input whose run allocates more than Limits.Alloc bytes in total
//     (the runtime's cumulative heap-allocation counter, so a 4 GiB buffer
//     that is freed again before the function returns still counts) fails
//     the test with t.Fatalf when the run ends;
//   - an input still running after Limits.Time, or whose allocations pass
//     Limits.Alloc while it runs, makes the watchdog goroutine print every
//     goroutine's stack and panic, ending the process: a hang cannot be
//     stopped any other way, and a runaway allocation must be stopped before
//     it takes the machine. The fuzzer sees its worker die and saves the
//     input (it reports only "fuzzing process hung or terminated
//     unexpectedly"; `go test -run=FuzzX/<file>` replays the saved input and
//     prints the watchdog's message and stacks); under plain go test the run
//     fails with the same message.
//
// It imports the standard library only and is meant for _test.go files of
// every layer (test imports do not count in internal/layering's check).
// It does not limit goroutines, file descriptors or stack depth (the
// runtime's 1 GB stack limit already ends unbounded recursion), and its
// allocation count is process-wide: work that other goroutines do while an
// input runs is charged to that input, so targets using it must not call
// t.Parallel.
package fuzzguard
