package pqrows

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/flavabeam/flavabeam/schemas"
)

// ErrSchema: a file's column cannot hold the ImageText field it was chosen
// for (wrong physical type, unexpected nesting, or a named column is absent).
var ErrSchema = errors.New("incompatible parquet schema")

// Columns names the column chosen for each ImageText field: a dotted path,
// matched case-insensitively. An empty name means: the first of the field's
// default candidates that fits, or none (the field stays empty; a missing ID
// becomes "<file>#<row>"). A named column that is absent or of the wrong
// type is an error.
type Columns struct {
	ID, Image, ImageURI, Text, Labels, Metadata, EventTime string
}

// Default candidate column names, tried in order (case-insensitive).
var (
	idNames        = []string{"id", "key", "uid", "uuid", "image_id", "sample_id"}
	imageNames     = []string{"image", "image.bytes", "image_bytes", "img", "jpg", "jpeg", "png", "webp"}
	imageURINames  = []string{"image_uri", "image_url", "image_path", "image.path", "url", "uri", "path"}
	textNames      = []string{"text", "caption", "txt", "sentence", "prompt"}
	labelsNames    = []string{"labels", "candidate_labels"}
	metadataNames  = []string{"metadata"}
	eventTimeNames = []string{"event_time", "timestamp"}
)

type idKind int

const (
	idString idKind = iota
	idInt
	idUUID
)

type metaKind int

const (
	metaMap metaKind = iota
	metaJSON
)

// Plan says which leaf column of a file feeds each ImageText field; a nil
// entry means the field is absent from the file. It is built once per file
// from the schema.
type Plan struct {
	id                    *parquet.LeafColumn
	idKind                idKind
	image, imageURI, text *parquet.LeafColumn
	labels                *parquet.LeafColumn
	metaKey, metaValue    *parquet.LeafColumn
	metaKind              metaKind
	eventTime             *parquet.LeafColumn
	timeUnit              time.Duration // 0 for INT96
}

