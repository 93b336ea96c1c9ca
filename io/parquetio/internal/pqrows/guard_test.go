package pqrows

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flavabeam/flavabeam/schemas"
)

// allocated is the process's cumulative heap allocation.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// hugeFooter is testdata/records.parquet with its footer length set to
// 0xF0000000: parquet-go v0.32.0 allocates 4,026,531,840 bytes for it.
func hugeFooter(t testing.TB) []byte {
	b, err := os.ReadFile("../../../../testdata/records.parquet")
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[len(b)-8:], 0xF0000000)
	return b
}

func TestOpenRefusesFooterLongerThanFile(t *testing.T) {
	data := hugeFooter(t)
	before := allocated()
	_, err := Open(bytes.NewReader(data), int64(len(data)), Limits{})
	got := allocated() - before
	if !errors.Is(err, ErrCorruptFile) || !strings.Contains(err.Error(), "footer length 4026531840") {
		t.Fatalf("Open = %v, want ErrCorruptFile naming the footer length", err)
	}
	if got > 1<<20 {
		t.Errorf("refusing the file allocated %d bytes, want < 1 MiB", got)
	}
}

func TestOpenRefusesFooterAboveCap(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRows[schemas.ImageText](&buf, seqOf(fuzzRecords(5)...)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Limits{MaxFooterBytes: 64})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "MaxFooterBytes") {
		t.Fatalf("Open = %v, want ErrLimit naming MaxFooterBytes", err)
	}
	if _, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Limits{}); err != nil {
		t.Fatalf("the same file under the default limits: %v", err)
	}
}

// withFooter wraps a hand-made Thrift footer into a file.
func withFooter(footer []byte) []byte {
	b := append([]byte("PAR1"), footer...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(footer)))
	return append(b, "PAR1"...)
}

func TestOpenRefusesThriftListSizesTheFooterCannotHold(t *testing.T) {
	cases := map[string]struct {
		footer []byte
		lim    Limits
		want   error
	}{
		// field 2 (schema): a list of 2^31-1 structs in 8 bytes.
		"list size past the end": {[]byte{0x29, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00}, Limits{}, ErrCorruptFile},
		// field 6 (created_by): a 2 GB string.
		"string past the end": {[]byte{0x68, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00}, Limits{}, ErrCorruptFile},
		// 100,000 empty structs: 100 KB that decode to ~64 MB of ColumnChunks.
		"honest but expensive list": {append(append([]byte{0x29, 0xfc}, binary.AppendUvarint(nil, 100000)...), append(make([]byte, 100000), 0)...), Limits{MaxMetadataBytes: 1 << 20}, ErrLimit},
		"nesting":                   {append(bytes.Repeat([]byte{0x1c}, 200), bytes.Repeat([]byte{0}, 201)...), Limits{}, ErrCorruptFile},
	}
	for name, c := range cases {
		data := withFooter(c.footer)
		before := allocated()
		_, err := Open(bytes.NewReader(data), int64(len(data)), c.lim)
		got := allocated() - before
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Open = %v, want %v", name, err, c.want)
		}
		if got > 4<<20 {
			t.Errorf("%s: refusing it allocated %d bytes", name, got)
		}
	}
}

// A limit below what an ordinary file needs turns its pages away in
// ReadRowGroup (not in Open: pages are checked row group by row group).
func TestReadRowGroupRefusesPagesAboveCaps(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRows[schemas.ImageText](&buf, seqOf(fuzzRecords(5)...)); err != nil {
		t.Fatal(err)
	}
	for name, lim := range map[string]Limits{"bytes": {MaxPageBytes: 4}, "values": {MaxPageValues: 2}} {
		f, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), lim)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPlan(f.Schema(), Columns{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		_, err = f.ReadRowGroup(context.Background(), 0, p, "x", 0, Sink{Record: func(schemas.ImageText) { n++ }, Bad: func(int64, string, error, schemas.ImageText) {}})
		if !errors.Is(err, ErrLimit) || n != 0 {
			t.Errorf("%s: ReadRowGroup = %v after %d records, want ErrLimit before any", name, err, n)
		}
	}
}

