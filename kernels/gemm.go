package kernels

import "fmt"

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X or Xᵀ. op(A) is m×k, op(B) is k×n and C is m×n; lda, ldb and ldc
// are the row strides of the matrices as stored (so a head's slice of a wider
// activation matrix can be used without copying). When beta is 0, C is not
// read (NaNs in it do not propagate), as in BLAS.
//
// It packs A and B into cache-sized panels and runs a register-blocked
// micro-kernel (AVX-512 or AVX2+FMA assembly on amd64 when the CPU has it,
// chosen by defaultGEMMPath, plain Go otherwise), splitting large products
// over the kernel pool by column or row panels of C. In steady state it does
// not allocate.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	sgemmFast(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	switch {
	case m < 0 || n < 0 || k < 0:
		panic(fmt.Sprintf("kernels: Sgemm negative size m=%d n=%d k=%d", m, n, k))
	case ar > 0 && ac > 0 && (lda < ac || len(a) < (ar-1)*lda+ac):
		panic(fmt.Sprintf("kernels: Sgemm A %dx%d lda=%d len=%d", ar, ac, lda, len(a)))
	case br > 0 && bc > 0 && (ldb < bc || len(b) < (br-1)*ldb+bc):
		panic(fmt.Sprintf("kernels: Sgemm B %dx%d ldb=%d len=%d", br, bc, ldb, len(b)))
	case m > 0 && n > 0 && (ldc < n || len(c) < (m-1)*ldc+n):
		panic(fmt.Sprintf("kernels: Sgemm C %dx%d ldc=%d len=%d", m, n, ldc, len(c)))
	}
}

// sgemmRef is the plain-Go reference for rows [lo, hi) of C.
func sgemmRef(transA, transB bool, lo, hi, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := lo; i < hi; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		if k == 0 || alpha == 0 {
			continue
		}
		if transB {
			for j := 0; j < n; j++ {
				bj := b[j*ldb : j*ldb+k]
				var s float32
				if transA {
					for p := 0; p < k; p++ {
						s += a[p*lda+i] * bj[p]
					}
				} else {
					ai := a[i*lda : i*lda+k]
					for p, v := range ai {
						s += v * bj[p]
					}
				}
				ci[j] += alpha * s
			}
			continue
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if av == 0 {
				continue
			}
			bp := b[p*ldb : p*ldb+n]
			for j, v := range bp {
				ci[j] += av * v
			}
		}
	}
}

// Linear computes dst = x·wᵀ + bias, PyTorch's nn.Linear: x is rows×in, w is
// out×in (the state-dict layout), bias has out values or is nil, dst is
// rows×out.
func Linear(dst, x []float32, rows, in, out int, w, bias []float32) {
	Sgemm(false, true, rows, out, in, 1, x, in, w, in, 0, dst, out)
	if bias != nil {
		AddBias(dst, rows, out, bias)
	}
}

// AddBias adds bias (cols values) to every row of x (rows×cols). Large
// matrices are split by rows over the kernel pool: run alone on one core
// after a two-thread GEMM, the pass took 10–15 % of the time of
// SgemmPacked 197×768×3072 and 1576×768×3072 (BenchmarkSgemmPacked,
// packed+bias, in BENCHMARKS.kernels.md).
func AddBias(x []float32, rows, cols int, bias []float32) {
	if len(bias) != cols || len(x) < rows*cols {
		panic(fmt.Sprintf("kernels: AddBias %dx%d with %d-bias over %d values", rows, cols, len(bias), len(x)))
	}
	if rows*cols >= 2*elementwiseGrain && cols > 0 && Threads() > 1 {
		j := biasJobPool.get()
		*j = biasJob{x: x, bias: bias, cols: cols}
		parallelRun(rows, max(1, elementwiseGrain/cols), j)
		*j = biasJob{}
		biasJobPool.put(j)
		return
	}
	addBiasRows(x, 0, rows, cols, bias)
}

func addBiasRows(x []float32, lo, hi, cols int, bias []float32) {
	for r := lo; r < hi; r++ {
		row := x[r*cols : (r+1)*cols]
		addVec(row, row, bias)
	}
}

// biasJob is AddBias split over the pool by rows, without allocating.
type biasJob struct {
	x, bias []float32
	cols    int
}

var biasJobPool freeList[biasJob]

func (j *biasJob) run(lo, hi int) { addBiasRows(j.x, lo, hi, j.cols, j.bias) }

// Add sets dst[i] = a[i] + b[i]; dst may alias a or b.
func Add(dst, a, b []float32) {
	if len(a) != len(dst) || len(b) != len(dst) {
		panic(fmt.Sprintf("kernels: Add of %d, %d into %d", len(a), len(b), len(dst)))
	}
	addVec(dst, a, b)
}

// Scale multiplies every element of x by s.
func Scale(x []float32, s float32) { scale(x, s) }
