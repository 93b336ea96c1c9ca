#!/usr/bin/env python3
"""Pairs flavabeam's Go benchmark output with torch_flava.py's JSON lines and prints ratios.

Standard library only (it runs under any Python 3.8+).

Inputs:
  --torch FILE            torch_flava.py output (JSON lines); repeatable (one per round).
  --go-flava THREADS:FILE `go test -bench` output of model/flava run with
                          GOMAXPROCS=THREADS (kernels.SetThreads defaults to
                          GOMAXPROCS at init, so that is the Go thread count);
                          repeatable.
  --go-kernels FILE       `go test -bench BenchmarkSgemm` output of ./kernels;
                          the thread count is in the sub-benchmark name; repeatable.

Several values of one (case, threads, side) — -count > 1, several rounds, or
two PyTorch 2-thread configurations — are reduced to the median per PyTorch
configuration, and PyTorch's best configuration is the one compared. The
table shows Go/PyTorch ratios and, where the issue sets one, the target.

Go benchmark names understood (each -N GOMAXPROCS suffix is dropped):
  BenchmarkImageEncoder/batch<B>          -> image/b<B>
  BenchmarkTextEncoder                    -> text/b8x77 (batch 8, 77 tokens)
  BenchmarkTextEncoder/seq<S>             -> text/b8x<S>
  BenchmarkMultimodalEncoder[/batch<B>]   -> multimodal/b8 (or b<B>)
  BenchmarkCodebook112                    -> codebook/b1
  BenchmarkCodebook112/batch<B>           -> codebook/b<B>
  BenchmarkSgemm/<M>x<K>x<N>/threads=<T>  -> sgemm <M>x<K>x<N>, T threads
Anything else is ignored.
"""

import argparse
import json
import re
import statistics
import sys

# Targets from the "Pure-Go kernels" issue: (case, threads) -> minimum Go/PyTorch ratio.
# None for threads means every thread count.
MODEL_TARGETS = [
    ("image/b8", 2, 1.30),
    ("text/b8x77", 2, 1.30),
    ("text/b8x16", 2, 1.30),
    ("codebook/b8", 2, 1.30),
    ("image/b1", None, 1.00),
    ("codebook/b1", None, 1.00),
]
SGEMM_TARGET = 0.90  # Go within 10% of numpy/OpenBLAS

CASE_ORDER = ["image/b1", "image/b8", "text/b8x77", "text/b8x16", "multimodal/b8", "codebook/b1", "codebook/b8"]

LINE = re.compile(r"^(Benchmark\S*?)(?:-(\d+))?\s+(\d+)\s+(.*)$")
ITEM_UNITS = ("images/s", "texts/s", "pairs/s")


def go_case(name):
    """Maps a Go benchmark name (no -N suffix) to (kind, case, threads-from-name)."""
    m = re.fullmatch(r"BenchmarkImageEncoder/batch(\d+)", name)
    if m:
        return "model", f"image/b{m[1]}", None
    m = re.fullmatch(r"BenchmarkTextEncoder(?:/seq=?(\d+))?", name)
    if m:
        return "model", f"text/b8x{m[1] or 77}", None
    m = re.fullmatch(r"BenchmarkMultimodalEncoder(?:/batch(\d+))?", name)
    if m:
        return "model", f"multimodal/b{m[1] or 8}", None
    m = re.fullmatch(r"BenchmarkCodebook112(?:/batch(\d+))?", name)
    if m:
        return "model", f"codebook/b{m[1] or 1}", None
    m = re.fullmatch(r"BenchmarkSgemm/(\d+x\d+x\d+)/threads=(\d+)", name)
    if m:
        return "sgemm", m[1], int(m[2])
    return None


def parse_go(path, threads):
    """Yields (kind, case, threads, metrics dict) per benchmark result line."""
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            mapped = go_case(m[1])
            if mapped is None:
                continue
            kind, case, th = mapped
            fields = m[4].split()
            metrics = {}
            for i in range(0, len(fields) - 1, 2):
                try:
                    metrics[fields[i + 1]] = float(fields[i])
                except ValueError:
                    pass
            yield kind, case, th if th is not None else threads, metrics


def parse_torch(path):
    meta, rows = None, []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: bad JSON line: {e}")
            if obj.get("kind") == "meta":
                meta = obj
            else:
                rows.append(obj)
    return meta, rows


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def unit_for(case):
    if case.startswith("text"):
        return "texts/s"
    if case.startswith("multimodal"):
        return "pairs/s"
    return "images/s"


def target_for(case, threads):
    for c, t, r in MODEL_TARGETS:
        if c == case and (t is None or t == threads):
            return r
    return None


def verdict(ratio, target):
    if target is None:
        return ""
    if ratio is None:
        return f">={target:.2f} ?"
    return f">={target:.2f} {'ok' if ratio >= target else 'MISS'}"


def table(headers, rows):
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]
    out = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for r in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return out


