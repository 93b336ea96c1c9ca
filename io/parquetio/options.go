package parquetio

import (
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/io/parquetio/internal/pqrows"
)

// ReadOptions configures Read. The zero value reads every ImageText field,
// finding each column by its usual names.
type ReadOptions struct {
	// IDColumn names the column holding ImageText.ID (dotted path for nested
	// columns, matched case-insensitively). Default "": the first of id, key,
	// uid, uuid, image_id, sample_id; without one, the ID is "<file>#<row>".
	// String, integer and UUID columns are accepted.
	IDColumn string
	// ImageColumn names the binary column holding the encoded image.
	// Default "": image, image.bytes, image_bytes, img, jpg, jpeg, png, webp.
	ImageColumn string
	// ImageURIColumn names the string column holding the image path or URI.
	// Default "": image_uri, image_url, image_path, image.path, url, uri, path.
	ImageURIColumn string
	// TextColumn names the string column holding the text.
	// Default "": text, caption, txt, sentence, prompt.
	TextColumn string
	// LabelsColumn names the LIST<STRING> column of zero-shot labels.
	// Default "": labels, candidate_labels.
	LabelsColumn string
	// MetadataColumn names the MAP<STRING,STRING> (or JSON string) column.
	// Default "": metadata.
	MetadataColumn string
	// EventTimeColumn names the TIMESTAMP or INT96 column of event times.
	// Default "": event_time, timestamp.
	EventTimeColumn string

	// Limits on what reading one file may allocate. Every size a file
	// declares is checked against the file's own size and these caps before
	// anything of that size is allocated; a file beyond one is dead-lettered
	// with ReasonCorruptFile. See the package doc for the resulting bound.
	//
	// MaxFooterBytes caps the footer (Thrift metadata). Default 0: 16 MiB.
	MaxFooterBytes int64
	// MaxMetadataBytes caps what decoding the footer or a page header
	// allocates for its lists, estimated from the counts it declares.
	// Default 0: 64 MiB.
	MaxMetadataBytes int64
	// MaxPageBytes caps a page's compressed and uncompressed size; one value
	// (an image) lies within one page. Default 0: 256 MiB.
	MaxPageBytes int64
	// MaxPageValues caps the values of one page or dictionary. Default 0:
	// 4,194,304.
	MaxPageValues int64
}

func (o ReadOptions) limits() pqrows.Limits {
	return pqrows.Limits{MaxFooterBytes: o.MaxFooterBytes, MaxMetadataBytes: o.MaxMetadataBytes,
		MaxPageBytes: o.MaxPageBytes, MaxPageValues: o.MaxPageValues}
}

// Validate reports a malformed column name or a negative limit.
func (o ReadOptions) Validate() error {
	if err := o.limits().Validate(); err != nil {
		return fmt.Errorf("parquetio: ReadOptions.%w", err)
	}
	for name, v := range map[string]string{
		"IDColumn": o.IDColumn, "ImageColumn": o.ImageColumn, "ImageURIColumn": o.ImageURIColumn,
		"TextColumn": o.TextColumn, "LabelsColumn": o.LabelsColumn, "MetadataColumn": o.MetadataColumn,
		"EventTimeColumn": o.EventTimeColumn,
	} {
		if v == "" {
			continue
		}
		for _, part := range strings.Split(v, ".") {
			if part == "" {
				return fmt.Errorf("parquetio: ReadOptions.%s: %q has an empty path element", name, v)
			}
		}
	}
	return nil
}

// WriteOptions configures Write. The zero value writes one snappy-compressed
// shard with data page v2 and row groups of DefaultRowGroupRows rows.
type WriteOptions struct {
	// NumShards is the number of output files. Default 0: 1.
	NumShards int
	// RowGroupRows caps the rows per row group. Default 0: DefaultRowGroupRows.
	// Rows holding images are large: 256 rows of 100 KB JPEGs make 25 MB groups.
	RowGroupRows int
	// Compression is "snappy", "zstd", "gzip" or "none". Default "": snappy.
	Compression string
	// DataPageV1 writes data page v1 headers for readers that predate v2
	// (older Spark, Hive). Default false: v2.
	DataPageV1 bool
}

// DefaultRowGroupRows is the row group size used when RowGroupRows is 0.
const DefaultRowGroupRows = 256

// Validate names the first bad field.
func (o WriteOptions) Validate() error {
	if o.NumShards < 0 || o.NumShards > 99999 {
		return fmt.Errorf("parquetio: WriteOptions.NumShards = %d, want 0..99999", o.NumShards)
	}
	if o.RowGroupRows < 0 {
		return fmt.Errorf("parquetio: WriteOptions.RowGroupRows = %d, want >= 0", o.RowGroupRows)
	}
	if _, err := compressionCodec(o.Compression); err != nil {
		return err
	}
	return nil
}

func (o WriteOptions) shards() int {
	if o.NumShards == 0 {
		return 1
	}
	return o.NumShards
}

func (o WriteOptions) rowGroupRows() int {
	if o.RowGroupRows == 0 {
		return DefaultRowGroupRows
	}
	return o.RowGroupRows
}

func compressionCodec(name string) (parquet.WriterOption, error) {
	switch strings.ToLower(name) {
	case "", "snappy":
		return parquet.Compression(&parquet.Snappy), nil
	case "zstd":
		return parquet.Compression(&parquet.Zstd), nil
	case "gzip":
		return parquet.Compression(&parquet.Gzip), nil
	case "none", "uncompressed":
		return parquet.Compression(&parquet.Uncompressed), nil
	}
	return nil, fmt.Errorf("parquetio: WriteOptions.Compression = %q, want snappy, zstd, gzip or none", name)
}

// writerOptions returns the parquet-go options for o (already validated).
func (o WriteOptions) writerOptions() []parquet.WriterOption {
	c, _ := compressionCodec(o.Compression)
	opts := []parquet.WriterOption{c, parquet.MaxRowsPerRowGroup(int64(o.rowGroupRows()))}
	if o.DataPageV1 {
		opts = append(opts, parquet.DataPageVersion(1))
	}
	return opts
}

// ErrSchema: a file's column cannot hold the ImageText field it was chosen
// for (wrong type or nesting, or a named column is absent).
var ErrSchema = pqrows.ErrSchema

func (o ReadOptions) columns() pqrows.Columns {
	return pqrows.Columns{ID: o.IDColumn, Image: o.ImageColumn, ImageURI: o.ImageURIColumn, Text: o.TextColumn,
		Labels: o.LabelsColumn, Metadata: o.MetadataColumn, EventTime: o.EventTimeColumn}
}
