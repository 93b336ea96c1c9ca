package parquetio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/flavabeam/flavabeam/io/parquetio/internal/pqrows"
	"github.com/flavabeam/flavabeam/schemas"
)

// StageRead is the DeadLetter.Stage of everything Read dead-letters.
const StageRead = "parquetio.Read"

func init() {
	register.DoFn4x0[context.Context, string, func(string), func(schemas.DeadLetter)](&expandFn{})
	register.DoFn4x0[context.Context, string, func(RowGroupUnit), func(schemas.DeadLetter)](&splitFn{})
	register.DoFn4x0[context.Context, RowGroupUnit, func(schemas.ImageText), func(schemas.DeadLetter)](&readFn{})
	register.Emitter1[string]()
	register.Emitter1[RowGroupUnit]()
	register.Emitter1[schemas.ImageText]()
	register.Emitter1[schemas.DeadLetter]()
	beam.RegisterType(reflect.TypeOf((*RowGroupUnit)(nil)).Elem())
	for _, t := range []any{schemas.ImageText{}, schemas.Embedding{}, schemas.Score{}, schemas.LabelScore{}, schemas.MIMLabel{}, schemas.DeadLetter{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
}

// RowGroupUnit is one unit of Read's work: a row group of a file.
type RowGroupUnit struct {
	// Path is the file.
	Path string
	// RowGroup is the row group's index in the file.
	RowGroup int
	// FirstRow is the file-level index of the row group's first row.
	FirstRow int64
	// NumRows is the row group's row count.
	NumRows int64
}

// Read reads the Parquet files matching glob as schemas.ImageText records.
// It returns the records and the dead letters (unmatched glob, unreadable
// file or row group, incompatible schema, invalid rows). Work is split by row
// group: the (file, row group) units are reshuffled so workers share a large
// file. Invalid options panic at construction.
func Read(s beam.Scope, glob string, opts ReadOptions) (records, deadLetters beam.PCollection) {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	s = s.Scope("parquetio.Read")
	files, dl1 := beam.ParDo2(s, &expandFn{}, beam.Create(s, glob))
	units, dl2 := beam.ParDo2(s, &splitFn{Options: opts}, beam.Reshuffle(s, files))
	recs, dl3 := beam.ParDo2(s, &readFn{Options: opts}, beam.Reshuffle(s, units))
	return recs, beam.Flatten(s, dl1, dl2, dl3)
}

// ReasonCorruptFile is the DeadLetter.Reason of a file or row group that is
// structurally invalid or declares sizes beyond ReadOptions' limits (errors
// wrapping ErrCorruptFile or ErrLimit); the message names the file.
const ReasonCorruptFile = "corrupt_file"

// ErrCorruptFile: a file's structure is invalid (magic bytes, footer, page
// headers, offsets or sizes outside the file, pages that do not decompress
// to their declared size).
var ErrCorruptFile = pqrows.ErrCorruptFile

// ErrLimit: a file declares a footer, page or dictionary larger than
// ReadOptions allows; it is refused before anything of that size is
// allocated.
var ErrLimit = pqrows.ErrLimit

// readReason is the dead-letter reason for a file-level error.
func readReason(err error) string {
	if errors.Is(err, ErrCorruptFile) || errors.Is(err, ErrLimit) {
		return ReasonCorruptFile
	}
	return schemas.ReasonRead
}

func deadLetter(id, reason string, err error, payload []byte) schemas.DeadLetter {
	return schemas.DeadLetter{ID: id, Stage: StageRead, Reason: reason, Message: err.Error(), Payload: payload, Time: time.Now().UTC()}
}

// expandFn expands a glob into file paths.
type expandFn struct{}

func (f *expandFn) ProcessElement(ctx context.Context, glob string, emit func(string), dead func(schemas.DeadLetter)) {
	files, err := listGlob(ctx, glob)
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("parquetio: no file matches %q", glob)
	}
	if err != nil {
		dead(deadLetter(glob, schemas.ReasonRead, err, nil))
		return
	}
	for _, f := range files {
		emit(f)
	}
}

// openParquet opens path and parses its footer within the limits of opts
// (pqrows.Open), turning a parquet-go panic on corrupt bytes into an error.
func openParquet(ctx context.Context, path string, opts ReadOptions) (*openedFile, *pqrows.File, error) {
	of, err := openFile(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("parquetio: open %s: %w", path, err)
	}
	pf, err := pqrows.Open(of.r, of.size, opts.limits())
	if err != nil {
		of.Close()
		return nil, nil, fmt.Errorf("parquetio: %s: %w", path, err)
	}
	return of, pf, nil
}

// CountRows returns the row count the footer of the Parquet file at path
// declares, reading only the footer, under the same checks and limits as Read
// (an error wraps ErrCorruptFile or ErrLimit for a file Read would
// dead-letter). It is for progress reporting: Read itself needs no count.
func CountRows(ctx context.Context, path string, opts ReadOptions) (int64, error) {
	if err := opts.Validate(); err != nil {
		return 0, err
	}
	of, pf, err := openParquet(ctx, path, opts)
	if err != nil {
		return 0, err
	}
	defer of.Close()
	return pf.NumRows(), nil
}

// splitFn lists a file's row groups, checking its schema once.
type splitFn struct {
	Options ReadOptions
}

func (f *splitFn) ProcessElement(ctx context.Context, path string, emit func(RowGroupUnit), dead func(schemas.DeadLetter)) {
	of, pf, err := openParquet(ctx, path, f.Options)
	if err != nil {
		dead(deadLetter(path, readReason(err), err, nil))
		return
	}
	defer of.Close()
	if _, err := pqrows.NewPlan(pf.Schema(), f.Options.columns()); err != nil {
		dead(deadLetter(path, schemas.ReasonRead, fmt.Errorf("parquetio: %s: %w", path, err), nil))
		return
	}
	first := int64(0)
	for i, rg := range pf.RowGroups() {
		n := rg.NumRows()
		if n > 0 {
			emit(RowGroupUnit{Path: path, RowGroup: i, FirstRow: first, NumRows: n})
		}
		first += n
	}
}

// readFn reads one row group. It keeps the last opened file (one handle per
// DoFn instance) until a unit of another file arrives or Teardown, since
// units of one file often arrive together.
type readFn struct {
	Options ReadOptions

	path string
	file *openedFile
	pf   *pqrows.File
	plan *pqrows.Plan
}

func (f *readFn) closeFile() {
	if f.file != nil {
		f.file.Close()
	}
	f.path, f.file, f.pf, f.plan = "", nil, nil, nil
}

func (f *readFn) Teardown() { f.closeFile() }

func (f *readFn) ProcessElement(ctx context.Context, u RowGroupUnit, emit func(schemas.ImageText), dead func(schemas.DeadLetter)) {
	unitID := fmt.Sprintf("%s#rowgroup=%d", u.Path, u.RowGroup)
	if f.path != u.Path {
		f.closeFile()
		of, pf, err := openParquet(ctx, u.Path, f.Options)
		if err != nil {
			dead(deadLetter(unitID, readReason(err), err, nil))
			return
		}
		p, err := pqrows.NewPlan(pf.Schema(), f.Options.columns())
		if err != nil {
			of.Close()
			dead(deadLetter(unitID, schemas.ReasonRead, fmt.Errorf("parquetio: %s: %w", u.Path, err), nil))
			return
		}
		f.path, f.file, f.pf, f.plan = u.Path, of, pf, p
	}
	rgs := f.pf.RowGroups()
	if u.RowGroup < 0 || u.RowGroup >= len(rgs) {
		dead(deadLetter(unitID, schemas.ReasonRead, fmt.Errorf("parquetio: %s has %d row groups, want index %d", u.Path, len(rgs), u.RowGroup), nil))
		return
	}
	sink := pqrows.Sink{
		Record: emit,
		Bad: func(row int64, reason string, err error, rec schemas.ImageText) {
			payload, _ := json.Marshal(rec)
			dead(deadLetter(rec.ID, reason, fmt.Errorf("parquetio: %s row %d: %w", u.Path, row, err), payload))
		},
	}
	done, err := f.pf.ReadRowGroup(ctx, u.RowGroup, f.plan, u.Path, u.FirstRow, sink)
	if err != nil {
		// Rows before the failure were emitted; the rest of the unit is lost.
		dead(deadLetter(unitID, readReason(err), fmt.Errorf("parquetio: %s rows %d..%d: %w", u.Path, u.FirstRow+done, u.FirstRow+u.NumRows-1, err), nil))
		f.closeFile()
	}
}
