package parquetio

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/schemas"
)

// cursor walks the values of one column chunk page by page and hands them
// out one row at a time (a row starts at repetition level 0).
type cursor struct {
	pages parquet.Pages
	vr    parquet.ValueReader
	buf   []parquet.Value
	i, n  int
	done  bool
}

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

// rowSink receives what readRowGroup produces.
type rowSink struct {
	record func(schemas.ImageText)
	// bad is called for a row that could not become a valid record; rec
	// holds what was read of it.
	bad func(row int64, reason string, err error, rec schemas.ImageText)
}

// readRowGroup reads every row of rg through p. file names the file for
// fallback IDs ("file#row"), firstRow is the file-level index of rg's first
// row. A bad row goes to sink.bad and reading continues; an error return
// means the row group itself is unreadable from the row it names on.
func readRowGroup(ctx context.Context, rg parquet.RowGroup, p *plan, file string, firstRow int64, sink rowSink) (int64, error) {
	leaves := p.leaves()
	chunks := rg.ColumnChunks()
	cursors := make([]*cursor, len(leaves))
	for i, l := range leaves {
		if l.ColumnIndex < 0 || l.ColumnIndex >= len(chunks) {
			return 0, fmt.Errorf("parquetio: column %v missing from row group: %w", l.Path, ErrSchema)
		}
		cursors[i] = newCursor(chunks[l.ColumnIndex])
		defer cursors[i].close()
	}
	cols := make([][]parquet.Value, len(leaves))
	n := rg.NumRows()
	for r := int64(0); r < n; r++ {
		if r%1024 == 0 && ctx.Err() != nil {
			return r, ctx.Err()
		}
		for i, c := range cursors {
			v, err := c.row(cols[i])
			if err != nil {
				return r, fmt.Errorf("parquetio: column %v, row %d: %w", leaves[i].Path, firstRow+r, err)
			}
			cols[i] = v
		}
		rec, err := p.assemble(cols, fmt.Sprintf("%s#%d", file, firstRow+r))
		if err != nil {
			reason := schemas.ReasonPayload
			var er *errRow
			if errors.As(err, &er) {
				reason = er.reason
			}
			sink.bad(firstRow+r, reason, err, rec)
			continue
		}
		sink.record(rec)
	}
	return n, nil
}
