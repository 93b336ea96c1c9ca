// Package kernels holds the float32 compute primitives the FLAVA model needs:
// matrix multiplication (Sgemm, Linear), layer normalisation, softmax,
// activations, 2-D convolution, max pooling and bicubic interpolation, all on
// plain []float32 in row-major order.
//
// Every routine has a plain-Go reference implementation; faster paths (assembly
// for amd64) must produce results within float32 rounding of it and are tested
// against it. Work is spread over one per-process pool of worker tokens
// (SetThreads), so concurrent callers — for example several Beam bundles in one
// worker process — share the cores instead of oversubscribing them.
//
// This package imports only the standard library and golang.org/x/sys/cpu. It
// does not know about tensors, shapes beyond what each call takes, or models.
// Shape mismatches are programmer errors and panic.
package kernels
