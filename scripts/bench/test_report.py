"""Tests of report.py's parsing and pairing: python3 -m unittest discover -s scripts/bench"""

import json
import os
import tempfile
import unittest
from types import SimpleNamespace

import report

GO_FLAVA_T2 = """goos: linux
BenchmarkImageEncoder/batch1-2 \t       1\t1160844456 ns/op\t        30.00 GFLOP/s\t         0.8600 images/s
BenchmarkImageEncoder/batch8-2 \t       2\t9938040509 ns/op\t        27.92 GFLOP/s\t         0.8000 images/s
BenchmarkImageEncoder/batch8-2 \t       2\t9938040509 ns/op\t        34.90 GFLOP/s\t         1.0000 images/s
BenchmarkImageEncoder/batch8-2 \t       2\t9938040509 ns/op\t        31.41 GFLOP/s\t         0.9000 images/s
BenchmarkTextEncoder/seq16-2   \t       1\t3688906752 ns/op\t        28.84 GFLOP/s\t        20.00 texts/s\t       320.0 tokens/s
BenchmarkZeroShot-2            \t       1\t3688906752 ns/op\t        99.00 images/s
PASS
"""

GO_FLAVA_T1 = """BenchmarkImageEncoder/batch8 \t 1\t 1 ns/op\t 17.45 GFLOP/s\t 0.5000 images/s
BenchmarkCodebook112         \t 1\t 1 ns/op\t 17.26 GFLOP/s\t 0.3311 images/s
"""

GO_KERNELS = """BenchmarkSgemm/197x768x3072/threads=1-2 \t 10\t 15802399 ns/op\t 59.00 GFLOP/s\t 256 B/op\t 4 allocs/op
BenchmarkSgemm/197x768x3072/threads=2-2 \t 10\t 14609473 ns/op\t 100.00 GFLOP/s\t 736 B/op\t 5 allocs/op
BenchmarkSgemm/197x768x3072/gokernel/threads=1-2 \t 10\t 1 ns/op\t 9.00 GFLOP/s
"""

TORCH = [
    {"kind": "meta", "torch": "1.13", "transformers": "4.40.2", "numpy": "1.24", "python": "3.11",
     "cpu": "X", "ncpu": 2, "blas": [{"internal_api": "openblas", "version": "0.3.21", "architecture": "Zen"}],
     "quick": False},
    {"kind": "model", "case": "image/b8", "threads": 2, "config": "torch2+blas2", "items_per_s": 0.5,
     "unit": "images/s", "gflops": 0.5 * 34.9},
    {"kind": "model", "case": "image/b8", "threads": 2, "config": "torch1+blas2", "items_per_s": 0.6,
     "unit": "images/s", "gflops": 0.6 * 34.9},
    {"kind": "model", "case": "image/b8", "threads": 1, "config": "torch1+blas1", "items_per_s": 0.4,
     "unit": "images/s", "gflops": 0.4 * 34.9},
    {"kind": "model", "case": "text/b8x16", "threads": 2, "config": "torch2+blas2", "items_per_s": 10.0,
     "unit": "texts/s", "gflops": 10.0 * 1.0},
    {"kind": "model", "case": "codebook/b8", "threads": 2, "config": "torch2+blas2", "items_per_s": 0.3,
     "unit": "images/s", "gflops": 0.3 * 52.1},
    {"kind": "sgemm", "case": "197x768x3072", "threads": 1, "impl": "numpy", "gflops": 60.0},
    {"kind": "sgemm", "case": "197x768x3072", "threads": 2, "impl": "numpy", "gflops": 125.0},
    {"kind": "sgemm", "case": "197x768x3072", "threads": 2, "impl": "torch", "gflops": 120.0},
]


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def write(self, name, text):
        p = os.path.join(self.dir.name, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_go_case_names(self):
        cases = {
            "BenchmarkImageEncoder/batch8": ("model", "image/b8", None),
            "BenchmarkTextEncoder": ("model", "text/b8x77", None),
            "BenchmarkTextEncoder/seq16": ("model", "text/b8x16", None),
            "BenchmarkMultimodalEncoder": ("model", "multimodal/b8", None),
            "BenchmarkCodebook112": ("model", "codebook/b1", None),
            "BenchmarkCodebook112/batch8": ("model", "codebook/b8", None),
            "BenchmarkSgemm/1576x768x3072/threads=2": ("sgemm", "1576x768x3072", 2),
            "BenchmarkSgemm/197x768x3072/gokernel/threads=1": None,
            "BenchmarkZeroShot": None,
        }
        for name, want in cases.items():
            self.assertEqual(report.go_case(name), want, name)

    def test_parse_go_strips_gomaxprocs_suffix(self):
        p = self.write("k.txt", GO_KERNELS)
        got = [(c, t, m["GFLOP/s"]) for _, c, t, m in report.parse_go(p, None)]
        self.assertEqual(got, [("197x768x3072", 1, 59.0), ("197x768x3072", 2, 100.0)])

    def test_table(self):
        tj = self.write("t.jsonl", "\n".join(json.dumps(o) for o in TORCH) + "\n")
        args = SimpleNamespace(torch=[tj], go_flava=["2:" + self.write("g2.txt", GO_FLAVA_T2),
                                                     "1:" + self.write("g1.txt", GO_FLAVA_T1)],
                               go_kernels=[self.write("k.txt", GO_KERNELS)])
        lines = report.build(args)
        rows = {tuple(l.split()[:2]): l.split() for l in lines if l[:1].isalpha() and "/" in l.split()[0]}
        rows.update({tuple(l.split()[:2]): l.split() for l in lines if l.startswith("197x")})
        # image/b8 at 2 threads: Go median of 0.8, 1.0, 0.9 = 0.9; PyTorch best config 0.6.
        r = rows[("image/b8", "2")]
        self.assertEqual(r[3:8], ["0.900", "0.600", "torch1+blas2", "1.50", ">=1.30"])
        self.assertEqual(r[8], "ok")
        self.assertIn("torch2+blas2", r[-2])
        r = rows[("image/b8", "1")]
        self.assertEqual(r[3:7], ["0.500", "0.400", "torch1+blas1", "1.25"])
        # Codebook batch 8 has no Go peer here.
        r = rows[("codebook/b8", "2")]
        self.assertEqual(r[3], "-")
        self.assertIn("# No Go benchmark for: codebook/b8 (see scripts/bench/README.md)", lines)
        # sgemm: 59/60 < 0.9? no: 0.98 ok; 100/125 = 0.80 MISS.
        self.assertEqual(rows[("197x768x3072", "1")][2:7], ["59.0", "60.0", "0.98", ">=0.90", "ok"])
        self.assertEqual(rows[("197x768x3072", "2")][2:8], ["100.0", "125.0", "0.80", ">=0.90", "MISS", "120.0"])
        # Different work counts between the sides are flagged (text/b8x16: Go 1.44 GFLOP per text,
        # PyTorch 1.0), equal ones are not (image/b8: 34.9 on both).
        warnings = [l for l in lines if l.startswith("# WARNING")]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertTrue(warnings[0].startswith("# WARNING text/b8x16"), warnings)
        self.assertEqual(rows[("text/b8x16", "2")][3:7], ["20.000", "10.000", "torch2+blas2", "2.00"])
        # image/b1 exists only on the Go side: listed, with no PyTorch value.
        self.assertEqual(rows[("image/b1", "2")][3:5], ["0.860", "-"])


if __name__ == "__main__":
    unittest.main()
