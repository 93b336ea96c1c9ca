#!/usr/bin/env python3
"""Same-run baseline for kernels' BenchmarkSgemm: numpy (+ its BLAS, OpenBLAS on
Debian) at the same Linear-layout shapes, C = X @ W.T with X m×k, W n×k.

Usage: scripts/bench/sgemm_numpy.py [threads ...]   (default: 1 2)

Each thread count runs in a fresh interpreter because OpenBLAS reads
OPENBLAS_NUM_THREADS once at import. Prints one line per shape, in the
units BenchmarkSgemm reports (GFLOP/s, median of the timed repetitions).
"""
import os
import subprocess
import sys

SHAPES = [(197, 768, 768), (197, 768, 3072), (1576, 768, 3072)]  # m, k, n

CHILD = r"""
import statistics, sys, time
import numpy as np
rng = np.random.default_rng(1)
for m, k, n in %r:
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((n, k), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(x, w.T, out=c)
    reps = max(3, int(2e10 / (2 * m * n * k)))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        np.matmul(x, w.T, out=c)
        times.append(time.perf_counter() - t0)
    gf = 2 * m * n * k / statistics.median(times) / 1e9
    print(f"numpy sgemm {m}x{k}x{n} threads=%d: {gf:.1f} GFLOP/s (median of {reps})")
"""


def main(argv):
    threads = [int(a) for a in argv] or [1, 2]
    for t in threads:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
        subprocess.run([sys.executable, "-c", CHILD % (SHAPES, t)], env=env, check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
