package pipelines

import (
	"context"
	"path/filepath"
	"sort"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/model/tokenizer"
	"github.com/flavabeam/flavabeam/schemas"
)

func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}

// records is the repository's generated test file (internal/gentestdata).
const records = "../testdata/records.parquet"

// The records of testdata/records.parquet: 22 good image–text pairs and two
// bad ones, with the dead-letter reason each job gives them.
const goodRecords = 22

var badRecords = map[string]string{
	"bad-corrupt-image": schemas.ReasonDecode,
	"bad-empty":         schemas.ReasonMissingInput,
}

// inputRecords reads the test file directly.
func inputRecords(t *testing.T) map[string]schemas.ImageText {
	t.Helper()
	recs, err := parquet.ReadFile[schemas.ImageText](records)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]schemas.ImageText{}
	for _, r := range recs {
		m[r.ID] = r
	}
	return m
}

// readShards reads every <dir>/<name>-*.parquet file.
func readShards[T any](t *testing.T, dir, name string) []T {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, name+"-*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s shards in %s (%v)", name, dir, err)
	}
	var out []T
	for _, f := range files {
		rows, err := parquet.ReadFile[T](f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, rows...)
	}
	return out
}

// run runs p and returns its summary, failing the test on error.
func run(t *testing.T, build func() (Summary, error)) Summary {
	t.Helper()
	s, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkDeadLetters checks that exactly the bad test records were
// dead-lettered, with the expected reasons, and that the summary agrees.
func checkDeadLetters(t *testing.T, dead []schemas.DeadLetter, sum Summary, outs int) {
	t.Helper()
	got := map[string]string{}
	for _, d := range dead {
		got[d.ID] = d.Reason
		if d.Stage == "" || d.Message == "" || d.Time.IsZero() {
			t.Errorf("dead letter %q lacks stage, message or time: %+v", d.ID, d)
		}
	}
	if len(dead) != len(badRecords) {
		t.Errorf("%d dead letters %v, want %v", len(dead), got, badRecords)
	}
	for id, reason := range badRecords {
		if got[id] != reason {
			t.Errorf("dead letter of %s: reason %q, want %q", id, got[id], reason)
		}
	}
	if outs != goodRecords {
		t.Errorf("%d outputs, want %d", outs, goodRecords)
	}
	if sum.RecordsIn != goodRecords+int64(len(badRecords)) || sum.RecordsOut != goodRecords || sum.DeadLetters != int64(len(badRecords)) {
		t.Errorf("summary in/out/dead = %d/%d/%d, want %d/%d/%d", sum.RecordsIn, sum.RecordsOut, sum.DeadLetters,
			goodRecords+len(badRecords), goodRecords, len(badRecords))
	}
	var byReason int64
	for _, n := range sum.DeadByReason {
		byReason += n
	}
	if byReason != sum.DeadLetters {
		t.Errorf("dead letters by reason %v do not add up to %d", sum.DeadByReason, sum.DeadLetters)
	}
}

// reference computes what the model API gives for one record, directly.
type reference struct {
	b *pretrained.Bundle
}

func newReference(t *testing.T, source string) reference {
	t.Helper()
	b, err := pretrained.Load(context.Background(), source, pretrained.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return reference{b}
}

func (r reference) pixels(t *testing.T, img []byte) *tensor.Tensor {
	t.Helper()
	rgb, err := r.b.Images.Decode(img)
	if err != nil {
		t.Fatal(err)
	}
	c, h, w := r.b.Images.PixelShape(rgb.W, rgb.H)
	return tensor.FromData(r.b.Images.PixelValues(rgb), 1, c, h, w)
}

func (r reference) text(t *testing.T, text string) flava.TextInput {
	t.Helper()
	enc, err := r.b.Tokenizer.Encode(text, tokenizer.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids, mask := tensor.NewInt64(1, len(enc.IDs)), tensor.NewInt64(1, len(enc.IDs))
	for i := range enc.IDs {
		ids.Data[i], mask.Data[i] = int64(enc.IDs[i]), int64(enc.AttentionMask[i])
	}
	return flava.TextInput{InputIDs: ids, AttentionMask: mask}
}

func (r reference) imageVector(t *testing.T, img []byte) []float32 {
	t.Helper()
	v, err := r.b.Scorer.ImageVectors(flava.ImageInput{PixelValues: r.pixels(t, img)})
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

func (r reference) textVector(t *testing.T, text string) []float32 {
	t.Helper()
	v, err := r.b.Scorer.TextVectors(r.text(t, text))
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

// closeVec compares vectors computed in different batch compositions: the
// kernels' blocking may change the last bits, never more.
func closeVec(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: length %d, want %d", what, len(got), len(want))
		return
	}
	if d, i := tensor.MaxAbsDiff(got, want); d > 1e-5 {
		t.Errorf("%s: max |diff| %g (element %d) from the model API", what, d, i)
	}
}

func sortedIDs[T any](rows []T, id func(T) string) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = id(r)
	}
	sort.Strings(ids)
	return ids
}