// leaves returns the distinct leaf columns the plan reads.
func (p *Plan) leaves() []*parquet.LeafColumn {
	var out []*parquet.LeafColumn
	for _, l := range []*parquet.LeafColumn{p.id, p.image, p.imageURI, p.text, p.labels, p.metaKey, p.metaValue, p.eventTime} {
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// schemaIndex maps lower-cased dotted leaf paths to leaves.
type schemaIndex struct {
	leaves map[string]parquet.LeafColumn
	paths  []string
}

func indexSchema(s *parquet.Schema) schemaIndex {
	idx := schemaIndex{leaves: map[string]parquet.LeafColumn{}}
	for _, path := range s.Columns() {
		leaf, ok := s.Lookup(path...)
		if !ok {
			continue
		}
		key := strings.ToLower(strings.Join(path, "."))
		idx.leaves[key] = leaf
		idx.paths = append(idx.paths, key)
	}
	return idx
}

// under returns the leaves strictly below the (lower-cased) group name.
func (x schemaIndex) under(name string) []parquet.LeafColumn {
	var out []parquet.LeafColumn
	for _, p := range x.paths {
		if strings.HasPrefix(p, name+".") {
			out = append(out, x.leaves[p])
		}
	}
	return out
}

func (x schemaIndex) exists(name string) bool {
	_, ok := x.leaves[name]
	return ok || len(x.under(name)) > 0
}

// pick chooses the column for one field: the explicit name if set (its
// absence or misfit is an error), else the first candidate that fits (a
// candidate of the wrong shape is skipped: it is only a guess).
func pick[T any](x schemaIndex, explicit string, candidates []string, field string, fit func(name string) (T, error)) (T, bool, error) {
	var zero T
	if explicit != "" {
		name := strings.ToLower(explicit)
		if !x.exists(name) {
			return zero, false, fmt.Errorf("parquetio: column %q for %s not found: %w", explicit, field, ErrSchema)
		}
		v, err := fit(name)
		if err != nil {
			return zero, false, fmt.Errorf("parquetio: column %q for %s: %w", explicit, field, err)
		}
		return v, true, nil
	}
	for _, name := range candidates {
		if !x.exists(name) {
			continue
		}
		if v, err := fit(name); err == nil {
			return v, true, nil
		}
	}
	return zero, false, nil
}

func scalarLeaf(x schemaIndex, name string, kinds ...parquet.Kind) (*parquet.LeafColumn, error) {
	leaf, ok := x.leaves[name]
	if !ok {
		return nil, fmt.Errorf("is a group, not a primitive column: %w", ErrSchema)
	}
	if leaf.MaxRepetitionLevel != 0 {
		return nil, fmt.Errorf("is repeated: %w", ErrSchema)
	}
	k := leaf.Node.Type().Kind()
	for _, want := range kinds {
		if k == want {
			return &leaf, nil
		}
	}
	return nil, fmt.Errorf("has type %v: %w", leaf.Node.Type(), ErrSchema)
}

func isUUID(leaf *parquet.LeafColumn) bool {
	lt := leaf.Node.Type().LogicalType()
	if lt == nil {
		return false
	}
	_, ok := lt.Value.(*format.UUIDType)
	return ok && leaf.Node.Type().Length() == 16
}

func timestampUnit(leaf *parquet.LeafColumn) (time.Duration, error) {
	t := leaf.Node.Type()
	switch t.Kind() {
	case parquet.Int96:
		return 0, nil
	case parquet.Int64:
		if lt := t.LogicalType(); lt != nil {
			if ts, ok := lt.Value.(*format.TimestampType); ok && ts.Unit.Value != nil {
				return ts.Unit.Value.Duration(), nil
			}
		}
		if ct := t.ConvertedType(); ct != nil {
			switch *ct {
			case deprecated.TimestampMillis:
				return time.Millisecond, nil
			case deprecated.TimestampMicros:
				return time.Microsecond, nil
			}
		}
	}
	return 0, fmt.Errorf("has type %v, want TIMESTAMP or INT96: %w", t, ErrSchema)
}

// NewPlan maps a file schema onto ImageText, choosing a leaf column for
// each field (see Columns). Errors wrap ErrSchema.
func NewPlan(s *parquet.Schema, o Columns) (*Plan, error) {
	x := indexSchema(s)
	p := &Plan{}
	var err error
	var ok bool

	type idPick struct {
		leaf *parquet.LeafColumn
		kind idKind
	}
	var id idPick
	id, ok, err = pick(x, o.ID, idNames, "id", func(n string) (idPick, error) {
		leaf, err := scalarLeaf(x, n, parquet.ByteArray, parquet.Int32, parquet.Int64, parquet.FixedLenByteArray)
		if err != nil {
			return idPick{}, err
		}
		switch leaf.Node.Type().Kind() {
		case parquet.Int32, parquet.Int64:
			return idPick{leaf, idInt}, nil
		case parquet.FixedLenByteArray:
			if !isUUID(leaf) {
				return idPick{}, fmt.Errorf("is a FIXED_LEN_BYTE_ARRAY that is not a UUID: %w", ErrSchema)
			}
			return idPick{leaf, idUUID}, nil
		}
		return idPick{leaf, idString}, nil
	})
	if err != nil {
		return nil, err
	}
	if ok {
		p.id, p.idKind = id.leaf, id.kind
	}
	bytesCol := func(n string) (*parquet.LeafColumn, error) { return scalarLeaf(x, n, parquet.ByteArray) }
	if p.image, _, err = pick(x, o.Image, imageNames, "image", bytesCol); err != nil {
		return nil, err
	}
	if p.imageURI, _, err = pick(x, o.ImageURI, imageURINames, "image_uri", bytesCol); err != nil {
		return nil, err
	}
	if p.text, _, err = pick(x, o.Text, textNames, "text", bytesCol); err != nil {
		return nil, err
	}
	if p.labels, _, err = pick(x, o.Labels, labelsNames, "labels", func(n string) (*parquet.LeafColumn, error) {
		if leaf, ok := x.leaves[n]; ok && leaf.MaxRepetitionLevel == 1 && leaf.Node.Type().Kind() == parquet.ByteArray {
			return &leaf, nil // legacy bare repeated field
		}
		sub := x.under(n)
		if len(sub) != 1 || sub[0].MaxRepetitionLevel != 1 || sub[0].Node.Type().Kind() != parquet.ByteArray {
			return nil, fmt.Errorf("is not a LIST<STRING>: %w", ErrSchema)
		}
		return &sub[0], nil
	}); err != nil {
		return nil, err
	}
	type metaPick struct {
		key, value *parquet.LeafColumn
		kind       metaKind
	}
	meta, ok, err := pick(x, o.Metadata, metadataNames, "metadata", func(n string) (metaPick, error) {
		if leaf, err := scalarLeaf(x, n, parquet.ByteArray); err == nil {
			return metaPick{leaf, nil, metaJSON}, nil
		}
		sub := x.under(n)
		if len(sub) != 2 || sub[0].MaxRepetitionLevel != 1 || sub[1].MaxRepetitionLevel != 1 ||
			sub[0].Node.Type().Kind() != parquet.ByteArray || sub[1].Node.Type().Kind() != parquet.ByteArray ||
			!strings.EqualFold(sub[0].Path[len(sub[0].Path)-1], "key") || !strings.EqualFold(sub[1].Path[len(sub[1].Path)-1], "value") {
			return metaPick{}, fmt.Errorf("is not a MAP<STRING,STRING> or JSON string: %w", ErrSchema)
		}
		return metaPick{&sub[0], &sub[1], metaMap}, nil
	})
	if err != nil {
		return nil, err
	}
	if ok {
		p.metaKey, p.metaValue, p.metaKind = meta.key, meta.value, meta.kind
	}
	type timePick struct {
		leaf *parquet.LeafColumn
		unit time.Duration
	}
	tp, ok, err := pick(x, o.EventTime, eventTimeNames, "event_time", func(n string) (timePick, error) {
		leaf, err := scalarLeaf(x, n, parquet.Int64, parquet.Int96)
		if err != nil {
			return timePick{}, err
		}
		u, err := timestampUnit(leaf)
		return timePick{leaf, u}, err
	})
	if err != nil {
		return nil, err
	}
	if ok {
		p.eventTime, p.timeUnit = tp.leaf, tp.unit
	}
	if p.image == nil && p.imageURI == nil && p.text == nil {
		// Every row would lack input; say so once for the file. This also
		// bounds reading by real column data rather than the footer's row count.
		return nil, fmt.Errorf("no image, image URI or text column among %v: %w", x.paths, ErrSchema)
	}
	return p, nil
}

// errRow marks a row-level failure: the row is dead-lettered, the rest of the
// row group is read.
type errRow struct {
	reason string
	err    error
}

func (e *errRow) Error() string { return e.err.Error() }
func (e *errRow) Unwrap() error { return e.err }

// present reports whether a scalar column's row holds a non-null value.
func present(vals []parquet.Value) bool {
	return len(vals) == 1 && !vals[0].IsNull()
}

// assemble builds one ImageText from the per-column values of one row, in the
// order of p.leaves(). fallbackID is used when the file has no ID column.
func (p *Plan) assemble(cols [][]parquet.Value, fallbackID string) (schemas.ImageText, error) {
	var rec schemas.ImageText
	i := 0
	next := func() []parquet.Value { v := cols[i]; i++; return v }
	if p.id != nil {
		v := next()
		if present(v) {
			switch p.idKind {
			case idInt:
				rec.ID = strconv.FormatInt(v[0].Int64(), 10)
			case idUUID:
				b := v[0].ByteArray()
				h := hex.EncodeToString(b)
				rec.ID = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
			default:
				rec.ID = string(v[0].ByteArray())
			}
		}
	}
	if rec.ID == "" {
		rec.ID = fallbackID
	}
	if p.image != nil {
		if v := next(); present(v) && len(v[0].ByteArray()) > 0 {
			rec.Image = append([]byte(nil), v[0].ByteArray()...)
		}
	}
	if p.imageURI != nil {
		if v := next(); present(v) {
			rec.ImageURI = string(v[0].ByteArray())
		}
	}
	if p.text != nil {
		if v := next(); present(v) {
			rec.Text = string(v[0].ByteArray())
		}
	}
	if p.labels != nil {
		for _, v := range next() {
			if v.DefinitionLevel() == p.labels.MaxDefinitionLevel {
				rec.Labels = append(rec.Labels, string(v.ByteArray()))
			}
		}
	}
	if p.metaKey != nil {
		switch p.metaKind {
		case metaJSON:
			if v := next(); present(v) && len(v[0].ByteArray()) > 0 {
				b := v[0].ByteArray()
				if !utf8.Valid(b) {
					return rec, &errRow{schemas.ReasonInvalidText, fmt.Errorf("metadata is not valid UTF-8: %w", schemas.ErrInvalidText)}
				}
				if err := json.Unmarshal(b, &rec.Metadata); err != nil {
					return rec, &errRow{schemas.ReasonPayload, fmt.Errorf("metadata is not a JSON object of strings: %w: %v", schemas.ErrMalformedPayload, err)}
				}
			}
		case metaMap:
			keys, values := next(), next()
			if len(keys) != len(values) {
				return rec, &errRow{schemas.ReasonPayload, fmt.Errorf("metadata map has %d keys and %d values: %w", len(keys), len(values), schemas.ErrMalformedPayload)}
			}
			for j, k := range keys {
				if k.DefinitionLevel() < p.metaKey.MaxDefinitionLevel {
					continue // null or empty map
				}
				if rec.Metadata == nil {
					rec.Metadata = map[string]string{}
				}
				val := ""
				if values[j].DefinitionLevel() == p.metaValue.MaxDefinitionLevel {
					val = string(values[j].ByteArray())
				}
				rec.Metadata[string(k.ByteArray())] = val
			}
		}
		if len(rec.Metadata) == 0 {
			rec.Metadata = nil
		}
	}
	if p.eventTime != nil {
		if v := next(); present(v) {
			if p.timeUnit == 0 {
				rec.EventTime = int96Time(v[0].Int96())
			} else {
				n := v[0].Int64()
				switch p.timeUnit {
				case time.Millisecond:
					rec.EventTime = time.UnixMilli(n).UTC()
				case time.Microsecond:
					rec.EventTime = time.UnixMicro(n).UTC()
				default:
					rec.EventTime = time.Unix(0, n).UTC()
				}
			}
		}
	}
	if err := rec.Validate(); err != nil {
		return rec, &errRow{schemas.ReasonOf(err), err}
	}
	return rec, nil
}

// int96Time converts the legacy Impala/Spark INT96 timestamp: nanoseconds of
// the day in the low 8 bytes, Julian day number in the high 4.
func int96Time(v deprecated.Int96) time.Time {
	const julianUnixEpoch = 2440588
	nanos := int64(uint64(v[1])<<32 | uint64(v[0]))
	days := int64(v[2]) - julianUnixEpoch
	return time.Unix(days*86400, nanos).UTC()
}