// chunk builds a column chunk of one page from its header and payload.
func chunk(t *testing.T, h format.PageHeader, payload []byte, codec format.CompressionCodec) (*File, *format.ColumnMetaData) {
	t.Helper()
	hb, err := thrift.Marshal(new(thrift.CompactProtocol), &h)
	if err != nil {
		t.Fatal(err)
	}
	data := append(append([]byte("PAR1"), hb...), payload...)
	m := &format.ColumnMetaData{Codec: codec, DataPageOffset: 4, TotalCompressedSize: int64(len(hb) + len(payload))}
	f := &File{r: bytes.NewReader(data), size: int64(len(data)), dataEnd: int64(len(data)), lim: Limits{}.WithDefaults()}
	return f, m
}

func dataPage(values int32, compressed, uncompressed int) format.PageHeader {
	h := format.PageHeader{Type: format.DataPage, CompressedPageSize: int32(compressed), UncompressedPageSize: int32(uncompressed)}
	h.DataPageHeader.Valid = true
	h.DataPageHeader.V.NumValues = values
	return h
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestCheckChunkRefusesLyingPages(t *testing.T) {
	zeros := make([]byte, 4<<20)
	bomb := gzipped(t, zeros)
	enc, _ := zstd.NewWriter(nil)
	zbomb := enc.EncodeAll(zeros, nil)
	snap := snappy.Encode(nil, []byte("hello hello hello"))
	dict := format.PageHeader{Type: format.DictionaryPage, CompressedPageSize: 4, UncompressedPageSize: 4}
	dict.DictionaryPageHeader.Valid = true
	dict.DictionaryPageHeader.V.NumValues = 1 << 30
	v2 := format.PageHeader{Type: format.DataPageV2, CompressedPageSize: 4, UncompressedPageSize: 4}
	v2.DataPageHeaderV2.Valid = true
	v2.DataPageHeaderV2.V.NumValues = 1
	v2.DataPageHeaderV2.V.DefinitionLevelsByteLength = 9
	cases := []struct {
		name    string
		h       format.PageHeader
		payload []byte
		codec   format.CompressionCodec
		want    error
	}{
		{"compressed size past the chunk", dataPage(1, 1<<30, 1<<30), []byte{1, 2, 3}, format.Uncompressed, ErrCorruptFile},
		{"uncompressed size above the cap", dataPage(1, 3, 1<<30), []byte{1, 2, 3}, format.Gzip, ErrLimit},
		{"values above the cap", dataPage(1<<30, 3, 3), []byte{1, 2, 3}, format.Uncompressed, ErrLimit},
		{"dictionary values above the cap", dict, []byte{1, 2, 3, 4}, format.Uncompressed, ErrLimit},
		{"v2 levels longer than the page", v2, []byte{1, 2, 3, 4}, format.Uncompressed, ErrCorruptFile},
		{"uncompressed sizes differ", dataPage(1, 3, 300), []byte{1, 2, 3}, format.Uncompressed, ErrCorruptFile},
		{"gzip bomb", dataPage(1, len(bomb), 1000), bomb, format.Gzip, ErrCorruptFile},
		{"zstd bomb", dataPage(1, len(zbomb), 1000), zbomb, format.Zstd, ErrCorruptFile},
		{"snappy preamble lies", dataPage(1, len(snap), 1<<20), snap, format.Snappy, ErrCorruptFile},
		{"gzip smaller than declared", dataPage(1, len(bomb), 100<<20), bomb, format.Gzip, ErrCorruptFile},
		{"snappy preamble honest, ratio impossible", dataPage(1, 3, 1<<20), []byte{0x80, 0x80, 0x40}, format.Snappy, ErrCorruptFile},
		{"corrupt lz4 block", dataPage(1, 4, 100), []byte{0xff, 0xff, 0xff, 0xff}, format.Lz4Raw, ErrCorruptFile},
		{"unsupported codec", dataPage(1, 3, 3), []byte{1, 2, 3}, format.LZO, ErrCorruptFile},
	}
	for _, c := range cases {
		f, m := chunk(t, c.h, c.payload, c.codec)
		before := allocated()
		err := f.checkChunk(m)
		got := allocated() - before
		if !errors.Is(err, c.want) {
			t.Errorf("%s: checkChunk = %v, want %v", c.name, err, c.want)
		}
		if got > 8<<20 {
			t.Errorf("%s: checking allocated %d bytes", c.name, got)
		}
	}
	// Honest pages pass.
	for _, c := range []struct {
		name    string
		h       format.PageHeader
		payload []byte
		codec   format.CompressionCodec
	}{
		{"gzip", dataPage(1, len(bomb), len(zeros)), bomb, format.Gzip},
		{"snappy", dataPage(1, len(snap), 17), snap, format.Snappy},
		{"zstd", dataPage(1, len(zbomb), len(zeros)), zbomb, format.Zstd},
		{"uncompressed", dataPage(1, 3, 3), []byte{1, 2, 3}, format.Uncompressed},
	} {
		f, m := chunk(t, c.h, c.payload, c.codec)
		if err := f.checkChunk(m); err != nil {
			t.Errorf("honest %s page: %v", c.name, err)
		}
	}
}

// The struct weight the footer estimate uses must cover parquet-go's largest
// metadata struct, or the estimate would undercount.
func TestStructWeight(t *testing.T) {
	for _, v := range []any{format.FileMetaData{}, format.RowGroup{}, format.ColumnChunk{}, format.ColumnMetaData{},
		format.SchemaElement{}, format.PageHeader{}, format.KeyValue{}, format.PageEncodingStats{}, format.SortingColumn{}, format.ColumnOrder{}} {
		if s := reflect.TypeOf(v).Size(); s > structWeight {
			t.Errorf("%T is %d bytes, above structWeight %d", v, s, structWeight)
		}
	}
}

// Files written by parquet-go with every codec still read.
func TestOpenAcceptsEveryCodec(t *testing.T) {
	for _, c := range []parquet.WriterOption{parquet.Compression(&parquet.Uncompressed), parquet.Compression(&parquet.Snappy),
		parquet.Compression(&parquet.Gzip), parquet.Compression(&parquet.Zstd), parquet.Compression(&parquet.Brotli), parquet.Compression(&parquet.Lz4Raw)} {
		for _, v := range []int{1, 2} {
			var buf bytes.Buffer
			recs := fuzzRecords(7)
			if err := WriteRows[schemas.ImageText](&buf, seqOf(recs...), c, parquet.DataPageVersion(v), parquet.MaxRowsPerRowGroup(3)); err != nil {
				t.Fatal(err)
			}
			f, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPlan(f.Schema(), Columns{})
			if err != nil {
				t.Fatal(err)
			}
			n, first := 0, int64(0)
			for i, rg := range f.RowGroups() {
				if _, err := f.ReadRowGroup(context.Background(), i, p, "x", first, Sink{Record: func(schemas.ImageText) { n++ },
					Bad: func(_ int64, _ string, err error, _ schemas.ImageText) { t.Error(err) }}); err != nil {
					t.Fatalf("%v v%d: %v", c, v, err)
				}
				first += rg.NumRows()
			}
			if n != len(recs) {
				t.Errorf("%v v%d: read %d records, want %d", c, v, n, len(recs))
			}
		}
	}
}

// stuckReader returns neither values nor an error, forever.
type stuckReader struct{ calls int }

func (s *stuckReader) ReadValues([]parquet.Value) (int, error) { s.calls++; return 0, nil }

func TestCursorStopsOnAReaderWithoutProgress(t *testing.T) {
	sr := &stuckReader{}
	c := &cursor{vr: sr, buf: make([]parquet.Value, 4)}
	_, err := c.fill()
	if !errors.Is(err, ErrCorruptFile) {
		t.Fatalf("fill = %v, want ErrCorruptFile", err)
	}
	if sr.calls > maxIdleReads+1 {
		t.Errorf("%d reads before giving up", sr.calls)
	}
}
