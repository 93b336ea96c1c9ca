package pqrows

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// File is a Parquet file opened through Open: its footer checked against
// Limits before parquet-go parsed it.
type File struct {
	pf       *parquet.File
	r        io.ReaderAt
	size     int64
	dataEnd  int64 // offset of the footer: column chunks lie in [4, dataEnd)
	lim      Limits
	checked  map[int]bool // row groups whose chunks passed checkRowGroup, by plan
	planSeen *Plan
}

// Open checks a Parquet file's magic bytes, footer length and footer
// metadata against its size and lim, then opens it with parquet-go (footer
// only), turning a parquet-go panic on corrupt bytes into an error. Errors
// wrap ErrCorruptFile or ErrLimit.
//
// parquet-go v0.32.0's OpenFile allocates the footer length read from the
// file's last 8 bytes (up to 4 GiB) before comparing it with the file size,
// and its Thrift decoder sizes slices by the list lengths the footer
// declares (up to 2^31 elements): both are checked here first (see
// notes/parquet-go-upstream.md).
func Open(r io.ReaderAt, size int64, lim Limits) (f *File, err error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	lim = lim.WithDefaults()
	footerLen, err := checkFooter(r, size, lim)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("parquet-go panicked on the footer: %v: %w", p, ErrCorruptFile)
		}
	}()
	pf, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptFile, err)
	}
	return &File{pf: pf, r: r, size: size, dataEnd: size - 8 - footerLen, lim: lim, checked: map[int]bool{}}, nil
}

// Schema is the file's schema.
func (f *File) Schema() *parquet.Schema { return f.pf.Schema() }

// NumRows is the row count the footer declares.
func (f *File) NumRows() int64 { return f.pf.NumRows() }

// RowGroups are the file's row groups.
func (f *File) RowGroups() []parquet.RowGroup { return f.pf.RowGroups() }

func readAt(r io.ReaderAt, off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && len(b) == n) {
		return nil, err
	}
	return b, nil
}

// checkFooter checks the magic bytes and the footer of a plain (not
// encrypted) Parquet file, returning the footer's length.
func checkFooter(r io.ReaderAt, size int64, lim Limits) (int64, error) {
	if size < 12 {
		return 0, fmt.Errorf("%d bytes is too short for a parquet file: %w", size, ErrCorruptFile)
	}
	head, err := readAt(r, 0, 4)
	if err != nil {
		return 0, err
	}
	tail, err := readAt(r, size-8, 8)
	if err != nil {
		return 0, err
	}
	if string(head) != "PAR1" {
		return 0, fmt.Errorf("magic header %q, want \"PAR1\": %w", head, ErrCorruptFile)
	}
	switch string(tail[4:]) {
	case "PAR1":
	case "PARE":
		return 0, fmt.Errorf("encrypted footer (magic \"PARE\") not supported: %w", ErrCorruptFile)
	default:
		return 0, fmt.Errorf("magic footer %q, want \"PAR1\": %w", tail[4:], ErrCorruptFile)
	}
	footerLen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if footerLen > size-12 {
		return 0, fmt.Errorf("footer length %d in a file of %d bytes (at most %d): %w", footerLen, size, size-12, ErrCorruptFile)
	}
	if footerLen > lim.MaxFooterBytes {
		return 0, fmt.Errorf("footer length %d above Limits.MaxFooterBytes %d: %w", footerLen, lim.MaxFooterBytes, ErrLimit)
	}
	footer, err := readAt(r, size-8-footerLen, int(footerLen))
	if err != nil {
		return 0, err
	}
	n, cost, err := walkStruct(footer)
	switch {
	case errors.Is(err, errNeedMore):
		return 0, fmt.Errorf("footer: a Thrift length or list size runs past its %d bytes: %w", footerLen, ErrCorruptFile)
	case err != nil:
		return 0, fmt.Errorf("footer: %w", err)
	case int64(n) != footerLen:
		return 0, fmt.Errorf("footer: metadata ends at byte %d of %d (signed or garbled footers are not supported): %w", n, footerLen, ErrCorruptFile)
	case cost > lim.MaxMetadataBytes:
		return 0, fmt.Errorf("footer declares lists that decode to about %d bytes, above Limits.MaxMetadataBytes %d: %w", cost, lim.MaxMetadataBytes, ErrLimit)
	}
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), footer, &md); err != nil {
		return 0, fmt.Errorf("footer: %v: %w", err, ErrCorruptFile)
	}
	if err := checkMetadata(&md, size-8-footerLen); err != nil {
		return 0, fmt.Errorf("footer: %w", err)
	}
	return footerLen, nil
}

