package pqrows

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flavabeam/flavabeam/schemas"
)

// blobColumns lists the leaf columns of s that hold raw bytes: BYTE_ARRAY
// (or FIXED_LEN_BYTE_ARRAY) with no string, enum or JSON logical type.
func blobColumns(s *parquet.Schema) [][]string {
	var out [][]string
	for _, path := range s.Columns() {
		leaf, ok := s.Lookup(path...)
		if !ok {
			continue
		}
		t := leaf.Node.Type()
		if k := t.Kind(); k != parquet.ByteArray && k != parquet.FixedLenByteArray {
			continue
		}
		if lt := t.LogicalType(); lt != nil {
			switch lt.Value.(type) {
			case *format.StringType, *format.EnumType, *format.JsonType:
				continue
			}
		}
		out = append(out, path)
	}
	return out
}

// cursor walks the values of one column chunk page by page and hands them
// out one row at a time (a row starts at repetition level 0).
type cursor struct {
	pages parquet.Pages
	vr    parquet.ValueReader
	buf   []parquet.Value
	i, n  int
	done  bool
	idle  int // consecutive reads that returned no value and no error
}

// maxIdleReads bounds reads that return neither values nor an error, so a
// page reader that stops making progress ends in an error, not a loop.
const maxIdleReads = 16

func newCursor(cc parquet.ColumnChunk) *cursor {
	return &cursor{pages: cc.Pages(), buf: make([]parquet.Value, 64)}
}

// fill makes buf[i] valid; it reports false at the end of the chunk.
func (c *cursor) fill() (bool, error) {
	for c.i >= c.n {
		if c.done {
			return false, nil
		}
		if c.vr == nil {
			page, err := c.pages.ReadPage()
			if errors.Is(err, io.EOF) {
				c.done = true
				return false, nil
			}
			if err != nil {
				return false, err
			}
			c.vr = page.Values()
		}
		n, err := c.vr.ReadValues(c.buf)
		c.i, c.n = 0, n
		if n == 0 && err == nil {
			if c.idle++; c.idle > maxIdleReads {
				return false, fmt.Errorf("page reader returned no values %d times in a row: %w", c.idle, ErrCorruptFile)
			}
		} else {
			c.idle = 0
		}
		if errors.Is(err, io.EOF) {
			c.vr = nil
		} else if err != nil {
			return false, err
		}
	}
	return true, nil
}

// row appends the values of the next row to dst[:0].
func (c *cursor) row(dst []parquet.Value) ([]parquet.Value, error) {
	dst = dst[:0]
	ok, err := c.fill()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, io.ErrUnexpectedEOF
	}
	if c.buf[c.i].RepetitionLevel() != 0 {
		return nil, fmt.Errorf("row does not start at repetition level 0")
	}
	dst = append(dst, c.buf[c.i])
	c.i++
	for {
		ok, err := c.fill()
		if err != nil {
			return nil, err
		}
		if !ok || c.buf[c.i].RepetitionLevel() == 0 {
			return dst, nil
		}
		dst = append(dst, c.buf[c.i])
		c.i++
	}
}

func (c *cursor) close() { c.pages.Close() }

// Sink receives what ReadRowGroup produces.
type Sink struct {
	// Record receives each valid record.
	Record func(schemas.ImageText)
	// Bad receives a row that could not become a valid record: its file-level
	// row index, a schemas.Reason* code, the error, and what was read of it.
	Bad func(row int64, reason string, err error, rec schemas.ImageText)
}

// readRowGroup is File.ReadRowGroup after the checks.
func readRowGroup(ctx context.Context, rg parquet.RowGroup, p *Plan, file string, firstRow int64, sink Sink) (done int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parquet-go panicked on the row group: %v: %w", r, ErrCorruptFile)
		}
	}()
	leaves := p.leaves()
	chunks := rg.ColumnChunks()
	cursors := make([]*cursor, len(leaves))
	for i, l := range leaves {
		if l.ColumnIndex < 0 || l.ColumnIndex >= len(chunks) {
			return 0, fmt.Errorf("column %v missing from row group: %w", l.Path, ErrSchema)
		}
		cursors[i] = newCursor(chunks[l.ColumnIndex])
		defer cursors[i].close()
	}
	cols := make([][]parquet.Value, len(leaves))
	n := rg.NumRows()
	for done = 0; done < n; done++ {
		if done%1024 == 0 && ctx.Err() != nil {
			return done, ctx.Err()
		}
		for i, c := range cursors {
			v, err := c.row(cols[i])
			if err != nil {
				return done, fmt.Errorf("column %v, row %d: %w", leaves[i].Path, firstRow+done, err)
			}
			cols[i] = v
		}
		rec, err := p.assemble(cols, fmt.Sprintf("%s#%d", file, firstRow+done))
		if err != nil {
			reason := schemas.ReasonPayload
			var er *errRow
			if errors.As(err, &er) {
				reason = er.reason
			}
			sink.Bad(firstRow+done, reason, err, rec)
			continue
		}
		sink.Record(rec)
	}
	return done, nil
}

// WriteRows writes the records of seq as one Parquet file to w.
//
// Values never go into page headers: parquet-go v0.32.0 writes each data
// page's min and max twice in its header (the deprecated min/max and
// min_value/max_value), untruncated, so one 5 MB image or dead-letter
// payload made a 21 MB page header, which pyarrow refuses ("Couldn't
// deserialize thrift ... Deserializing page header failed": Arrow caps page
// headers at 16 MB), and a 32 MB file. Page statistics are off
// (readers use the column index, truncated to 16 bytes, and the column
// chunk statistics in the footer), and raw binary columns — BYTE_ARRAY
// without a string logical type: images, payloads — get no bounds at all,
// since min and max of blobs help no query and would fill the footer.
func WriteRows[T any](w io.Writer, seq func(yield func(T) bool), opts ...parquet.WriterOption) error {
	opts = append(append([]parquet.WriterOption{}, opts...), parquet.DataPageStatistics(false))
	for _, path := range blobColumns(parquet.SchemaOf(new(T))) {
		opts = append(opts, parquet.SkipPageBounds(path...))
	}
	pw := parquet.NewGenericWriter[T](w, opts...)
	batch := make([]T, 0, 64)
	var werr error
	flush := func() bool {
		if _, err := pw.Write(batch); err != nil {
			werr = err
			return false
		}
		batch = batch[:0]
		return true
	}
	seq(func(v T) bool {
		batch = append(batch, v)
		return len(batch) < cap(batch) || flush()
	})
	if werr == nil && len(batch) > 0 {
		flush()
	}
	if werr != nil {
		pw.Close()
		return werr
	}
	return pw.Close()
}
