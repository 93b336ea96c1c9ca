package parquetio

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/schemas"
)

// pyarrowFileRecords is what testdata/make_pyarrow.py writes, as ImageText.
var pyarrowFileRecords = map[string][]schemas.ImageText{
	"imagetext.parquet": {
		{ID: "p0", Image: []byte{0xff, 0xd8, 0x00}, Text: "a photo", Labels: []string{"cat", "dog"},
			Metadata: map[string]string{"k": "v", "z": ""}, EventTime: time.Date(2024, 2, 3, 4, 5, 6, 789000000, time.UTC)},
		{ID: "p1", ImageURI: "s3://b/p1.jpg"},
		{ID: "p2", Text: "only text", EventTime: time.Date(1999, 12, 31, 23, 59, 59, 1000, time.UTC)},
	},
	"hf_style.parquet": {
		{ID: "10", Image: []byte("\x89PNG"), ImageURI: "a.png", Text: "first", Metadata: map[string]string{"src": "hf"},
			EventTime: time.Date(2020, 1, 1, 0, 0, 1, 500000000, time.UTC)},
		{ID: "11", ImageURI: "b.png", Text: "second"},
	},
}

func checkPyarrowFiles(t *testing.T, dir string) {
	t.Helper()
	for name, want := range pyarrowFileRecords {
		c, _ := runDoFns(t, filepath.Join(dir, name), ReadOptions{})
		if len(c.dead) != 0 {
			t.Errorf("%s: dead letters %+v", name, c.dead)
		}
		if len(c.recs) != len(want) {
			t.Errorf("%s: %d records, want %d", name, len(c.recs), len(want))
			continue
		}
		for i := range want {
			if g, w := canonical(c.recs[i]), canonical(want[i]); g != w {
				t.Errorf("%s record %d:\n got %s\nwant %s", name, i, g, w)
			}
		}
	}
}

// TestReadPyarrowFiles reads the committed files pyarrow wrote.
func TestReadPyarrowFiles(t *testing.T) {
	checkPyarrowFiles(t, "testdata")
	c, _ := runDoFns(t, "testdata/imagetext.parquet", ReadOptions{})
	if len(c.units) != 2 {
		t.Errorf("imagetext.parquet: %d row-group units, want 2", len(c.units))
	}
}

func havePyarrow(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("skipping: python3 not found (CI installs it with: pip install pyarrow)")
	}
	if err := exec.Command("python3", "-c", "import pyarrow").Run(); err != nil {
		t.Skip("skipping: python3 module pyarrow not installed (CI installs it with: pip install pyarrow)")
	}
}

// TestReadFreshPyarrowFiles regenerates the pyarrow files with the local
// pyarrow, so a newer pyarrow's output is checked too.
func TestReadFreshPyarrowFiles(t *testing.T) {
	havePyarrow(t)
	dir := t.TempDir()
	if out, err := exec.Command("python3", "testdata/make_pyarrow.py", dir).CombinedOutput(); err != nil {
		t.Fatalf("make_pyarrow.py: %v\n%s", err, out)
	}
	checkPyarrowFiles(t, dir)
}

const pyarrowDescribe = `
import json, sys
import pyarrow.parquet as pq
for path in sys.argv[1:]:
    t = pq.read_table(path)
    print("#", path.rsplit("/", 1)[-1], t.num_rows)
    for f in t.schema:
        print(f.name + ": " + str(f.type) + ("" if f.nullable else " not null"))
    print(json.dumps(t.to_pylist()[0], default=lambda v: v.hex() if isinstance(v, bytes) else str(v), sort_keys=True))
`

