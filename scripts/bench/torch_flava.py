#!/usr/bin/env python3
"""PyTorch peer of flavabeam's Go benchmarks: transformers' FLAVA on the same shapes.

Runs Hugging Face transformers' FlavaImageModel, FlavaTextModel,
FlavaMultimodalModel and FlavaImageCodebook with the flava-full architecture
(FlavaConfig() / FlavaImageCodebookConfig() defaults, random weights, nothing
downloaded), float32, eval mode, under torch.no_grad(), on the inputs the Go
benchmarks in model/flava feed, at 1 and 2 threads. A numpy section times the
Go sgemm benchmark's layout (C = X @ W.T, float32) in OpenBLAS, the peer of
kernels.BenchmarkSgemm.

Prints one JSON object per line on stdout:
  {"kind": "meta", ...}                     versions, CPU, BLAS kernel in use
  {"kind": "model", "case": "image/b8", "threads": 2, "config": "torch2+blas2",
   "items_per_s": ..., "unit": "images/s", "gflops": ..., "iters": ..., ...}
  {"kind": "sgemm", "case": "197x768x3072", "threads": 1, "impl": "numpy",
   "gflops": ..., ...}

Case names are shared with report.py, which pairs them with the Go results.

Threads. torch.set_num_threads controls torch's own (OpenMP) threads, but on
Debian's python3-torch the matmuls run in OpenBLAS, whose pool it does not
control; threadpoolctl sets that one. For 2 threads two configurations are
measured (see --two-thread-configs): "torch2+blas2" (both pools at 2, with
OMP_WAIT_POLICY=PASSIVE so idle OpenMP threads do not spin against OpenBLAS)
and "torch1+blas2"; report.py compares Go against the faster of the two, so
PyTorch gets its best 2-core setting.

Only the standard library, numpy, torch, transformers and threadpoolctl are used.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

# Must be set before torch (libgomp) is loaded; compare.sh sets it too.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import threadpoolctl  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import (  # noqa: E402
    FlavaConfig,
    FlavaImageCodebook,
    FlavaImageCodebookConfig,
    FlavaImageModel,
    FlavaMultimodalModel,
    FlavaTextModel,
)

# Every model case: name -> (model, batch, extra, unit). The inputs mirror
# model/flava/bench_test.go and codebook_bench_test.go value for value.
MODEL_CASES = {
    "image/b1": ("image", 1, 224, "images/s"),
    "image/b8": ("image", 8, 224, "images/s"),
    "text/b8x77": ("text", 8, 77, "texts/s"),
    "text/b8x16": ("text", 8, 16, "texts/s"),
    "multimodal/b8": ("multimodal", 8, 197 + 77, "pairs/s"),
    "codebook/b1": ("codebook", 1, 112, "images/s"),
    "codebook/b8": ("codebook", 8, 112, "images/s"),
}

# kernels.BenchmarkSgemm shapes as M x K x N (its sub-benchmark names).
SGEMM_SHAPES = [(197, 768, 768), (197, 768, 3072), (1576, 768, 3072)]


def encoder_flops(seq, hidden, inter, layers):
    """model/flava/bench_test.go encoderFLOPs: 2 x multiply-adds of one sequence."""
    s, h, i = float(seq), float(hidden), float(inter)
    per_layer = 2 * s * h * 4 * h + 2 * 2 * s * s * h + 2 * 2 * s * h * i
    return per_layer * layers


def conv_flops(model, x):
    """2 x multiply-adds of every Conv2d for input x (what codebookFLOPs counts), per image."""
    total = [0.0]

    def hook(mod, _inp, out):
        kh, kw = mod.kernel_size
        total[0] += 2.0 * (mod.in_channels // mod.groups) * kh * kw * out.numel()

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for h in hs:
            h.remove()
    return total[0]


def bench_pixels(batch, size):
    # benchPixels: p[i] = (i % 251)/125 - 1 over the flat NCHW buffer.
    n = batch * 3 * size * size
    i = np.arange(n, dtype=np.int64)
    return torch.from_numpy(((i % 251).astype(np.float32) / 125 - 1).reshape(batch, 3, size, size))


def bench_ids(batch, seq):
    # benchIDs: 1000 + (37*i) % 20000.
    i = np.arange(batch * seq, dtype=np.int64)
    return torch.from_numpy((1000 + (37 * i) % 20000).reshape(batch, seq))


def bench_hidden(batch, seq, hidden):
    # BenchmarkMultimodalEncoder: x[i] = (i % 97)/97 - 0.5.
    i = np.arange(batch * seq * hidden, dtype=np.int64)
    return torch.from_numpy(((i % 97).astype(np.float32) / 97 - 0.5).reshape(batch, seq, hidden))


def codebook_pixels(batch, size):
    # BenchmarkCodebook112: 0.1 + 0.8 * uniform[0, 1).
    g = torch.Generator().manual_seed(3)
    return 0.1 + 0.8 * torch.rand(batch, 3, size, size, generator=g)


class Models:
    """Builds each flava-full sub-model once, lazily (random init is slow)."""

    def __init__(self):
        self.cfg = FlavaConfig()
        self.cb_cfg = FlavaImageCodebookConfig()
        self._m = {}

    def get(self, kind):
        if kind not in self._m:
            torch.manual_seed(42)
            if kind == "image":
                m = FlavaImageModel(self.cfg.image_config)
            elif kind == "text":
                m = FlavaTextModel(self.cfg.text_config)
            elif kind == "multimodal":
                m = FlavaMultimodalModel(self.cfg.multimodal_config)
            elif kind == "codebook":
                m = FlavaImageCodebook(self.cb_cfg)
            else:
                raise ValueError(kind)
            self._m[kind] = m.float().eval()
        return self._m[kind]


def make_case(models, name):
    """Returns (fn, items, flops_per_item, unit) for one model case."""
    kind, batch, extra, unit = MODEL_CASES[name]
    m = models.get(kind)
    if kind == "image":
        c = models.cfg.image_config
        x = bench_pixels(batch, extra)
        n_tok = (c.image_size // c.patch_size) ** 2 + 1
        flops = encoder_flops(n_tok, c.hidden_size, c.intermediate_size, c.num_hidden_layers)
        return (lambda: m(pixel_values=x)), batch, flops, unit
    if kind == "text":
        c = models.cfg.text_config
        ids = bench_ids(batch, extra)
        flops = encoder_flops(extra, c.hidden_size, c.intermediate_size, c.num_hidden_layers)
        return (lambda: m(input_ids=ids)), batch, flops, unit
    if kind == "multimodal":
        c = models.cfg.multimodal_config
        x = bench_hidden(batch, extra, c.hidden_size)
        seq = extra + (1 if c.use_cls_token else 0)
        flops = encoder_flops(seq, c.hidden_size, c.intermediate_size, c.num_hidden_layers)
        return (lambda: m(hidden_states=x)), batch, flops, unit
    # codebook: the MIM-label path, like Go's CodebookIndices.
    px = codebook_pixels(batch, extra)
    flops = conv_flops(m, px)
    return (lambda: m.get_codebook_indices(px)), batch, flops, unit


def timed(fn, warmup, min_iters, min_time):
    """Runs fn warmup times, then at least min_iters times and min_time seconds."""
    for _ in range(warmup):
        fn()
    iters, t0 = 0, time.perf_counter()
    while True:
        fn()
        iters += 1
        el = time.perf_counter() - t0
        if iters >= min_iters and el >= min_time:
            return iters, el


def thread_configs(threads, two_thread_configs):
    """(label, torch threads, blas threads) for a requested thread count."""
    if threads == 1:
        return [("torch1+blas1", 1, 1)]
    out = []
    for c in two_thread_configs:
        if c == "same":
            out.append((f"torch{threads}+blas{threads}", threads, threads))
        elif c == "blas":
            out.append((f"torch1+blas{threads}", 1, threads))
        else:
            raise ValueError(f"--two-thread-configs: unknown config {c!r} (want same, blas)")
    return out


def emit(obj):
    print(json.dumps(obj), flush=True)


def blas_info():
    return [
        {k: d.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "num_threads", "filepath")}
        for d in threadpoolctl.threadpool_info()
    ]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run_sgemm(threads_list, warmup, min_iters, min_time, with_torch):
    rng = np.random.default_rng(1)
    for m, k, n in SGEMM_SHAPES:
        x = rng.random((m, k), dtype=np.float32)
        w = rng.random((n, k), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        flop = 2.0 * m * n * k
        tx, tw, tc = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(c)
        for th in threads_list:
            impls = [("numpy", lambda: np.matmul(x, w.T, out=c))]
            if with_torch:
                impls.append(("torch", lambda: torch.matmul(tx, tw.t(), out=tc)))
            for impl, fn in impls:
                torch.set_num_threads(th)
                with threadpoolctl.threadpool_limits(limits=th, user_api="blas"):
                    iters, el = timed(fn, warmup, min_iters, min_time)
                emit({
                    "kind": "sgemm", "case": f"{m}x{k}x{n}", "threads": th, "impl": impl,
                    "gflops": flop * iters / el / 1e9, "iters": iters, "seconds": el,
                })


def run_models(cases, threads_list, two_thread_configs, warmup, min_iters, min_time):
    models = Models()
    # Build every model first so that construction never overlaps a timing.
    built = {}
    for name in cases:
        built[name] = make_case(models, name)
    for th in threads_list:
        for label, t_torch, t_blas in thread_configs(th, two_thread_configs):
            torch.set_num_threads(t_torch)
            with threadpoolctl.threadpool_limits(limits=t_blas, user_api="blas"):
                for name in cases:
                    fn, items, flops, unit = built[name]
                    with torch.no_grad():
                        iters, el = timed(fn, warmup, min_iters, min_time)
                    rate = items * iters / el
                    emit({
                        "kind": "model", "case": name, "threads": th, "config": label,
                        "items_per_s": rate, "unit": unit, "gflops": flops * rate / 1e9,
                        "iters": iters, "seconds": el,
                    })


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--cases", default=",".join(MODEL_CASES),
                   help="comma-separated model cases, or 'none' (default: all: %(default)s)")
    p.add_argument("--sgemm", choices=["on", "off"], default="on", help="numpy/OpenBLAS sgemm section (default on)")
    p.add_argument("--sgemm-torch", choices=["on", "off"], default="on",
                   help="also time torch.matmul on the sgemm shapes (default on)")
    p.add_argument("--two-thread-configs", default="same,blas",
                   help="for threads > 1: 'same' = torch N + OpenBLAS N, 'blas' = torch 1 + OpenBLAS N (default same,blas)")
    p.add_argument("--warmup", type=int, default=1, help="untimed calls per case (default 1)")
    p.add_argument("--min-iters", type=int, default=2, help="timed calls per case, at least (default 2)")
    p.add_argument("--min-time", type=float, default=6.0, help="timed seconds per model case, at least (default 6)")
    p.add_argument("--sgemm-min-time", type=float, default=2.0, help="timed seconds per sgemm case, at least (default 2)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: no warm-up, 1 timed call, no minimum time (numbers meaningless)")
    a = p.parse_args(argv)
    if a.quick:
        a.warmup, a.min_iters, a.min_time, a.sgemm_min_time = 0, 1, 0.0, 0.0
    try:
        a.threads = [int(t) for t in a.threads.split(",") if t]
    except ValueError:
        p.error(f"--threads: not a list of integers: {a.threads!r}")
    if not a.threads or min(a.threads) < 1:
        p.error("--threads: need positive thread counts")
    a.cases = [] if a.cases == "none" else [c for c in a.cases.split(",") if c]
    for c in a.cases:
        if c not in MODEL_CASES:
            p.error(f"--cases: unknown case {c!r} (known: {', '.join(MODEL_CASES)})")
    a.two_thread_configs = [c for c in a.two_thread_configs.split(",") if c]
    for c in a.two_thread_configs:
        if c not in ("same", "blas"):
            p.error(f"--two-thread-configs: unknown config {c!r} (want same, blas)")
    if not a.two_thread_configs:
        p.error("--two-thread-configs: empty")
    if a.warmup < 0 or a.min_iters < 1 or a.min_time < 0 or a.sgemm_min_time < 0:
        p.error("--warmup >= 0, --min-iters >= 1, --min-time and --sgemm-min-time >= 0")
    return a


def main(argv):
    a = parse_args(argv)
    # transformers 4.40 warns about its own internal use of a deprecated argument.
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    torch.set_grad_enabled(False)
    # Load OpenBLAS through both numpy and torch before reporting what runs.
    np.ones((4, 4), np.float32) @ np.ones((4, 4), np.float32)
    torch.ones(4, 4) @ torch.ones(4, 4)
    emit({
        "kind": "meta", "python": platform.python_version(), "torch": torch.__version__,
        "transformers": transformers.__version__, "numpy": np.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(), "cpu": cpu_model(), "ncpu": os.cpu_count(),
        "blas": blas_info(), "quick": a.quick,
        "env": {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
    })
    if a.sgemm == "on":
        run_sgemm(a.threads, a.warmup, a.min_iters, a.sgemm_min_time, a.sgemm_torch == "on")
    if a.cases:
        run_models(a.cases, a.threads, a.two_thread_configs, a.warmup, a.min_iters, a.min_time)


if __name__ == "__main__":
    main(sys.argv[1:])