def build(args):
    lines = []
    metas = []
    # torch_items[(case, threads)][config] -> [items/s]; *_flop[case] -> [flop per item]
    torch_items, torch_gflops, torch_flop = {}, {}, {}
    np_sgemm, torch_sgemm = {}, {}
    for p in args.torch:
        meta, rows = parse_torch(p)
        if meta:
            metas.append(meta)
        for r in rows:
            if r["kind"] == "model":
                key = (r["case"], r["threads"])
                torch_items.setdefault(key, {}).setdefault(r["config"], []).append(r["items_per_s"])
                torch_gflops.setdefault(key, {}).setdefault(r["config"], []).append(r["gflops"])
                if r["items_per_s"] > 0:
                    torch_flop.setdefault(r["case"], []).append(r["gflops"] * 1e9 / r["items_per_s"])
            elif r["kind"] == "sgemm":
                d = np_sgemm if r["impl"] == "numpy" else torch_sgemm
                d.setdefault((r["case"], r["threads"]), []).append(r["gflops"])

    go_items, go_gflops, go_flop, go_sgemm = {}, {}, {}, {}
    for spec in args.go_flava:
        th, _, path = spec.partition(":")
        if not path or not th.isdigit():
            raise SystemExit(f"--go-flava: want THREADS:FILE, got {spec!r}")
        for kind, case, t, metrics in parse_go(path, int(th)):
            if kind != "model":
                continue
            items = next((metrics[u] for u in ITEM_UNITS if u in metrics), None)
            if items is None:
                continue
            go_items.setdefault((case, t), []).append(items)
            if "GFLOP/s" in metrics:
                go_gflops.setdefault((case, t), []).append(metrics["GFLOP/s"])
                if items > 0:
                    go_flop.setdefault(case, []).append(metrics["GFLOP/s"] * 1e9 / items)
    for path in args.go_kernels:
        for kind, case, t, metrics in parse_go(path, None):
            if kind == "sgemm" and "GFLOP/s" in metrics:
                go_sgemm.setdefault((case, t), []).append(metrics["GFLOP/s"])

    if metas:
        m = metas[0]
        blas = ", ".join(
            f"{b.get('internal_api')} {b.get('version') or ''} {b.get('architecture') or ''}".strip()
            for b in m.get("blas", []))
        lines.append(f"# PyTorch peer: torch {m.get('torch')}, transformers {m.get('transformers')}, "
                     f"numpy {m.get('numpy')}, python {m.get('python')}; CPU {m.get('cpu')} x{m.get('ncpu')}")
        lines.append(f"# BLAS: {blas}")
        if any(x.get("quick") for x in metas):
            lines.append("# QUICK RUN: one call per case, no warm-up — the numbers are not measurements.")
    lines.append(f"# rounds: {len(args.torch)} PyTorch run(s); values are medians; "
                 "PyTorch column = its fastest thread configuration")
    lines.append("")

    keys = sorted(set(torch_items) | set(go_items),
                  key=lambda k: (CASE_ORDER.index(k[0]) if k[0] in CASE_ORDER else 99, k[0], k[1]))
    rows = []
    for case, th in keys:
        g = med(go_items.get((case, th), []))
        best_cfg, best = None, None
        for cfg, vals in sorted(torch_items.get((case, th), {}).items()):
            v = med(vals)
            if best is None or v > best:
                best_cfg, best = cfg, v
        ratio = g / best if g is not None and best else None
        unit = unit_for(case)
        tg = med(torch_gflops.get((case, th), {}).get(best_cfg, [])) if best_cfg else None
        others = ", ".join(f"{c} {med(v):.3g}" for c, v in sorted(torch_items.get((case, th), {}).items())
                           if c != best_cfg)
        rows.append([case, th, unit, fmt(g, 3), fmt(best, 3), best_cfg or "-", fmt(ratio),
                     verdict(ratio, target_for(case, th)),
                     fmt(med(go_gflops.get((case, th), [])), 1), fmt(tg, 1), others])
    if rows:
        lines.append("Models (items/s, higher is better)")
        lines += table(["case", "thr", "unit", "Go", "PyTorch", "PyTorch config", "Go/PyT", "target",
                        "Go GFLOP/s", "PyT GFLOP/s", "other PyTorch configs"], rows)
        lines.append("")

    skeys = sorted(set(np_sgemm) | set(go_sgemm), key=lambda k: ([int(x) for x in k[0].split("x")], k[1]))
    srows = []
    for case, th in skeys:
        g, n, t = med(go_sgemm.get((case, th), [])), med(np_sgemm.get((case, th), [])), \
            med(torch_sgemm.get((case, th), []))
        ratio = g / n if g is not None and n else None
        srows.append([case, th, fmt(g, 1), fmt(n, 1), fmt(ratio), verdict(ratio, SGEMM_TARGET), fmt(t, 1)])
    if srows:
        lines.append("sgemm C = X·Wᵀ, M x K x N (GFLOP/s, higher is better)")
        lines += table(["shape", "thr", "Go", "numpy", "Go/numpy", "target", "torch.matmul"], srows)
        lines.append("")

    missing = sorted({c for c, _ in torch_items} - {c for c, _ in go_items},
                     key=lambda c: CASE_ORDER.index(c) if c in CASE_ORDER else 99)
    if missing and args.go_flava:
        lines.append("# No Go benchmark for: " + ", ".join(missing) + " (see scripts/bench/README.md)")
    # The two sides must count the same work: flop per item from each side's GFLOP/s
    # (Go prints 4 significant digits, so a 1% band).
    for case in sorted(set(go_flop) & set(torch_flop)):
        a, b = med(go_flop[case]), med(torch_flop[case])
        if abs(a - b) > 0.01 * max(a, b):
            lines.append(f"# WARNING {case}: Go counts {a / 1e9:.2f} GFLOP per item, PyTorch {b / 1e9:.2f}")
    return lines


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--torch", action="append", default=[], metavar="FILE")
    p.add_argument("--go-flava", action="append", default=[], metavar="THREADS:FILE")
    p.add_argument("--go-kernels", action="append", default=[], metavar="FILE")
    p.add_argument("--out", help="also write the table to this file")
    args = p.parse_args(argv)
    text = "\n".join(build(args)).rstrip() + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