// TestPyarrowReadsWrittenFiles checks the Arrow types pyarrow sees in every
// output type we write, with data page v2 and v1.
func TestPyarrowReadsWrittenFiles(t *testing.T) {
	havePyarrow(t)
	ts := time.Date(2025, 6, 7, 8, 9, 10, 11000, time.UTC)
	for _, v1 := range []bool{false, true} {
		dir := t.TempDir()
		opts := WriteOptions{DataPageV1: v1, Compression: "zstd"}
		write := func(name string, fn func(*bytes.Buffer) error) {
			var buf bytes.Buffer
			if err := fn(&buf); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("imagetext.parquet", func(b *bytes.Buffer) error {
			return writeRows[schemas.ImageText](b, seqOf(schemas.ImageText{ID: "i", Image: []byte{1, 2}, Text: "t", Labels: []string{"l"}, Metadata: map[string]string{"a": "b"}, EventTime: ts}), opts)
		})
		write("embedding.parquet", func(b *bytes.Buffer) error {
			return writeRows[schemas.Embedding](b, seqOf(schemas.Embedding{ID: "e", ModelID: "m", ImageVector: []float32{0.5, -2}}), opts)
		})
		write("score.parquet", func(b *bytes.Buffer) error {
			return writeRows[schemas.Score](b, seqOf(schemas.Score{ID: "s", ModelID: "m", ContrastiveSimilarity: schemas.Float(0.25), TopK: []schemas.LabelScore{{Label: "cat", Probability: 0.75}}}), opts)
		})
		write("mim.parquet", func(b *bytes.Buffer) error {
			return writeRows[schemas.MIMLabel](b, seqOf(schemas.MIMLabel{ID: "m", ModelID: "cb", GridH: 1, GridW: 2, CodebookIDs: []int32{8191, 0}, MaskedPositions: []int32{1}, MaskSeed: 1 << 63}), opts)
		})
		write("dead.parquet", func(b *bytes.Buffer) error {
			return writeRows[schemas.DeadLetter](b, seqOf(schemas.DeadLetter{ID: "d", Stage: "s", Reason: schemas.ReasonDecode, Message: "m", Payload: []byte{0xab}, Time: ts}), opts)
		})
		args := []string{"-c", pyarrowDescribe}
		for _, n := range []string{"imagetext", "embedding", "score", "mim", "dead"} {
			args = append(args, filepath.Join(dir, n+".parquet"))
		}
		out, err := exec.Command("python3", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("pyarrow: %v\n%s", err, out)
		}
		want := `# imagetext.parquet 1
id: string not null
image: binary
image_uri: string
text: string
labels: list<element: string not null>
metadata: map<string, string ('metadata')>
event_time: timestamp[us, tz=UTC]
{"event_time": "2025-06-07 08:09:10.000011+00:00", "id": "i", "image": "0102", "image_uri": null, "labels": ["l"], "metadata": [["a", "b"]], "text": "t"}
# embedding.parquet 1
id: string not null
model_id: string not null
image_vector: list<element: float not null>
text_vector: list<element: float not null>
multimodal_vector: list<element: float not null>
event_time: timestamp[us, tz=UTC]
{"event_time": null, "id": "e", "image_vector": [0.5, -2.0], "model_id": "m", "multimodal_vector": null, "text_vector": null}
# score.parquet 1
id: string not null
model_id: string not null
contrastive_similarity: float
contrastive_logit: float
itm_probability: float
top_k: list<element: struct<label: string not null, probability: float not null> not null>
event_time: timestamp[us, tz=UTC]
{"contrastive_logit": null, "contrastive_similarity": 0.25, "event_time": null, "id": "s", "itm_probability": null, "model_id": "m", "top_k": [{"label": "cat", "probability": 0.75}]}
# mim.parquet 1
id: string not null
model_id: string not null
grid_h: int32 not null
grid_w: int32 not null
codebook_ids: list<element: int32 not null> not null
masked_positions: list<element: int32 not null> not null
mask_seed: uint64 not null
event_time: timestamp[us, tz=UTC]
{"codebook_ids": [8191, 0], "event_time": null, "grid_h": 1, "grid_w": 2, "id": "m", "mask_seed": 9223372036854775808, "masked_positions": [1], "model_id": "cb"}
# dead.parquet 1
id: string
stage: string not null
reason: string not null
message: string not null
payload: binary
time: timestamp[us, tz=UTC]
{"id": "d", "message": "m", "payload": "ab", "reason": "decode_error", "stage": "s", "time": "2025-06-07 08:09:10.000011+00:00"}
`
		got := strings.ReplaceAll(string(out), dir+"/", "")
		if got != want {
			t.Errorf("DataPageV1=%v: pyarrow sees\n%s\nwant\n%s", v1, got, want)
		}
	}
}

func seqOf[T any](rows ...T) func(func(T) bool) {
	return func(yield func(T) bool) {
		for _, r := range rows {
			if !yield(r) {
				return
			}
		}
	}
}

// TestDuckDBReadsScoreNulls checks that DuckDB reads the scores a job does
// not compute (zero-shot rows) as SQL NULL, and computed ones as numbers.
func TestDuckDBReadsScoreNulls(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("skipping: python3 not found (CI installs it with: pip install duckdb)")
	}
	if err := exec.Command("python3", "-c", "import duckdb").Run(); err != nil {
		t.Skip("skipping: python3 module duckdb not installed (CI installs it with: pip install duckdb)")
	}
	path := filepath.Join(t.TempDir(), "scores.parquet")
	var buf bytes.Buffer
	rows := seqOf(
		schemas.Score{ID: "pair", ModelID: "m", ContrastiveSimilarity: schemas.Float(0.25), ContrastiveLogit: schemas.Float(25), ITMProbability: schemas.Float(0.5)},
		schemas.Score{ID: "zero-shot", ModelID: "m", TopK: []schemas.LabelScore{{Label: "cat", Probability: 0.75}}},
	)
	if err := writeRows[schemas.Score](&buf, rows, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	const query = `
import sys, duckdb
for row in duckdb.sql("SELECT id, contrastive_similarity, contrastive_logit, itm_probability, len(top_k) FROM read_parquet(?) ORDER BY id", params=[sys.argv[1]]).fetchall():
    print(row)
`
	out, err := exec.Command("python3", "-c", query, path).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	}
	want := "('pair', 0.25, 25.0, 0.5, None)\n('zero-shot', None, None, None, 1)\n"
	if string(out) != want {
		t.Errorf("duckdb reads\n%s\nwant\n%s", out, want)
	}
}

