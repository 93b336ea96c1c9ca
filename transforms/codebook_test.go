package transforms

import (
	"context"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/schemas"
)

// The tiny fixture's image sizes (see fixtureModelDir).
const tinyPreprocessorConfig = `{"size": {"height": 64, "width": 64}, "crop_size": {"height": 64, "width": 64},
	"codebook_size": {"height": 32, "width": 32}, "codebook_crop_size": {"height": 32, "width": 32},
	"input_size_patches": 4, "total_mask_patches": 6, "mask_group_min_patches": 2, "mask_group_max_patches": 6}`

// A Bundle loaded for a stage that needs no codebook gets the fallback
// codebook attached, once, when a MIM stage of the same model sets up: one
// model load per process, labels naming facebook/flava-image-codebook.
func TestFallbackCodebookAttachesToTheSharedBundle(t *testing.T) {
	opts := Options{
		Model:       fixtures.NoCodebookModelDir(t, tinyPreprocessorConfig),
		HubCacheDir: fixtures.HubCache(t, pretrained.FlavaCodebook, fixtures.CodebookDir(t, false)),
		Offline:     true, BatchSize: 2, MaxLength: 16,
	}
	key := opts.ModelKey()
	t.Cleanup(func() { Forget(key); Forget("codebook|" + key) })

	plain, err := setupModel(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if plain.bundle.Codebook() != nil {
		t.Fatal("the model has no codebook: the plain bundle should have none")
	}
	need := opts
	need.NeedCodebook = true
	mim, err := setupModel(context.Background(), need)
	if err != nil {
		t.Fatal(err)
	}
	if mim.bundle != plain.bundle || mim.bundle.Codebook() == nil || mim.bundle.CodebookID != pretrained.FlavaCodebook {
		t.Fatalf("MIM bundle: same %v, codebook %v, id %q", mim.bundle == plain.bundle, mim.bundle.Codebook() != nil, mim.bundle.CodebookID)
	}

	recs := pairRecords(t, 6)
	p, s := beam.NewPipelineWithRoot()
	col := beam.CreateList(s, recs)
	e, _ := Embed(s, col, EmbedOptions{Options: opts})
	m, dead := LabelMIM(s, col, opts)
	ne, nm, nd := collect[schemas.Embedding](s, e), collect[schemas.MIMLabel](s, m), collect[schemas.DeadLetter](s, dead)
	if _, err := ptest.RunWithMetrics(p); err != nil {
		t.Fatal(err)
	}
	if len(ne()) != 6 || len(nm()) != 6 || len(nd()) != 0 {
		t.Fatalf("%d embeddings, %d labels, dead letters %q; want 6, 6, none", len(ne()), len(nm()), brief(nd()))
	}
	for _, l := range nm() {
		if l.ModelID != pretrained.FlavaCodebook {
			t.Errorf("%s: model_id %q, want the codebook's %q", l.ID, l.ModelID, pretrained.FlavaCodebook)
		}
	}
	if n := SharedLoads(key); n != 1 {
		t.Errorf("model loaded %d times, want once", n)
	}
}
