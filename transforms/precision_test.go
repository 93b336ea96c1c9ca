package transforms

import (
	"context"
	"errors"
	"math"
	"sort"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/schemas"
)

// TestPrecisionOption runs Embed on the tiny fixture at f32 and at bf16:
// the two precisions are different cached bundles, and the bf16 vectors are
// close to the float32 ones (cosine ≥ 0.9999; flava's TestBF16MatchesF32
// has the bounds per fixture). On a CPU without native bf16 the bf16
// pipeline must fail at setup with flava.ErrBF16Unsupported instead.
func TestPrecisionOption(t *testing.T) {
	dir := tinyModelDir(t)
	f32, bf16 := Options{Model: dir, BatchSize: 4, MaxLength: 16}, Options{Model: dir, BatchSize: 4, MaxLength: 16, Precision: "bf16"}
	if f32.ModelKey() == bf16.ModelKey() {
		t.Fatalf("f32 and bf16 share the bundle key %q", f32.ModelKey())
	}
	if explicit := (Options{Model: dir, BatchSize: 4, MaxLength: 16, Precision: "F32"}); explicit.ModelKey() != f32.ModelKey() {
		t.Errorf("Precision \"F32\" key %q differs from the default's %q", explicit.ModelKey(), f32.ModelKey())
	}
	t.Cleanup(func() { Forget(f32.ModelKey()); Forget(bf16.ModelKey()) })
	recs := pairRecords(t, 6)
	run := func(o Options) ([]schemas.Embedding, error) {
		p, s := beam.NewPipelineWithRoot()
		out, dead := Embed(s, beam.CreateList(s, recs), EmbedOptions{Options: o})
		got, deads := collect[schemas.Embedding](s, out), collect[schemas.DeadLetter](s, dead)
		if err := ptest.Run(p); err != nil {
			return nil, err
		}
		if d := deads(); len(d) != 0 {
			t.Fatalf("dead letters: %q", brief(d))
		}
		e := got()
		sort.Slice(e, func(i, j int) bool { return e[i].ID < e[j].ID })
		return e, nil
	}
	want, err := run(f32)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(bf16)
	if !flava.BF16Supported() {
		if err == nil || !errors.Is(err, flava.ErrBF16Unsupported) && !contains(err.Error(), "AVX512_BF16") {
			t.Fatalf("bf16 without native bf16: %v, want a setup error naming AVX512_BF16", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) != len(recs) {
		t.Fatalf("%d bf16 and %d f32 embeddings for %d records", len(got), len(want), len(recs))
	}
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab, aa, bb = ab+float64(a[i])*float64(b[i]), aa+float64(a[i])*float64(a[i]), bb+float64(b[i])*float64(b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	identical := true
	for i := range got {
		for _, v := range [][2][]float32{{got[i].ImageVector, want[i].ImageVector}, {got[i].TextVector, want[i].TextVector},
			{got[i].MultimodalVector, want[i].MultimodalVector}} {
			if len(v[0]) == 0 || len(v[0]) != len(v[1]) {
				t.Fatalf("%s: vector lengths %d and %d", got[i].ID, len(v[0]), len(v[1]))
			}
			if c := cos(v[0], v[1]); !(c >= 0.9999) {
				t.Errorf("%s: cosine bf16 to f32 %.6f, want ≥ 0.9999", got[i].ID, c)
			}
			for j := range v[0] {
				identical = identical && v[0][j] == v[1][j]
			}
		}
	}
	if identical {
		t.Error("bf16 vectors equal the f32 ones bit for bit: the precision option had no effect")
	}
}

// TestPrecisionAppliesToTheCodebook: --precision bf16 runs the image
// codebook's convolutions in bf16 too, whether the checkpoint brings the
// codebook or it is attached later for a MIM stage.
func TestPrecisionAppliesToTheCodebook(t *testing.T) {
	if !flava.BF16Supported() {
		t.Skip("no native bf16 on this CPU (TestPrecisionOption checks the refusal)")
	}
	for _, p := range []string{"f32", "bf16"} {
		o := Options{Model: tinyModelDir(t), BatchSize: 4, MaxLength: 16, Precision: p, NeedCodebook: true}
		t.Cleanup(func() { Forget(o.ModelKey()) })
		h, err := setupModel(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		cb := h.bundle.Codebook()
		if cb == nil {
			t.Fatalf("%s: no codebook after setup with NeedCodebook", p)
		}
		if got := cb.Precision(); got != o.precision() {
			t.Errorf("Precision %q: codebook at %v", p, got)
		}
	}
}