// bigBlobFiles writes a dead letter and an input record each carrying a
// 6 MB blob, the size of a phone photo.
func bigBlobFiles(t *testing.T, dir string) (blob []byte, paths []string) {
	t.Helper()
	blob = make([]byte, 6<<20)
	for i := range blob {
		blob[i] = byte(i*7 + i>>11)
	}
	ts := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	for name, fn := range map[string]func(*bytes.Buffer) error{
		"dead.parquet": func(b *bytes.Buffer) error {
			return writeRows[schemas.DeadLetter](b, seqOf(
				schemas.DeadLetter{ID: "a", Stage: "s", Reason: schemas.ReasonDecode, Message: "m", Payload: blob, Time: ts},
				schemas.DeadLetter{ID: "b", Stage: "s", Reason: schemas.ReasonDecode, Message: "m", Payload: blob[:10], Time: ts}), WriteOptions{})
		},
		"imagetext.parquet": func(b *bytes.Buffer) error {
			return writeRows[schemas.ImageText](b, seqOf(schemas.ImageText{ID: "i", Image: blob, Text: "t"}), WriteOptions{})
		},
	} {
		var buf bytes.Buffer
		if err := fn(&buf); err != nil {
			t.Fatal(err)
		}
		// Before the fix a 6 MB payload made a 32 MB file: four copies in
		// its page header's statistics, two more in the footer.
		if buf.Len() > len(blob)+len(blob)/4 {
			t.Errorf("%s with a %d-byte blob is %d bytes: values are copied into statistics", name, len(blob), buf.Len())
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return blob, paths
}

// TestBigBlobsStayOutOfStatistics: a large image or dead-letter payload is
// written once, not copied into page headers and the footer.
func TestBigBlobsStayOutOfStatistics(t *testing.T) {
	blob, paths := bigBlobFiles(t, t.TempDir())
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if n := pf.Metadata().NumRows; n < 1 {
			t.Errorf("%s: %d rows", p, n)
		}
		f.Close()
	}
	dead, err := parquet.ReadFile[schemas.DeadLetter](paths[slices.IndexFunc(paths, func(p string) bool { return strings.HasSuffix(p, "dead.parquet") })])
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 || !bytes.Equal(dead[0].Payload, blob) {
		t.Errorf("dead letters read back: %d, payload intact %v", len(dead), len(dead) > 0 && bytes.Equal(dead[0].Payload, blob))
	}
}

// TestPyarrowReadsBigBlobs: pyarrow refuses page headers over 16 MB, so a
// file whose page statistics held a 6 MB blob four times was unreadable.
func TestPyarrowReadsBigBlobs(t *testing.T) {
	havePyarrow(t)
	blob, paths := bigBlobFiles(t, t.TempDir())
	script := `
import sys, hashlib
import pyarrow.parquet as pq
for p in sys.argv[1:]:
    t = pq.read_table(p).to_pylist()
    col = "payload" if p.endswith("dead.parquet") else "image"
    print(p.rsplit("/", 1)[-1], len(t), hashlib.sha256(t[0][col]).hexdigest())
`
	out, err := exec.Command("python3", append([]string{"-c", script}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("pyarrow: %v\n%s", err, out)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(blob))
	for _, want := range []string{"dead.parquet 2 " + sum, "imagetext.parquet 1 " + sum} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pyarrow printed\n%s\nwant a line %q", out, want)
		}
	}
}