// maxSchemaDepth bounds schema nesting: parquet-go's column loader sums the
// path lengths of all schema elements, quadratic in the depth.
const maxSchemaDepth = 64

// checkMetadata checks the schema's shape and that every column chunk lies
// in the data region [4, dataEnd).
func checkMetadata(md *format.FileMetaData, dataEnd int64) error {
	if len(md.Schema) == 0 {
		return fmt.Errorf("no schema: %w", ErrCorruptFile)
	}
	leaves := 0
	var open []int32 // children still to come at each level
	for i := range md.Schema {
		if len(open) > maxSchemaDepth {
			return fmt.Errorf("schema nested deeper than %d: %w", maxSchemaDepth, ErrCorruptFile)
		}
		e := &md.Schema[i]
		if e.NumChildren.Valid && e.NumChildren.V < 0 {
			return fmt.Errorf("schema element %d has %d children: %w", i, e.NumChildren.V, ErrCorruptFile)
		}
		if !e.Type.Valid && i > 0 && (!e.NumChildren.Valid || e.NumChildren.V == 0) {
			return fmt.Errorf("schema element %d is a group without children: %w", i, ErrCorruptFile)
		}
		if e.Type.Valid {
			leaves++
		}
		if e.NumChildren.Valid && e.NumChildren.V > 0 {
			if int64(e.NumChildren.V) > int64(len(md.Schema)-i-1) {
				return fmt.Errorf("schema element %d declares %d children, %d elements follow: %w", i, e.NumChildren.V, len(md.Schema)-i-1, ErrCorruptFile)
			}
			open = append(open, e.NumChildren.V)
			continue
		}
		for len(open) > 0 {
			open[len(open)-1]--
			if open[len(open)-1] > 0 {
				break
			}
			open = open[:len(open)-1]
		}
	}
	if md.NumRows < 0 {
		return fmt.Errorf("num_rows %d: %w", md.NumRows, ErrCorruptFile)
	}
	for g := range md.RowGroups {
		rg := &md.RowGroups[g]
		if rg.NumRows < 0 || rg.TotalByteSize < 0 {
			return fmt.Errorf("row group %d: num_rows %d, total_byte_size %d: %w", g, rg.NumRows, rg.TotalByteSize, ErrCorruptFile)
		}
		if len(rg.Columns) != leaves {
			return fmt.Errorf("row group %d has %d column chunks for %d leaf columns: %w", g, len(rg.Columns), leaves, ErrCorruptFile)
		}
		for c := range rg.Columns {
			if err := checkChunkMeta(&rg.Columns[c], dataEnd); err != nil {
				return fmt.Errorf("row group %d column %d: %w", g, c, err)
			}
		}
	}
	return nil
}

func checkChunkMeta(cc *format.ColumnChunk, dataEnd int64) error {
	if cc.FilePath != "" {
		return fmt.Errorf("column chunk in another file (%q) not supported: %w", cc.FilePath, ErrCorruptFile)
	}
	m := &cc.MetaData
	start := chunkStart(m)
	switch {
	case m.NumValues < 0, m.TotalCompressedSize < 0, m.TotalUncompressedSize < 0:
		return fmt.Errorf("num_values %d, total_compressed_size %d, total_uncompressed_size %d: %w", m.NumValues, m.TotalCompressedSize, m.TotalUncompressedSize, ErrCorruptFile)
	case m.DictionaryPageOffset != 0 && (m.DictionaryPageOffset < 4 || m.DictionaryPageOffset > m.DataPageOffset):
		return fmt.Errorf("dictionary_page_offset %d with data_page_offset %d: %w", m.DictionaryPageOffset, m.DataPageOffset, ErrCorruptFile)
	case start < 4 || start > dataEnd || m.TotalCompressedSize > dataEnd-start:
		return fmt.Errorf("chunk [%d, %d+%d) outside the data region [4, %d): %w", start, start, m.TotalCompressedSize, dataEnd, ErrCorruptFile)
	case m.DataPageOffset-start > m.TotalCompressedSize:
		return fmt.Errorf("data_page_offset %d past the chunk's end %d: %w", m.DataPageOffset, start+m.TotalCompressedSize, ErrCorruptFile)
	}
	return nil
}

