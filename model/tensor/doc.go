// Package tensor holds the small concrete tensor types the model packages pass
// around: a shape and a flat, row-major backing slice. There is deliberately no
// interface hierarchy, no broadcasting engine and no autograd; kernels operate
// on the raw slices. It imports only the standard library.
package tensor
