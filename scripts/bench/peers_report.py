#!/usr/bin/env python3
"""Pairs flavabeam's Go benchmarks with peers_flava.py's JSON lines: per-CPU-second table.

Standard library only.

  peers_report.py --peers FILE [--peers FILE ...] --go THREADS:FILE [--go THREADS:FILE ...]

Go benchmark names understood (the -N GOMAXPROCS suffix is dropped):
  BenchmarkImageEncoder[BF16]/batch<B>  -> image/b<B>
  BenchmarkTextEncoder[BF16]/seq<S>     -> text/b8x<S>
  BenchmarkModel[BF16]/batch<B>         -> model/b<B>
  BenchmarkCodebook112[BF16]/batch<B>   -> codebook/b<B>
The engine is go-f32, or go-bf16 for the *BF16 benchmarks. Go's items per CPU
second are batch / cpu-s/op (the benchmarks report cpu-s/op from getrusage).

The main table is items per CPU second at 1 thread: on a shared, loaded
machine wall-clock rates mostly measure the other processes, while CPU
seconds per item measure the work (cache sharing with the others still
moves them by some per cent). Wall-clock figures are listed separately and
marked noisy. Several values of one (engine, case, threads) are reduced to
the median.
"""

import argparse
import json
import re
import statistics
import sys

CASES = ["image/b1", "image/b8", "text/b8x77", "text/b8x16", "model/b8", "codebook/b8"]
PEERS_F32 = ["torch-f32", "ort-f32", "ov-f32"]
PEERS_ANY = PEERS_F32 + ["torch-bf16", "ov-default"]
COLUMNS = ["go-f32", "go-bf16", "torch-f32", "torch-bf16", "ort-f32", "ov-f32", "ov-default"]
TITLES = {
    "go-f32": "flavabeam f32", "go-bf16": "flavabeam bf16", "torch-f32": "PyTorch f32",
    "torch-bf16": "PyTorch bf16 autocast", "ort-f32": "ONNX Runtime f32", "ov-f32": "OpenVINO f32",
    "ov-default": "OpenVINO default",
}
LINE = re.compile(r"^(Benchmark\S*?)(?:-(\d+))?\s+(\d+)\s+(.*)$")


def go_case(name):
    """(engine, case) for a Go benchmark name without its -N suffix, or None."""
    for pat, fmt in (
        (r"BenchmarkImageEncoder(BF16)?/batch(\d+)", "image/b{}"),
        (r"BenchmarkTextEncoder(BF16)?/seq(\d+)", "text/b8x{}"),
        (r"BenchmarkModel(BF16)?/batch(\d+)", "model/b{}"),
        (r"BenchmarkCodebook112(BF16)?/batch(\d+)", "codebook/b{}"),
    ):
        m = re.fullmatch(pat, name)
        if m:
            return ("go-bf16" if m[1] else "go-f32"), fmt.format(m[2])
    return None


def batch_of(case):
    return int(re.match(r"[a-z]+/b(\d+)", case)[1])


def parse_go(path, threads):
    """Yields result dicts like peers_flava.py's from `go test -bench` output."""
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            ec = go_case(m[1])
            if not ec:
                continue
            fields = m[4].split()
            metrics = {}
            for i in range(0, len(fields) - 1, 2):
                try:
                    metrics[fields[i + 1]] = float(fields[i])
                except ValueError:
                    pass
            rec = {"engine": ec[0], "case": ec[1], "threads": threads, "iters": int(m[3])}
            b = batch_of(ec[1])
            if "cpu-s/op" in metrics and metrics["cpu-s/op"] > 0:
                rec["items_per_cpu_s"] = b / metrics["cpu-s/op"]
            for u in ("images/s", "texts/s", "pairs/s"):
                if u in metrics:
                    rec["items_per_s"] = metrics[u]
            if "ns/op" in metrics and "items_per_s" not in rec:
                rec["items_per_s"] = b / (metrics["ns/op"] / 1e9)
            if "GFLOP/s" in metrics and "items_per_s" in rec and rec["items_per_s"] > 0:
                rec["gflop_per_item"] = metrics["GFLOP/s"] / rec["items_per_s"]
            for k in ("max-abs", "1-cos", "equal-ids"):
                if k in metrics:
                    rec[k] = metrics[k]
            yield rec


def load(peer_files, go_specs):
    results, skips, meta, ovprec, accuracy = [], [], [], [], []
    for path in peer_files:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                o = json.loads(line)
                k = o.get("kind")
                if k == "result":
                    results.append(o)
                elif k == "skip":
                    skips.append(o)
                elif k == "meta":
                    meta.append(o)
                elif k == "ov_precision":
                    ovprec.append(o)
                elif k == "accuracy":
                    accuracy.append(o)
    for spec in go_specs:
        t, _, path = spec.partition(":")
        if not t.isdigit() or not path:
            raise SystemExit(f"--go: want THREADS:FILE, got {spec!r}")
        try:
            results.extend(parse_go(path, int(t)))
        except OSError as e:
            print(f"warning: {e}", file=sys.stderr)
    return results, skips, meta, ovprec, accuracy


def median_by(results, key, field):
    vals = {}
    for r in results:
        if field in r:
            vals.setdefault(key(r), []).append(r[field])
    return {k: statistics.median(v) for k, v in vals.items()}