// chunkStart is where parquet-go starts reading a column chunk's pages.
func chunkStart(m *format.ColumnMetaData) int64 {
	if m.DictionaryPageOffset != 0 {
		return m.DictionaryPageOffset
	}
	return m.DataPageOffset
}

// checkRowGroup walks the page headers of the column chunks p reads in row
// group i and checks each page against the chunk's bounds and f.lim (see
// checkPage), before parquet-go reads them.
func (f *File) checkRowGroup(i int, p *Plan) error {
	md := f.pf.Metadata()
	if i < 0 || i >= len(md.RowGroups) {
		return fmt.Errorf("row group %d of %d", i, len(md.RowGroups))
	}
	for _, l := range p.leaves() {
		if l.ColumnIndex < 0 || l.ColumnIndex >= len(md.RowGroups[i].Columns) {
			return fmt.Errorf("column %v missing from row group: %w", l.Path, ErrSchema)
		}
		m := &md.RowGroups[i].Columns[l.ColumnIndex].MetaData
		if err := f.checkChunk(m); err != nil {
			return fmt.Errorf("column %v: %w", l.Path, err)
		}
	}
	return nil
}

func (f *File) checkChunk(m *format.ColumnMetaData) error {
	switch m.Codec {
	case format.Uncompressed, format.Snappy, format.Gzip, format.Zstd, format.Brotli, format.Lz4Raw:
	default:
		return fmt.Errorf("compression codec %v not supported: %w", m.Codec, ErrCorruptFile)
	}
	start := chunkStart(m)
	end := start + m.TotalCompressedSize
	for pos := start; pos < end; {
		h, n, err := f.readPageHeader(pos, end)
		if err != nil {
			return fmt.Errorf("page header at offset %d: %w", pos, err)
		}
		pos += int64(n)
		if int64(h.CompressedPageSize) > end-pos {
			return fmt.Errorf("page at offset %d: compressed_page_size %d past the chunk's end %d: %w", pos, h.CompressedPageSize, end, ErrCorruptFile)
		}
		if err := f.checkPage(h, pos, m.Codec); err != nil {
			return fmt.Errorf("page at offset %d: %w", pos, err)
		}
		pos += int64(h.CompressedPageSize)
	}
	return nil
}

// readPageHeader reads and decodes the page header at pos, reading more of
// the chunk (up to MaxPageBytes) while the header continues.
func (f *File) readPageHeader(pos, end int64) (*format.PageHeader, int, error) {
	maxWin := min(end-pos, f.lim.MaxPageBytes)
	win := min(maxWin, 4096)
	for {
		b, err := readAt(f.r, pos, int(win))
		if err != nil {
			return nil, 0, err
		}
		n, cost, err := walkStruct(b)
		if errors.Is(err, errNeedMore) {
			if win < maxWin {
				win = min(4*win, maxWin)
				continue
			}
			if maxWin < end-pos {
				return nil, 0, fmt.Errorf("longer than Limits.MaxPageBytes %d: %w", f.lim.MaxPageBytes, ErrLimit)
			}
			return nil, 0, fmt.Errorf("runs past the chunk's end %d: %w", end, ErrCorruptFile)
		}
		if err != nil {
			return nil, 0, err
		}
		if cost > f.lim.MaxMetadataBytes {
			return nil, 0, fmt.Errorf("declares lists of about %d bytes, above Limits.MaxMetadataBytes %d: %w", cost, f.lim.MaxMetadataBytes, ErrLimit)
		}
		h := new(format.PageHeader)
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), b[:n], h); err != nil {
			return nil, 0, fmt.Errorf("%v: %w", err, ErrCorruptFile)
		}
		return h, n, nil
	}
}

