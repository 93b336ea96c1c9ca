package parquetio

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"
)

// hugeFooterRecords is testdata/records.parquet (the file the README's
// example reads) with its footer length field set to 0xF0000000: issue 15,
// where parquet-go v0.32.0 allocated 4,026,531,840 bytes for the footer of
// this 70 KB file and `flavabeam embed` died under a 3 GB address-space limit.
func hugeFooterRecords(t testing.TB) []byte {
	b, err := os.ReadFile("../../testdata/records.parquet")
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[len(b)-8:], 0xF0000000)
	return b
}

func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestHugeFooterLengthIsACorruptFileDeadLetter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.parquet")
	if err := os.WriteFile(path, hugeFooterRecords(t), 0o644); err != nil {
		t.Fatal(err)
	}
	before := allocated()
	c, _ := runDoFns(t, path, ReadOptions{})
	got := allocated() - before
	if len(c.recs) != 0 || len(c.dead) != 1 {
		t.Fatalf("%d records, dead letters %+v; want one dead letter", len(c.recs), c.dead)
	}
	d := c.dead[0]
	if d.Reason != ReasonCorruptFile || d.ID != path || !strings.Contains(d.Message, path) || !strings.Contains(d.Message, "footer length 4026531840") {
		t.Errorf("dead letter %+v, want reason %s naming %s and the footer length", d, ReasonCorruptFile, path)
	}
	// Reading the unmodified file allocates a few MB; 4 GiB was the bug.
	if got > 16<<20 {
		t.Errorf("reading the file allocated %d bytes, want < 16 MiB", got)
	}
}

func TestReadOptionsPageLimitDeadLettersRowGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.parquet")
	writeFile(t, path, sampleRecords(6), WriteOptions{RowGroupRows: 3})
	c, _ := runDoFns(t, path, ReadOptions{MaxPageBytes: 16})
	if len(c.recs) != 0 || len(c.dead) != 2 {
		t.Fatalf("%d records, %d dead letters, want 0 and one per row group", len(c.recs), len(c.dead))
	}
	for _, d := range c.dead {
		if d.Reason != ReasonCorruptFile || !strings.Contains(d.Message, path) || !strings.Contains(d.Message, "MaxPageBytes") {
			t.Errorf("dead letter %+v", d)
		}
	}
	if err := (ReadOptions{MaxPageValues: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "ReadOptions.MaxPageValues") {
		t.Errorf("Validate of a negative limit: %v", err)
	}
}

func TestCountRowsChecksTheFooter(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeFile(t, good, sampleRecords(7), WriteOptions{RowGroupRows: 3})
	if n, err := CountRows(context.Background(), good, ReadOptions{}); err != nil || n != 7 {
		t.Errorf("CountRows = %d, %v; want 7", n, err)
	}
	bad := filepath.Join(dir, "huge_footer.parquet")
	if err := os.WriteFile(bad, hugeFooterRecords(t), 0o644); err != nil {
		t.Fatal(err)
	}
	before := allocated()
	_, err := CountRows(context.Background(), bad, ReadOptions{})
	if !errors.Is(err, ErrCorruptFile) || !strings.Contains(err.Error(), bad) {
		t.Errorf("CountRows of the 4 GiB footer: %v, want ErrCorruptFile naming the file", err)
	}
	if got := allocated() - before; got > 16<<20 {
		t.Errorf("allocated %d bytes", got)
	}
}