def fmt(x):
    if x is None:
        return "–"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def table(results, skips, threads, field, note_skips=True, ratios=True):
    key = lambda r: (r["engine"], r["case"], r["threads"])  # noqa: E731
    med = median_by(results, key, field)
    skipped = {(s["engine"], s["case"], s["threads"]): s["reason"] for s in skips}
    head = ["case"] + [TITLES[c] for c in COLUMNS] + (["f32: Go ÷ best f32 peer", "any: best Go ÷ best peer"] if ratios else [])
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    notes = []
    for case in CASES:
        row = [case]
        vals = {}
        for c in COLUMNS:
            v = med.get((c, case, threads))
            vals[c] = v
            if v is None and (c, case, threads) in skipped and note_skips:
                notes.append(f"{TITLES[c]} {case}: {skipped[(c, case, threads)]}")
                row.append("n/a¹")
            else:
                row.append(fmt(v))
        if all(v is None for v in vals.values()):
            continue
        bf32 = [(vals[p], p) for p in PEERS_F32 if vals[p]]
        bany = [(vals[p], p) for p in PEERS_ANY if vals[p]]
        gbest = max([v for v in (vals["go-f32"], vals["go-bf16"]) if v] or [0]) or None
        r1 = f"{vals['go-f32'] / max(bf32)[0]:.2f} ({TITLES[max(bf32)[1]]})" if vals["go-f32"] and bf32 else "–"
        r2 = f"{gbest / max(bany)[0]:.2f} ({TITLES[max(bany)[1]]})" if gbest and bany else "–"
        if ratios:
            row += [r1, r2]
        out.append("| " + " | ".join(row) + " |")
    return out, notes


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peers", action="append", default=[], help="peers_flava.py output (repeatable)")
    p.add_argument("--go", action="append", default=[], help="THREADS:FILE of model/flava bench output (repeatable)")
    a = p.parse_args(argv)
    results, skips, meta, ovprec, acc = load(a.peers, a.go)
    threads = sorted({r["threads"] for r in results}) or [1]
    for m in meta[:1]:
        v = m["versions"]
        print(f"peers: {', '.join(f'{k} {v[k]}' for k in ('torch', 'transformers', 'onnxruntime', 'openvino', 'onnx') if k in v)}"
              f"; python {v.get('python')}; min {m['min_iters']} calls and {m['min_cpu']} CPU s per case"
              f"{' (QUICK: numbers meaningless)' if m.get('quick') else ''}")
    prec = sorted({(o["engine"], o["model"], o["inference_precision"]) for o in ovprec})
    if prec:
        print("OpenVINO compiled INFERENCE_PRECISION_HINT: " + "; ".join(f"{e} {m}: {p}" for e, m, p in prec))
    print()
    for t in threads:
        if t == 1:
            print("Items per CPU second, 1 thread (batch ÷ process CPU seconds per call; higher is better).")
            print("Ratios are of these per-CPU-second figures.")
        else:
            print(f"Items per CPU second, {t} threads (CPU seconds summed over threads).")
        lines, notes = table(results, skips, t, "items_per_cpu_s")
        print("\n".join(lines))
        for i, n in enumerate(dict.fromkeys(notes)):
            print(f"¹ {n}")
        print()
    for t in threads:
        print(f"Wall-clock items per second, {t} thread(s) — NOISY: on a loaded shared machine these mostly measure the other"
              " processes (no ratios from these).")
        lines, _ = table(results, skips, t, "items_per_s", note_skips=False, ratios=False)
        print("\n".join(lines))
        print()
    # GFLOP per CPU second for the Go f32/bf16 and the best peers, 1 thread.
    gfl = median_by(results, lambda r: (r["engine"], r["case"], r["threads"]), "gflop_per_item")
    ips = median_by(results, lambda r: (r["engine"], r["case"], r["threads"]), "items_per_cpu_s")
    if 1 in threads:
        print("GFLOP per CPU second, 1 thread (same FLOP count on both sides: model/flava encoderFLOPs, codebook convs):")
        print("| case | " + " | ".join(TITLES[c] for c in COLUMNS) + " |")
        print("|" + " --- |" * (len(COLUMNS) + 1))
        for case in CASES:
            g = next((gfl[(c, case, 1)] for c in COLUMNS if (c, case, 1) in gfl), None)
            if g is None:
                continue
            print(f"| {case} | " + " | ".join(fmt(ips[(c, case, 1)] * g) if (c, case, 1) in ips else "–" for c in COLUMNS) + " |")
        print()
    print("Accuracy against PyTorch f32 on the same inputs (max abs difference of the output tensor; codebook: share of equal indices):")
    acc = [r for r in acc if "max_abs" in r or "equal_share" in r]
    prec = {(o["engine"], o["model"]): o["inference_precision"] for o in ovprec}
    for r in acc:
        p = prec.get((r["engine"], r["case"].split("/")[0]))
        if p:
            r["inference_precision"] = p
    for r in sorted(acc, key=lambda r: (CASES.index(r["case"]) if r["case"] in CASES else 99, r["engine"])):
        v = f"max abs {r['max_abs']:.3g}" if "max_abs" in r else f"equal indices {100 * r['equal_share']:.1f} %"
        print(f"  {r['case']:12s} {TITLES.get(r['engine'], r['engine']):22s} {v}"
              + (f" (compiled precision {r['inference_precision']})" if "inference_precision" in r else ""))
    goacc = [r for r in results if r["engine"] == "go-bf16" and ("max-abs" in r or "equal-ids" in r)
             and r["threads"] == min(threads)]
    if goacc:
        print("flavabeam bf16 against flavabeam f32 (from the Go benchmarks):")
        for r in goacc:
            if "equal-ids" in r:
                print(f"  {r['case']:12s} equal indices {100 * r['equal-ids']:.1f} %, 1-cos {r.get('1-cos', float('nan')):.3g}")
            else:
                print(f"  {r['case']:12s} max abs {r['max-abs']:.3g}, 1-cos {r.get('1-cos', float('nan')):.3g}")


if __name__ == "__main__":
    main(sys.argv[1:])