// checkPage checks one page's declared sizes and value count against the
// caps, and that its compressed bytes at pos decompress to exactly its
// declared uncompressed size: parquet-go allocates the declared size, its
// decompressors grow their output without bound, and its LZ4_RAW decoder
// doubles its buffer forever on a corrupt block.
func (f *File) checkPage(h *format.PageHeader, pos int64, codec format.CompressionCodec) error {
	if h.CompressedPageSize < 0 || h.UncompressedPageSize < 0 {
		return fmt.Errorf("compressed_page_size %d, uncompressed_page_size %d: %w", h.CompressedPageSize, h.UncompressedPageSize, ErrCorruptFile)
	}
	if int64(h.CompressedPageSize) > f.lim.MaxPageBytes || int64(h.UncompressedPageSize) > f.lim.MaxPageBytes {
		return fmt.Errorf("compressed_page_size %d, uncompressed_page_size %d, above Limits.MaxPageBytes %d: %w", h.CompressedPageSize, h.UncompressedPageSize, f.lim.MaxPageBytes, ErrLimit)
	}
	var values, levels int64
	compressed := true
	switch h.Type {
	case format.DataPage:
		if !h.DataPageHeader.Valid {
			return fmt.Errorf("data page without data_page_header: %w", ErrCorruptFile)
		}
		values = int64(h.DataPageHeader.V.NumValues)
	case format.DataPageV2:
		if !h.DataPageHeaderV2.Valid {
			return fmt.Errorf("data page v2 without data_page_header_v2: %w", ErrCorruptFile)
		}
		v := &h.DataPageHeaderV2.V
		values = int64(v.NumValues)
		levels = int64(v.RepetitionLevelsByteLength) + int64(v.DefinitionLevelsByteLength)
		if v.NumNulls < 0 || v.NumRows < 0 || v.RepetitionLevelsByteLength < 0 || v.DefinitionLevelsByteLength < 0 ||
			int64(v.NumNulls) > values || int64(v.NumRows) > values ||
			levels > int64(h.CompressedPageSize) || levels > int64(h.UncompressedPageSize) {
			return fmt.Errorf("data page v2 with num_values %d, num_nulls %d, num_rows %d, level bytes %d+%d in %d compressed, %d uncompressed bytes: %w",
				v.NumValues, v.NumNulls, v.NumRows, v.RepetitionLevelsByteLength, v.DefinitionLevelsByteLength, h.CompressedPageSize, h.UncompressedPageSize, ErrCorruptFile)
		}
		compressed = !v.IsCompressed.Valid || v.IsCompressed.V
	case format.DictionaryPage:
		if !h.DictionaryPageHeader.Valid {
			return fmt.Errorf("dictionary page without dictionary_page_header: %w", ErrCorruptFile)
		}
		values = int64(h.DictionaryPageHeader.V.NumValues)
	default:
		return nil // index pages and unknown types: parquet-go does not decode them
	}
	if values < 0 {
		return fmt.Errorf("num_values %d: %w", values, ErrCorruptFile)
	}
	if values > f.lim.MaxPageValues {
		return fmt.Errorf("%d values, above Limits.MaxPageValues %d: %w", values, f.lim.MaxPageValues, ErrLimit)
	}
	if codec == format.Uncompressed || !compressed {
		if h.CompressedPageSize != h.UncompressedPageSize {
			return fmt.Errorf("uncompressed page of %d bytes declares %d: %w", h.CompressedPageSize, h.UncompressedPageSize, ErrCorruptFile)
		}
		return nil
	}
	want := int64(h.UncompressedPageSize) - levels
	srcLen := int64(h.CompressedPageSize) - levels
	if codec == format.Snappy {
		// snappy.Decode allocates the length its own preamble declares.
		b, err := readAt(f.r, pos+levels, int(min(srcLen, binary.MaxVarintLen32)))
		if err != nil {
			return err
		}
		got, n := binary.Uvarint(b)
		if n <= 0 || got != uint64(want) {
			return fmt.Errorf("snappy block declares %d bytes, the page header %d: %w", got, want, ErrCorruptFile)
		}
		// A snappy copy element emits at most 64 bytes from 3 input bytes.
		if want > 22*srcLen+64 {
			return fmt.Errorf("snappy block of %d bytes cannot decode to %d: %w", srcLen, want, ErrCorruptFile)
		}
		return nil
	}
	src, err := readAt(f.r, pos+levels, int(srcLen))
	if err != nil {
		return err
	}
	if err := checkDecompressed(codec, src, want, f.lim.MaxPageBytes); err != nil {
		return fmt.Errorf("%v page: %w", codec, err)
	}
	return nil
}

