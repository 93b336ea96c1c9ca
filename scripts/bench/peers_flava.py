#!/usr/bin/env python3
"""The runtimes users would pick instead of flavabeam, on the Go benchmarks' shapes.

Engines (all on flava-full's architecture, random weights, nothing downloaded):
  torch-f32    PyTorch 2.x, float32, eval(), no_grad
  torch-bf16   the same under torch.autocast("cpu", dtype=torch.bfloat16)
  ort-f32      ONNX Runtime (CPU EP, all graph optimisations) on an ONNX export
  ov-f32       OpenVINO CPU, INFERENCE_PRECISION_HINT=f32, same export
  ov-default   OpenVINO CPU at its default precision (the compiled model's
               INFERENCE_PRECISION_HINT is reported: bf16 where the plugin
               chooses it, f32 otherwise)
The ONNX exports use torch.onnx.export(..., dynamo=False) of the HF modules,
wrapped to return one tensor.

Cases (model/flava/*bench*_test.go, input values mirrored):
  image/b1, image/b8      FlavaImageModel(pixel_values)           BenchmarkImageEncoder[BF16]/batch<B>
  text/b8x77, text/b8x16  FlavaTextModel(input_ids)               BenchmarkTextEncoder[BF16]/seq<S>
  model/b8                FlavaModel(pixel_values, input_ids=77)  BenchmarkModel[BF16]/batch8
  codebook/b8             FlavaImageCodebook.get_codebook_indices BenchmarkCodebook112/batch8

Timing: one warm-up call, then at least --min-iters calls and --min-cpu CPU
seconds. Both wall time (time.perf_counter) and process CPU time
(time.process_time: every thread of this process) are recorded around the
timed loop, so items per CPU second can be compared with Go's cpu-s/op on a
loaded machine. One thread count per process (--threads), set before any
work: torch.set_num_threads, ORT intra_op_num_threads, OpenVINO
INFERENCE_NUM_THREADS.

Steps (peers.sh runs them): --prepare builds the torch modules, exports one
ONNX file per module kind (dynamic batch, traced at batch 1) and writes the
work counts (cases.json) into --workdir; then any number of processes run
--engines (the ONNX engines load only the ONNX files); each saves its warm-up
output per case, and --accuracy compares those with torch-f32's (max abs
difference of the returned tensor; codebook: share of equal indices).

One JSON object per line on stdout:
{"kind": "meta"|"result"|"skip"|"ov_precision"|"accuracy", ...}.
"""

import argparse
import gc
import json
import os
import platform
import sys
import time
import traceback
import warnings

CASES = ["image/b1", "image/b8", "text/b8x77", "text/b8x16", "model/b8", "codebook/b8"]
ENGINES = ["torch-f32", "torch-bf16", "ort-f32", "ov-f32", "ov-default"]
UNITS = {"image": "images/s", "text": "texts/s", "model": "pairs/s", "codebook": "images/s"}


def emit(obj):
    print(json.dumps(obj), flush=True)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] peers_flava: {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="threads for every engine (default 1)")
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated (default all: %(default)s)")
    p.add_argument("--engines", default=",".join(ENGINES), help="comma-separated (default all: %(default)s)")
    p.add_argument("--min-iters", type=int, default=2, help="timed calls per case, at least (default 2)")
    p.add_argument("--min-cpu", type=float, default=3.0, help="timed CPU seconds per case, at least (default 3)")
    p.add_argument("--workdir", required=True,
                   help="shared directory: ONNX exports, torch-f32 reference outputs, cases.json")
    p.add_argument("--prepare", action="store_true",
                   help="only build the torch models, export each case's module to ONNX and write cases.json "
                        "(work counts) into --workdir; run before the ONNX engines")
    p.add_argument("--accuracy", action="store_true",
                   help="only compare the engines' saved warm-up outputs in --workdir with torch-f32's")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 timed call, no minimum (numbers meaningless)")
    a = p.parse_args(argv)
    if a.quick:
        a.min_iters, a.min_cpu = 1, 0.0
    if a.threads < 1 or a.min_iters < 1 or a.min_cpu < 0:
        p.error("--threads >= 1, --min-iters >= 1, --min-cpu >= 0")
    a.cases = [c for c in a.cases.split(",") if c]
    a.engines = [e for e in a.engines.split(",") if e]
    for c in a.cases:
        if c not in CASES:
            p.error(f"--cases: unknown case {c!r} (known: {', '.join(CASES)})")
    for e in a.engines:
        if e not in ENGINES:
            p.error(f"--engines: unknown engine {e!r} (known: {', '.join(ENGINES)})")
    return a


