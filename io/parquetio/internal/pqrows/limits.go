package pqrows

import (
	"errors"
	"fmt"
)

// Sentinel errors of Open and File.ReadRowGroup.
var (
	// ErrCorruptFile: the file's structure is invalid (bad magic, a footer
	// or page header that does not parse, offsets or sizes outside the file,
	// a compressed page that does not decompress to its declared size).
	ErrCorruptFile = errors.New("corrupt parquet file")
	// ErrLimit: the file declares a structure larger than a Limits field
	// allows. The file may be valid; it is refused before anything of the
	// declared size is allocated.
	ErrLimit = errors.New("parquet file exceeds a read limit")
)

// Limits bound what reading one file may allocate. Every size a file
// declares (footer length, Thrift lengths and list sizes, page sizes and
// value counts, column chunk offsets and sizes) is checked against the file's
// own size and these caps before parquet-go is asked to read it; see the
// package doc for the resulting bound. The zero value takes the defaults.
type Limits struct {
	// MaxFooterBytes caps the Thrift footer's length. Default 16 MiB (a file
	// with 1,000 row groups of 20 columns has a footer of a few MB).
	MaxFooterBytes int64
	// MaxMetadataBytes caps what decoding the footer (or one page header)
	// allocates for its lists, estimated from the element counts the bytes
	// declare before anything is decoded. Default 64 MiB.
	MaxMetadataBytes int64
	// MaxPageBytes caps a page's compressed and uncompressed size (one
	// value, e.g. an image, lies within one page). Default 256 MiB.
	MaxPageBytes int64
	// MaxPageValues caps the values (nulls included) of one page or
	// dictionary: parquet-go allocates level, offset and value buffers of a
	// few bytes per value, and run-length encoded levels can declare millions
	// of values in a few bytes. Default 4,194,304.
	MaxPageValues int64
}

// Defaults of Limits.
const (
	DefaultMaxFooterBytes   = 16 << 20
	DefaultMaxMetadataBytes = 64 << 20
	DefaultMaxPageBytes     = 256 << 20
	DefaultMaxPageValues    = 4 << 20
)

// WithDefaults returns l with each zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxFooterBytes == 0 {
		l.MaxFooterBytes = DefaultMaxFooterBytes
	}
	if l.MaxMetadataBytes == 0 {
		l.MaxMetadataBytes = DefaultMaxMetadataBytes
	}
	if l.MaxPageBytes == 0 {
		l.MaxPageBytes = DefaultMaxPageBytes
	}
	if l.MaxPageValues == 0 {
		l.MaxPageValues = DefaultMaxPageValues
	}
	return l
}

// Validate names the first negative field (without a "Limits." prefix, so
// that parquetio can name its own option), or a page cap beyond parquet-go's
// int32 page sizes.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"MaxFooterBytes", l.MaxFooterBytes}, {"MaxMetadataBytes", l.MaxMetadataBytes}, {"MaxPageBytes", l.MaxPageBytes}, {"MaxPageValues", l.MaxPageValues}} {
		if f.v < 0 {
			return fmt.Errorf("%s = %d, want >= 0 (0 for the default)", f.name, f.v)
		}
		if f.v > 1<<31-1 {
			return fmt.Errorf("%s = %d, want < 2^31", f.name, f.v)
		}
	}
	return nil
}
