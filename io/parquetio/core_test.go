package parquetio

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/schemas"
)

func sampleRecords(n int) []schemas.ImageText {
	out := make([]schemas.ImageText, n)
	for i := range out {
		r := schemas.ImageText{ID: "rec-" + string(rune('a'+i%26)) + "-" + itoa(i)}
		switch i % 4 {
		case 0:
			r.Image = []byte{0xff, 0xd8, byte(i), 0xff, 0xd9}
			r.Text = "caption " + itoa(i) + " — ü"
		case 1:
			r.ImageURI = "/data/img" + itoa(i) + ".png"
			r.Labels = []string{"cat", "dog"}
		case 2:
			r.Text = "text only"
			r.Metadata = map[string]string{"split": "train", "n": itoa(i)}
		case 3:
			r.Image = []byte{1, 2, 3}
			r.Labels = []string{"only"}
			r.Metadata = map[string]string{"k": ""}
			r.EventTime = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
		}
		out[i] = r
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// canonical renders a record as sorted-key JSON so records can be compared
// as strings regardless of map order or time location.
func canonical(r schemas.ImageText) string {
	if !r.EventTime.IsZero() {
		r.EventTime = r.EventTime.UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func writeFile(t testing.TB, path string, recs []schemas.ImageText, opts WriteOptions) {
	t.Helper()
	var buf bytes.Buffer
	if err := writeRows[schemas.ImageText](&buf, func(yield func(schemas.ImageText) bool) {
		for _, r := range recs {
			if !yield(r) {
				return
			}
		}
	}, opts); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

type collected struct {
	units []RowGroupUnit
	recs  []schemas.ImageText
	dead  []schemas.DeadLetter
}

// runDoFns drives Read's DoFns directly, without a runner, unit by unit.
func runDoFns(t testing.TB, glob string, opts ReadOptions) (c collected, perUnit map[RowGroupUnit][]string) {
	t.Helper()
	ctx := context.Background()
	var files []string
	(&expandFn{}).ProcessElement(ctx, glob, func(f string) { files = append(files, f) }, func(d schemas.DeadLetter) { c.dead = append(c.dead, d) })
	for _, f := range files {
		(&splitFn{Options: opts}).ProcessElement(ctx, f, func(u RowGroupUnit) { c.units = append(c.units, u) }, func(d schemas.DeadLetter) { c.dead = append(c.dead, d) })
	}
	perUnit = map[RowGroupUnit][]string{}
	rf := &readFn{Options: opts}
	for _, u := range c.units {
		rf.ProcessElement(ctx, u, func(r schemas.ImageText) {
			c.recs = append(c.recs, r)
			perUnit[u] = append(perUnit[u], r.ID)
		}, func(d schemas.DeadLetter) { c.dead = append(c.dead, d) })
	}
	rf.Teardown()
	return c, perUnit
}

func TestWrittenImageTextReadsBackField(t *testing.T) {
	for _, v1 := range []bool{false, true} {
		for _, comp := range []string{"", "zstd", "gzip", "none"} {
			path := filepath.Join(t.TempDir(), "x.parquet")
			want := sampleRecords(11)
			writeFile(t, path, want, WriteOptions{RowGroupRows: 4, Compression: comp, DataPageV1: v1})
			c, _ := runDoFns(t, path, ReadOptions{})
			if len(c.dead) != 0 {
				t.Fatalf("v1=%v %s: dead letters %+v", v1, comp, c.dead)
			}
			if len(c.recs) != len(want) {
				t.Fatalf("v1=%v %s: read %d records, want %d", v1, comp, len(c.recs), len(want))
			}
			for i := range want {
				if g, w := canonical(c.recs[i]), canonical(want[i]); g != w {
					t.Errorf("v1=%v %s record %d:\n got %s\nwant %s", v1, comp, i, g, w)
				}
			}
		}
	}
}

func TestReadSplitsByRowGroup(t *testing.T) {
	dir := t.TempDir()
	want := sampleRecords(17)
	writeFile(t, filepath.Join(dir, "a.parquet"), want[:14], WriteOptions{RowGroupRows: 3})
	writeFile(t, filepath.Join(dir, "b.parquet"), want[14:], WriteOptions{RowGroupRows: 3})
	c, perUnit := runDoFns(t, filepath.Join(dir, "*.parquet"), ReadOptions{})
	if len(c.dead) != 0 {
		t.Fatalf("dead letters: %+v", c.dead)
	}
	// a: 3+3+3+3+2, b: 3.
	if len(c.units) != 6 {
		t.Fatalf("%d units, want 6: %+v", len(c.units), c.units)
	}
	seen := map[string]bool{}
	for _, u := range c.units {
		ids := perUnit[u]
		if int64(len(ids)) != u.NumRows {
			t.Errorf("unit %+v produced %d records", u, len(ids))
		}
		wantN := int64(3)
		if filepath.Base(u.Path) == "a.parquet" && u.RowGroup == 4 {
			wantN = 2
		}
		if u.NumRows != wantN || u.FirstRow != int64(u.RowGroup)*3 {
			t.Errorf("unit %+v: want %d rows from row %d", u, wantN, u.RowGroup*3)
		}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("record %s read by two units", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != len(want) {
		t.Errorf("read %d distinct records, want %d", len(seen), len(want))
	}
}

func TestReadDeadLettersBadFilesAndRows(t *testing.T) {
	dir := t.TempDir()
	good := sampleRecords(3)
	writeFile(t, filepath.Join(dir, "good.parquet"), good, WriteOptions{})
	var buf bytes.Buffer
	if err := writeRows[schemas.ImageText](&buf, func(yield func(schemas.ImageText) bool) {
		yield(schemas.ImageText{ID: "ok", Text: "fine"})
		yield(schemas.ImageText{ID: "empty"})
		yield(schemas.ImageText{ID: "badtext", Text: "\xff\xfe"})
	}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rows.parquet"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage.parquet"), []byte("this is not parquet at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(filepath.Join(dir, "good.parquet"))
	if err := os.WriteFile(filepath.Join(dir, "truncated.parquet"), full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := runDoFns(t, filepath.Join(dir, "*.parquet"), ReadOptions{})
	var ids []string
	for _, r := range c.recs {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	wantIDs := []string{"ok", good[0].ID, good[1].ID, good[2].ID}
	sort.Strings(wantIDs)
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("records %v, want %v", ids, wantIDs)
	}
	reasons := map[string]string{}
	for _, d := range c.dead {
		if d.Stage != StageRead || d.Message == "" || d.Time.IsZero() {
			t.Errorf("incomplete dead letter %+v", d)
		}
		reasons[filepath.Base(d.ID)] = d.Reason
	}
	want := map[string]string{
		"garbage.parquet":   ReasonCorruptFile,
		"truncated.parquet": ReasonCorruptFile,
		"empty":             schemas.ReasonMissingInput,
		"badtext":           schemas.ReasonInvalidText,
	}
	if !reflect.DeepEqual(reasons, want) {
		t.Errorf("dead letters %v, want %v", reasons, want)
	}

	c, _ = runDoFns(t, filepath.Join(dir, "nothing-*.parquet"), ReadOptions{})
	if len(c.dead) != 1 || c.dead[0].Reason != schemas.ReasonRead {
		t.Errorf("unmatched glob: %+v", c.dead)
	}
	c, _ = runDoFns(t, filepath.Join(dir, "good.parquet"), ReadOptions{TextColumn: "nope"})
	if len(c.dead) != 1 || c.dead[0].Reason != schemas.ReasonRead || !strings.Contains(c.dead[0].Message, `column "nope" for text not found`) {
		t.Errorf("missing explicit column: %+v", c.dead)
	}
}

// foreignRow mimics what other tools write: different names, an integer ID,
// the Hugging Face image struct, a JSON metadata string, millisecond times,
// required columns.
type foreignRow struct {
	Key   int64 `parquet:"key"`
	Image struct {
		Bytes []byte `parquet:"bytes,optional"`
		Path  string `parquet:"path,optional"`
	} `parquet:"image,optional"`
	Caption  string    `parquet:"Caption"`
	Labels   []string  `parquet:"candidate_labels,list"`
	Metadata string    `parquet:"metadata,optional"`
	When     time.Time `parquet:"timestamp,timestamp(millisecond)"`
	Extra    float64   `parquet:"extra"`
}

func TestReadMapsForeignColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "foreign.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[foreignRow](f)
	ts := time.Date(2023, 1, 2, 3, 4, 5, 6e6, time.UTC)
	rows := []foreignRow{{Key: 7, Caption: "a dog", Labels: []string{"dog", "cat"}, Metadata: `{"a":"b"}`, When: ts}, {Key: 8, Caption: "x"}}
	rows[0].Image.Bytes = []byte{9, 9}
	rows[0].Image.Path = "dog.jpg"
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c, _ := runDoFns(t, path, ReadOptions{})
	if len(c.dead) != 0 {
		t.Fatalf("dead letters: %+v", c.dead)
	}
	want := []schemas.ImageText{
		{ID: "7", Image: []byte{9, 9}, ImageURI: "dog.jpg", Text: "a dog", Labels: []string{"dog", "cat"}, Metadata: map[string]string{"a": "b"}, EventTime: ts},
		{ID: "8", Text: "x"}, // parquet-go stores the zero time.Time as year 1, read back as zero
	}
	for i := range want {
		if g, w := canonical(c.recs[i]), canonical(want[i]); g != w {
			t.Errorf("record %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (WriteOptions{}).Validate(); err != nil {
		t.Errorf("zero WriteOptions: %v", err)
	}
	if err := (ReadOptions{}).Validate(); err != nil {
		t.Errorf("zero ReadOptions: %v", err)
	}
	bad := map[string]WriteOptions{
		"NumShards":    {NumShards: -1},
		"RowGroupRows": {RowGroupRows: -5},
		"Compression":  {Compression: "lzma"},
	}
	for field, o := range bad {
		err := o.Validate()
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(field)) {
			t.Errorf("%s: err = %v", field, err)
		}
	}
	if err := (ReadOptions{TextColumn: "a..b"}).Validate(); err == nil || !bytes.Contains([]byte(err.Error()), []byte("TextColumn")) {
		t.Errorf("TextColumn: err = %v", err)
	}
	if ShardName("out/emb", 3, 12) != "out/emb-00003-of-00012.parquet" {
		t.Error(ShardName("out/emb", 3, 12))
	}
}