A = parse_args(sys.argv[1:])
# Thread settings that must precede the libraries' initialisation.
os.environ["OMP_NUM_THREADS"] = str(A.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import FlavaConfig, FlavaImageCodebook, FlavaImageCodebookConfig, FlavaModel  # noqa: E402

torch.set_num_threads(A.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass
torch.set_grad_enabled(False)
warnings.filterwarnings("ignore")


def encoder_flops(seq, hidden, inter, layers):
    """model/flava/bench_test.go encoderFLOPs."""
    s, h, i = float(seq), float(hidden), float(inter)
    return (2 * s * h * 4 * h + 2 * 2 * s * s * h + 2 * 2 * s * h * i) * layers


def bench_pixels(batch, size=224):
    i = np.arange(batch * 3 * size * size, dtype=np.int64)
    return ((i % 251).astype(np.float32) / 125 - 1).reshape(batch, 3, size, size)


def bench_ids(batch, seq):
    i = np.arange(batch * seq, dtype=np.int64)
    return (1000 + (37 * i) % 20000).reshape(batch, seq)


def codebook_pixels(batch, size=112):
    # BenchmarkCodebook112 draws uniform 0.1..0.9 from Go's PCG; same distribution here.
    rng = np.random.default_rng(3)
    return (0.1 + 0.8 * rng.random((batch, 3, size, size))).astype(np.float32)


class ImageOut(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m(pixel_values=pixel_values).last_hidden_state


class TextOut(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        return self.m(input_ids=input_ids).last_hidden_state


class ModelOut(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values, input_ids):
        return self.m(pixel_values=pixel_values, input_ids=input_ids).multimodal_embeddings


class CodebookOut(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.get_codebook_indices(pixel_values)


def build_models():
    log("building flava-full (FlavaModel) and the codebook, random weights")
    torch.manual_seed(42)
    cfg = FlavaConfig()
    fm = FlavaModel(cfg).float().eval()
    cb = FlavaImageCodebook(FlavaImageCodebookConfig()).float().eval()
    cfgs = {"image": cfg.image_config, "text": cfg.text_config, "mm": cfg.multimodal_config}
    return {
        "image": ImageOut(fm.image_model).eval(),
        "text": TextOut(fm.text_model).eval(),
        "model": ModelOut(fm).eval(),
        "codebook": CodebookOut(cb).eval(),
    }, cfgs, cb


def case_spec(name, cfgs, cb):
    """(module kind, inputs dict of numpy arrays, items, flops per item)."""
    kind, shape = name.split("/")
    ic, tc, mc = cfgs["image"], cfgs["text"], cfgs["mm"]
    img_seq = (ic.image_size // ic.patch_size) ** 2 + 1
    if kind == "image":
        b = int(shape[1:])
        return kind, {"pixel_values": bench_pixels(b)}, b, encoder_flops(
            img_seq, ic.hidden_size, ic.intermediate_size, ic.num_hidden_layers)
    if kind == "text":
        b, s = (int(x) for x in shape[1:].split("x"))
        return kind, {"input_ids": bench_ids(b, s)}, b, encoder_flops(
            s, tc.hidden_size, tc.intermediate_size, tc.num_hidden_layers)
    if kind == "model":
        b, s = int(shape[1:]), 77
        fl = (encoder_flops(img_seq, ic.hidden_size, ic.intermediate_size, ic.num_hidden_layers)
              + encoder_flops(s, tc.hidden_size, tc.intermediate_size, tc.num_hidden_layers)
              + 2 * (img_seq * ic.hidden_size + s * tc.hidden_size) * mc.hidden_size
              + encoder_flops(img_seq + s + 1, mc.hidden_size, mc.intermediate_size, mc.num_hidden_layers))
        return kind, {"pixel_values": bench_pixels(b), "input_ids": bench_ids(b, s)}, b, fl
    b = int(shape[1:])
    x = codebook_pixels(b)
    total = [0.0]

    def hook(mod, _inp, out):
        kh, kw = mod.kernel_size
        total[0] += 2.0 * (mod.in_channels // mod.groups) * kh * kw * out.numel()

    hs = [m.register_forward_hook(hook) for m in cb.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        cb.get_codebook_indices(torch.from_numpy(x[:1]))
    finally:
        for h in hs:
            h.remove()
    return kind, {"pixel_values": x}, b, total[0]


def timed(fn):
    """Warm-up call (its output returned), then the timed loop."""
    out = fn()
    iters, c0, t0 = 0, time.process_time(), time.perf_counter()
    while True:
        fn()
        iters += 1
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        if iters >= A.min_iters and cpu >= A.min_cpu:
            return out, iters, wall, cpu


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().float().numpy() if x.is_floating_point() else x.detach().numpy()
    return np.asarray(x)


def compare(out, ref):
    if ref is None or out is None:
        return {}
    out, ref = to_numpy(out), to_numpy(ref)
    if out.shape != ref.shape:
        return {"shape_mismatch": [list(out.shape), list(ref.shape)]}
    if np.issubdtype(ref.dtype, np.integer):
        return {"equal_share": float((out == ref).mean())}
    return {"max_abs": float(np.abs(out.astype(np.float32) - ref.astype(np.float32)).max())}


ONNX_SPEC = {
    # kind -> (input names, dynamic axes); traced on batch 1 to keep the export cheap.
    "image": (["pixel_values"], {"pixel_values": {0: "batch"}}),
    "text": (["input_ids"], {"input_ids": {0: "batch", 1: "seq"}}),
    "model": (["pixel_values", "input_ids"], {"pixel_values": {0: "batch"}, "input_ids": {0: "batch"}}),
    "codebook": (["pixel_values"], {"pixel_values": {0: "batch"}}),
}


def onnx_path(kind):
    return os.path.join(A.workdir, f"{kind}.onnx")


def out_path(engine, case):
    return os.path.join(A.workdir, f"out-{engine}-{case.replace('/', '-')}-t{A.threads}.npy")


def accuracy():
    """Compares every engine's saved warm-up output with torch-f32's (same case, same threads)."""
    for name in A.cases:
        ref = out_path("torch-f32", name)
        if not os.path.exists(ref):
            continue
        ref = np.load(ref)
        for engine in ENGINES[1:]:
            p = out_path(engine, name)
            if os.path.exists(p):
                emit({"kind": "accuracy", "engine": engine, "case": name, "threads": A.threads,
                      "reference": "torch-f32", **compare(np.load(p), ref)})


def prepare():
    """Exports every needed kind, saves torch-f32 reference outputs and cases.json."""
    modules, cfgs, cb = build_models()
    cases, exported = {}, set()
    for name in A.cases:
        kind, inputs, items, flops = case_spec(name, cfgs, cb)
        cases[name] = {"kind": kind, "items": items, "flops_per_item": flops}
        if kind in exported:
            continue
        names, dyn = ONNX_SPEC[kind]
        args = tuple(torch.from_numpy(np.ascontiguousarray(inputs[n][:1])) for n in names)
        log(f"torch.onnx.export {kind} -> {onnx_path(kind)}")
        t0 = time.perf_counter()
        try:
            torch.onnx.export(modules[kind], args, onnx_path(kind), input_names=names, output_names=["out"],
                              dynamic_axes=dyn, opset_version=17, dynamo=False)
            exported.add(kind)
            log(f"exported {kind} in {time.perf_counter() - t0:.0f} s")
        except Exception as e:  # the ONNX engines then report the case as skipped
            log(f"export of {kind} failed: {type(e).__name__}: {e}")
            with open(onnx_path(kind) + ".failed", "w") as f:
                f.write(f"ONNX export failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")
    with open(os.path.join(A.workdir, "cases.json"), "w") as f:
        json.dump(cases, f)


def case_inputs(name):
    kind, shape = name.split("/")
    if kind == "image":
        return {"pixel_values": bench_pixels(int(shape[1:]))}
    if kind == "text":
        b, s = (int(x) for x in shape[1:].split("x"))
        return {"input_ids": bench_ids(b, s)}
    if kind == "model":
        b = int(shape[1:])
        return {"pixel_values": bench_pixels(b), "input_ids": bench_ids(b, 77)}
    return {"pixel_values": codebook_pixels(int(shape[1:]))}


def make_session(engine, kind):
    """An ONNX Runtime session or an OpenVINO compiled model for one kind (one at a time in memory)."""
    path = onnx_path(kind)
    if os.path.exists(path + ".failed"):
        raise RuntimeError(open(path + ".failed").read())
    if engine == "ort-f32":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = A.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    import openvino as ov
    conf = {"INFERENCE_NUM_THREADS": A.threads, "PERFORMANCE_HINT": "LATENCY"}
    if engine == "ov-f32":
        conf["INFERENCE_PRECISION_HINT"] = "f32"
    cm = ov.Core().compile_model(path, "CPU", conf)
    emit({"kind": "ov_precision", "engine": engine, "model": kind,
          "inference_precision": str(cm.get_property("INFERENCE_PRECISION_HINT")),
          "threads_property": str(cm.get_property("INFERENCE_NUM_THREADS"))})
    return cm


_BUILT = {}


def run_engine(engine):
    modules, cases = None, {}
    if engine.startswith("torch"):
        if "torch" not in _BUILT:  # built once per process, shared by torch-f32 and torch-bf16
            _BUILT["torch"] = build_models()
        modules, cfgs, cb = _BUILT["torch"]
        for name in A.cases:
            kind, _, items, flops = case_spec(name, cfgs, cb)
            cases[name] = {"kind": kind, "items": items, "flops_per_item": flops}
    else:  # work counts from --prepare, which needs torch modules this process does not build
        with open(os.path.join(A.workdir, "cases.json")) as f:
            cases = json.load(f)
    session, session_kind = None, None
    for name in A.cases:
        c = cases[name]
        kind, items, flops = c["kind"], c["items"], c["flops_per_item"]
        inputs = case_inputs(name)
        rec = {"kind": "result", "engine": engine, "case": name, "threads": A.threads, "unit": UNITS[kind]}
        try:
            if engine.startswith("torch"):
                m = modules[kind]
                targs = {k: torch.from_numpy(v) for k, v in inputs.items()}
                if engine == "torch-bf16":
                    def fn(m=m, targs=targs):
                        with torch.autocast("cpu", dtype=torch.bfloat16):
                            return m(**targs)
                else:
                    def fn(m=m, targs=targs):
                        return m(**targs)
            else:
                if session_kind != kind:
                    session, session_kind = None, None
                    gc.collect()
                    log(f"{engine}: loading {kind}")
                    session, session_kind = make_session(engine, kind), kind
                if engine == "ort-f32":
                    def fn(sess=session, inputs=inputs):
                        return sess.run(None, inputs)[0]
                else:
                    req = session.create_infer_request()
                    rec["inference_precision"] = str(session.get_property("INFERENCE_PRECISION_HINT"))

                    def fn(req=req, inputs=inputs):
                        req.infer(inputs)
                        return req.get_output_tensor(0).data.copy()
            out, iters, wall, cpu = timed(fn)
        except Exception as e:  # a peer that cannot run a case is reported, not fatal
            log(f"{engine} {name}: {type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stderr)
            emit({"kind": "skip", "engine": engine, "case": name, "threads": A.threads,
                  "reason": f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"})
            continue
        rec.update({
            "iters": iters, "wall_s": wall, "cpu_s": cpu,
            "items_per_s": items * iters / wall, "items_per_cpu_s": items * iters / cpu,
            "gflop_per_item": flops / 1e9, "gflops_per_cpu_s": flops * items * iters / cpu / 1e9,
        })
        np.save(out_path(engine, name), to_numpy(out))
        emit(rec)
        log(f"{engine} {name}: {rec['items_per_cpu_s']:.3g} {UNITS[kind][:-2]}/cpu-s, "
            f"{rec['items_per_s']:.3g} {UNITS[kind]} wall ({iters} calls)")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "transformers": transformers.__version__, "numpy": np.__version__}
    for mod in ("onnx", "onnxruntime", "openvino"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception as e:  # reported in meta; the engine then reports skips
            versions[mod] = f"unavailable: {e}"
    os.makedirs(A.workdir, exist_ok=True)
    emit({"kind": "meta", "cpu": cpu_model(), "ncpu": os.cpu_count(), "threads": A.threads,
          "engines": A.engines, "prepare": A.prepare, "min_iters": A.min_iters, "min_cpu": A.min_cpu,
          "quick": A.quick, "versions": versions})
    if A.prepare:
        prepare()
        return
    if A.accuracy:
        accuracy()
        return
    for engine in A.engines:
        log(f"engine {engine}, threads {A.threads}")
        run_engine(engine)


if __name__ == "__main__":
    main()
