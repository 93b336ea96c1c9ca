package parquetio

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/schemas"
)

func init() {
	register.Function1x1(canonical)
	register.Function1x1(deadReason)
	register.Function1x1(baseName)
}

func deadReason(d schemas.DeadLetter) string { return d.Reason + " " + filepath.Base(d.ID) }

func baseName(p string) string { return filepath.Base(p) }

func TestPipelineWriteThenReadRoundTrips(t *testing.T) {
	dir := t.TempDir()
	recs := sampleRecords(23)
	var want []any
	for _, r := range recs {
		want = append(want, canonical(r))
	}

	p, s := beam.NewPipelineWithRoot()
	files := Write(s, filepath.Join(dir, "in"), beam.CreateList(s, recs), WriteOptions{NumShards: 3, RowGroupRows: 2})
	passert.Equals(s, beam.ParDo(s, baseName, files),
		"in-00000-of-00003.parquet", "in-00001-of-00003.parquet", "in-00002-of-00003.parquet")
	ptest.RunAndValidate(t, p)

	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d entries in output dir, want 3 shards and no temp files", len(entries))
	}
	total := int64(0)
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		for _, rg := range pf.RowGroups() {
			if rg.NumRows() > 2 {
				t.Errorf("%s: row group of %d rows, want <= 2", e.Name(), rg.NumRows())
			}
		}
		total += pf.NumRows()
		f.Close()
	}
	if total != int64(len(recs)) {
		t.Errorf("shards hold %d rows, want %d", total, len(recs))
	}

	p, s = beam.NewPipelineWithRoot()
	got, dead := Read(s, filepath.Join(dir, "in-*.parquet"), ReadOptions{})
	passert.Equals(s, beam.ParDo(s, canonical, got), want...)
	passert.Empty(s, dead)
	ptest.RunAndValidate(t, p)
}

func TestPipelineWritesEveryShardAndEveryOutputType(t *testing.T) {
	dir := t.TempDir()
	p, s := beam.NewPipelineWithRoot()
	Write(s, filepath.Join(dir, "emb"), beam.Create(s, schemas.Embedding{ID: "a", ModelID: "m", ImageVector: []float32{1, 2}}), WriteOptions{NumShards: 4})
	Write(s, filepath.Join(dir, "score"), beam.Create(s, schemas.Score{ID: "a", TopK: []schemas.LabelScore{{Label: "x", Probability: 0.5}}}), WriteOptions{})
	Write(s, filepath.Join(dir, "mim"), beam.Create(s, schemas.MIMLabel{ID: "a", GridH: 1, GridW: 2, CodebookIDs: []int32{3, 4}, MaskedPositions: []int32{1}}), WriteOptions{Compression: "zstd"})
	Write(s, filepath.Join(dir, "dead"), beam.Create(s, schemas.DeadLetter{ID: "a", Stage: "x", Reason: schemas.ReasonDecode, Payload: []byte{1}}), WriteOptions{DataPageV1: true})
	ptest.RunAndValidate(t, p)
	for _, name := range []string{"emb-00000-of-00004", "emb-00001-of-00004", "emb-00002-of-00004", "emb-00003-of-00004", "score-00000-of-00001", "mim-00000-of-00001", "dead-00000-of-00001"} {
		if _, err := os.Stat(filepath.Join(dir, name+".parquet")); err != nil {
			t.Error(err)
		}
	}
	var embs []schemas.Embedding
	for i := 0; i < 4; i++ {
		rows, err := parquet.ReadFile[schemas.Embedding](filepath.Join(dir, ShardName("emb", i, 4)))
		if err != nil {
			t.Fatal(err)
		}
		embs = append(embs, rows...)
	}
	if len(embs) != 1 || embs[0].ID != "a" || len(embs[0].ImageVector) != 2 || embs[0].TextVector != nil {
		t.Errorf("embeddings %+v", embs)
	}
	mims, err := parquet.ReadFile[schemas.MIMLabel](filepath.Join(dir, "mim-00000-of-00001.parquet"))
	if err != nil || len(mims) != 1 || mims[0].CodebookIDs[1] != 4 {
		t.Errorf("mim %+v %v", mims, err)
	}
}

func TestPipelineReadDeadLettersCorruptFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "good.parquet"), sampleRecords(5), WriteOptions{RowGroupRows: 2})
	if err := os.WriteFile(filepath.Join(dir, "bad.parquet"), []byte("PAR1 not really PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Issue 15: parquet-go allocated the 4 GiB this footer length declares.
	if err := os.WriteFile(filepath.Join(dir, "huge_footer.parquet"), hugeFooterRecords(t), 0o644); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	got, dead := Read(s, filepath.Join(dir, "*.parquet"), ReadOptions{})
	passert.Count(s, got, "records", 5)
	passert.Equals(s, beam.ParDo(s, deadReason, dead), ReasonCorruptFile+" bad.parquet", ReasonCorruptFile+" huge_footer.parquet")
	ptest.RunAndValidate(t, p)
}
