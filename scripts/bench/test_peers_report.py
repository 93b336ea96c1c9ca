"""Unit tests of peers_report.py (standard library only): python3 -m unittest discover -s scripts/bench"""

import io
import json
import os
import tempfile
import unittest
from contextlib import redirect_stdout

import peers_report as pr

GO = """goos: linux
BenchmarkImageEncoder/batch8         	       1	39058007780 ns/op	         7.147 GFLOP/s	         3.000 cpu-s/op	         0.2048 images/s	       0 B/op	       0 allocs/op
BenchmarkImageEncoderBF16/batch8-2   	       1	6446000000 ns/op	         0.0000208 1-cos	        43.4 GFLOP/s	         2.000 cpu-s/op	         1.241 images/s	         0.0271 max-abs	       0 B/op	       0 allocs/op
BenchmarkTextEncoder/seq16           	       1	5350547551 ns/op	         4.078 GFLOP/s	         0.2000 cpu-s/op	         1.495 texts/s	        23.92 tokens/s	       0 B/op	       0 allocs/op
BenchmarkCodebook112/batch1          	       1	1 ns/op	         1 cpu-s/op	         1 images/s
BenchmarkSomethingElse               	       1	1 ns/op
"""


def peer(engine, case, ips, **kw):
    return {"kind": "result", "engine": engine, "case": case, "threads": 1, "items_per_cpu_s": ips,
            "items_per_s": ips / 10, **kw}


class PeersReport(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.go = os.path.join(self.dir, "go.txt")
        with open(self.go, "w") as f:
            f.write(GO)

    def test_go_case(self):
        self.assertEqual(pr.go_case("BenchmarkImageEncoder/batch1"), ("go-f32", "image/b1"))
        self.assertEqual(pr.go_case("BenchmarkImageEncoderBF16/batch8"), ("go-bf16", "image/b8"))
        self.assertEqual(pr.go_case("BenchmarkTextEncoderBF16/seq77"), ("go-bf16", "text/b8x77"))
        self.assertEqual(pr.go_case("BenchmarkModel/batch8"), ("go-f32", "model/b8"))
        self.assertEqual(pr.go_case("BenchmarkCodebook112/batch8"), ("go-f32", "codebook/b8"))
        self.assertEqual(pr.go_case("BenchmarkCodebook112BF16/batch8"), ("go-bf16", "codebook/b8"))
        self.assertIsNone(pr.go_case("BenchmarkMultimodalEncoder"))
        self.assertIsNone(pr.go_case("BenchmarkTextEncoder"))

    def test_parse_go_items_per_cpu_second(self):
        recs = {(r["engine"], r["case"]): r for r in pr.parse_go(self.go, 1)}
        self.assertAlmostEqual(recs[("go-f32", "image/b8")]["items_per_cpu_s"], 8 / 3.0)
        self.assertAlmostEqual(recs[("go-bf16", "image/b8")]["items_per_cpu_s"], 4.0)
        self.assertAlmostEqual(recs[("go-bf16", "image/b8")]["max-abs"], 0.0271)
        self.assertAlmostEqual(recs[("go-f32", "text/b8x16")]["items_per_cpu_s"], 40.0)
        self.assertAlmostEqual(recs[("go-f32", "image/b8")]["items_per_s"], 0.2048)
        self.assertEqual(len(recs), 4)  # codebook/b1 parsed, the unknown name ignored

    def test_ratios(self):
        results = list(pr.parse_go(self.go, 1)) + [
            peer("torch-f32", "image/b8", 2.0), peer("ort-f32", "image/b8", 2.5), peer("ov-f32", "image/b8", 1.0),
            peer("ov-default", "image/b8", 5.0), peer("torch-bf16", "image/b8", 3.0),
        ]
        skips = [{"engine": "ort-f32", "case": "text/b8x16", "threads": 1, "reason": "boom"}]
        lines, notes = pr.table(results, skips, 1, "items_per_cpu_s")
        row = next(line for line in lines if line.startswith("| image/b8"))
        # Go f32 8/3 against ORT's 2.5; best Go (bf16, 4.0) against OpenVINO default 5.0.
        self.assertIn("1.07 (ONNX Runtime f32)", row)
        self.assertIn("0.80 (OpenVINO default)", row)
        text = next(line for line in lines if line.startswith("| text/b8x16"))
        self.assertIn("n/a¹", text)
        self.assertEqual(notes, ["ONNX Runtime f32 text/b8x16: boom"])

    def test_main_prints_accuracy_and_precision(self):
        pf = os.path.join(self.dir, "p.jsonl")
        with open(pf, "w") as f:
            for o in [
                {"kind": "meta", "versions": {"torch": "2", "python": "3"}, "min_iters": 1, "min_cpu": 0},
                peer("torch-f32", "image/b8", 2.0),
                {"kind": "ov_precision", "engine": "ov-default", "model": "image", "inference_precision": "bf16"},
                {"kind": "accuracy", "engine": "ov-default", "case": "image/b8", "threads": 1, "max_abs": 0.03},
            ]:
                f.write(json.dumps(o) + "\n")
        buf = io.StringIO()
        with redirect_stdout(buf):
            pr.main(["--peers", pf, "--go", f"1:{self.go}"])
        out = buf.getvalue()
        self.assertIn("ov-default image: bf16", out)
        self.assertIn("max abs 0.03 (compiled precision bf16)", out)
        self.assertIn("image/b8     max abs 0.0271", out)


if __name__ == "__main__":
    unittest.main()
