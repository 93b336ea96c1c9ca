package flava

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// codebookBF16Agreement compares bf16 codebook logits (B×vocab×h×w) and
// ids with float32 ones: the share of equal token ids, the smallest cosine
// of a pixel's logit vector, and the largest absolute logit difference.
func codebookBF16Agreement(logits32, logits16 *tensor.Tensor, ids32, ids16 *tensor.Int64) (equal, minCos, maxAbs float64) {
	n, c, h, w := logits32.Shape[0], logits32.Shape[1], logits32.Shape[2], logits32.Shape[3]
	hw := h * w
	same := 0
	for i := range ids32.Data {
		if ids32.Data[i] == ids16.Data[i] {
			same++
		}
	}
	minCos = 1
	a, b := make([]float32, c), make([]float32, c)
	for im := 0; im < n; im++ {
		for p := 0; p < hw; p++ {
			for ch := 0; ch < c; ch++ {
				a[ch] = logits32.Data[(im*c+ch)*hw+p]
				b[ch] = logits16.Data[(im*c+ch)*hw+p]
			}
			minCos = min(minCos, cosine(a, b))
		}
	}
	d, _ := tensor.MaxAbsDiff(logits32.Data, logits16.Data)
	return float64(same) / float64(len(ids32.Data)), minCos, d
}

// TestCodebookBF16AgreesWithF32 runs every fixture's codebook at bf16 and
// compares it with float32 on the fixture's pixels: token ids (the MIM
// labels), logit vectors and magnitudes, within bounds set a few times
// looser than what was measured (logged; BENCHMARKS.md). Switching back to
// float32 must give the float32 logits bit for bit, so bf16 does not leak
// into the parity path.
func TestCodebookBF16AgreesWithF32(t *testing.T) {
	allowBF16(t)
	for _, dir := range fixtures.Dirs(t, "manifest.json", "codebook.safetensors", "codebook_config.json", "inputs.safetensors") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f := ptOpenFixture(t, dir)
			cb, err := LoadImageCodebookFiles(filepath.Join(dir, "codebook.safetensors"), filepath.Join(dir, "codebook_config.json"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cb.Close() })
			px := f.inFloat(t, "codebook_pixel_values")
			run := func() (*tensor.Tensor, *tensor.Int64) {
				logits, err := cb.Forward(px)
				if err != nil {
					t.Fatal(err)
				}
				ids, err := cb.CodebookIndices(px)
				if err != nil {
					t.Fatal(err)
				}
				return logits, ids
			}
			l32, i32 := run()
			if err := cb.SetPrecision(PrecisionBF16); err != nil {
				t.Fatal(err)
			}
			if cb.Precision() != PrecisionBF16 {
				t.Fatalf("Precision() = %v after SetPrecision(bf16)", cb.Precision())
			}
			l16, i16 := run()
			if err := cb.SetPrecision(PrecisionF32); err != nil {
				t.Fatal(err)
			}
			lBack, iBack := run()
			if d, _ := tensor.MaxAbsDiff(lBack.Data, l32.Data); d != 0 || !sameInt64(iBack.Data, i32.Data) {
				t.Fatalf("back at f32: logits differ by %g from the first f32 run", d)
			}
			// bf16 argmax must come from the bf16 logits.
			if got := argmaxChannels(l16); !sameInt64(got.Data, i16.Data) {
				t.Fatal("bf16 CodebookIndices disagree with the argmax of bf16 Forward")
			}
			equal, minCos, maxAbs := codebookBF16Agreement(l32, l16, i32, i16)
			scale, _ := tensor.MaxAbsDiff(l32.Data, make([]float32, len(l32.Data)))
			t.Logf("%d token ids: %.2f %% equal; logit vectors: min cosine %.6f; max abs logit diff %.4g (largest |logit| %.3g)",
				len(i32.Data), 100*equal, minCos, maxAbs, scale)
			if equal < codebookBF16MinEqual || minCos < codebookBF16MinCos || maxAbs > codebookBF16MaxRel*scale {
				t.Errorf("bf16 vs f32: %.4f equal ids (want ≥ %.2f), min cosine %.6f (want ≥ %.4f), max abs %.4g (want ≤ %.3g·%.3g)",
					equal, codebookBF16MinEqual, minCos, codebookBF16MinCos, maxAbs, codebookBF16MaxRel, scale)
			}
		})
	}
}

// The bounds of TestCodebookBF16AgreesWithF32. Measured on the fixtures
// (Zen 4, native VDPBF16PS; the emulation gives the same bits): equal ids
// 99.23 % (base-shape, 392 ids), 100 % (flags, 72), 93.75 % (tiny, 32: two
// flips); min cosine 0.999971–0.999975; max abs logit difference 0.49–0.76 %
// of the largest |logit|. Bounds: 2.4× the worst disagreement, 10× the
// cosine gap, 4× the logit error.
const (
	codebookBF16MinEqual = 0.85
	codebookBF16MinCos   = 0.9997
	codebookBF16MaxRel   = 0.03
)

func sameInt64(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCodebookBF16DoesNotAllocate: the bf16 fast path with a warm
// Workspace allocates nothing, like the float32 one.
func TestCodebookBF16DoesNotAllocate(t *testing.T) {
	allowBF16(t)
	cb := smallCodebook(t)
	if err := cb.SetPrecision(PrecisionBF16); err != nil {
		t.Fatal(err)
	}
	px := codebookPixels(2, 24)
	var ws Workspace
	var ids tensor.Int64
	run := func() {
		if err := cb.CodebookIndicesInto(&ws, &ids, px); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run()
	if a := steadyAllocsPerRun(run); a != 0 {
		t.Errorf("bf16 codebook with a warm Workspace: %v allocations per run, want 0", a)
	}
}

// steadyAllocsPerRun is the smallest of three testing.AllocsPerRun(5, f)
// measurements. The kernels pool waits on sync.WaitGroups, and a wait that
// blocks takes a sudog from the runtime's per-P cache, which every garbage
// collection empties: a collection during a measurement (another test's
// garbage, a loaded machine) makes the next waits allocate a few sudogs,
// which is the runtime's, not the forward pass's. An allocation of the
// forward pass itself shows in every measurement.
func steadyAllocsPerRun(f func()) float64 {
	best := testing.AllocsPerRun(5, f)
	for i := 0; i < 2 && best != 0; i++ {
		best = min(best, testing.AllocsPerRun(5, f))
	}
	return best
}

// TestCodebookSetPrecisionRejects: unknown precisions, and bf16 where the
// CPU has no native bf16 (without the tests' emulation switch).
func TestCodebookSetPrecisionRejects(t *testing.T) {
	cb := smallCodebook(t)
	if err := cb.SetPrecision(Precision(9)); err == nil {
		t.Error("SetPrecision(9) accepted")
	}
	err := cb.SetPrecision(PrecisionBF16)
	if BF16Supported() != (err == nil) || (err != nil && !errors.Is(err, ErrBF16Unsupported)) {
		t.Errorf("SetPrecision(bf16) = %v with BF16Supported() = %v", err, BF16Supported())
	}
}