// checkDecompressed decompresses src, failing unless the output is exactly
// want bytes (stopping as soon as it exceeds want): as a stream into io.Discard (gzip, brotli), into a buffer of want
// bytes (LZ4_RAW), or (zstd) into a buffer that may grow to maxOut.
func checkDecompressed(codec format.CompressionCodec, src []byte, want, maxOut int64) error {
	if codec == format.Lz4Raw {
		n, err := lz4.UncompressBlock(src, make([]byte, want))
		if err != nil {
			return fmt.Errorf("does not decompress into its declared %d bytes: %v: %w", want, err, ErrCorruptFile)
		}
		if int64(n) != want {
			return fmt.Errorf("decompresses to %d bytes, not its declared %d: %w", n, want, ErrCorruptFile)
		}
		return nil
	}
	var r io.Reader
	switch codec {
	case format.Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			return fmt.Errorf("%v: %w", err, ErrCorruptFile)
		}
		r = zr
	case format.Zstd:
		// DecodeAll checks the frames' windows and declared content sizes
		// and its output against WithDecoderMaxMemory (maxOut; a frame's
		// window may exceed the page, so want itself is too strict there).
		zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(maxOut)))
		if err != nil {
			return err
		}
		defer zd.Close()
		out, err := zd.DecodeAll(src, make([]byte, 0, want))
		switch {
		case errors.Is(err, zstd.ErrDecoderSizeExceeded), int64(len(out)) > want:
			return fmt.Errorf("decompresses to more than its declared %d bytes: %w", want, ErrCorruptFile)
		case err != nil:
			return fmt.Errorf("%v: %w", err, ErrCorruptFile)
		case int64(len(out)) != want:
			return fmt.Errorf("decompresses to %d bytes, not its declared %d: %w", len(out), want, ErrCorruptFile)
		}
		return nil
	case format.Brotli:
		r = brotli.NewReader(bytes.NewReader(src))
	default:
		return fmt.Errorf("codec %v not supported: %w", codec, ErrCorruptFile)
	}
	got, err := io.Copy(io.Discard, io.LimitReader(r, want+1))
	switch {
	case got > want:
		return fmt.Errorf("decompresses to more than its declared %d bytes: %w", want, ErrCorruptFile)
	case err != nil:
		return fmt.Errorf("%v: %w", err, ErrCorruptFile)
	case got != want:
		return fmt.Errorf("decompresses to %d bytes, not its declared %d: %w", got, want, ErrCorruptFile)
	}
	return nil
}

// ReadRowGroup reads every row of row group i through p, after checking the
// page headers of the column chunks it reads (see Limits). file names the
// file for fallback IDs ("file#row"); firstRow is the file-level index of
// the row group's first row. A bad row goes to sink.Bad and reading
// continues. An error means the row group is unreadable from row
// firstRow+done on (done rows were handed to sink); a parquet-go panic on
// corrupt pages becomes such an error, wrapping ErrCorruptFile.
func (f *File) ReadRowGroup(ctx context.Context, i int, p *Plan, file string, firstRow int64, sink Sink) (int64, error) {
	if f.planSeen != p {
		f.planSeen, f.checked = p, map[int]bool{}
	}
	if !f.checked[i] {
		if err := f.checkRowGroup(i, p); err != nil {
			return 0, err
		}
		f.checked[i] = true
	}
	return readRowGroup(ctx, f.pf.RowGroups()[i], p, file, firstRow, sink)
}
