// Package parquetio reads ImageText records from Parquet files and writes
// flavabeam's record types to sharded Parquet files, as Beam PTransforms on
// parquet-go.
//
// Read expands a glob into files, lists each file's row groups and
// Reshuffles the (file, row group) units, so one large file is read by many
// workers; Beam's own parquetio reads a whole file into memory on one worker.
// Within a row group only the needed leaf columns are read, page by page.
// Files written by other tools map onto schemas.ImageText: optional and
// required columns, case-insensitive names, common name variants ("caption"
// for text, the Hugging Face image struct "image.bytes" / "image.path"),
// labels as LIST<STRING>, metadata as MAP<STRING,STRING> or a JSON string,
// event time as TIMESTAMP (millis, micros, nanos) or INT96. An unreadable file,
// an incompatible column or a bad row becomes a schemas.DeadLetter; Read never
// fails the pipeline on data.
//
// Reading a file allocates at most a documented bound derived from the
// file's size and ReadOptions' limits (MaxFooterBytes, MaxMetadataBytes,
// MaxPageBytes, MaxPageValues; see internal/pqrows): the footer length,
// Thrift list sizes, column chunk offsets and page headers a file declares
// are checked before parquet-go, which trusts them, reads anything. A file
// that is malformed or beyond a limit is a dead letter with reason
// ReasonCorruptFile ("corrupt_file") naming the file (or the row group, when
// only that row group's pages are at fault), never a dead worker.
//
// Write shards records by a hash of their ID into
// prefix-SSSSS-of-NNNNN.parquet, writing each shard to a temporary name and
// renaming it into place, so a reader never sees a half-written file and a
// retried shard replaces its earlier attempt. Every shard file exists, empty
// or not.
//
// Files are opened through Beam's filesystem registry, so any registered
// scheme works (the local one is imported here); a filesystem whose reader is
// not an io.ReaderAt is read whole into memory.
//
// The column mapping and page-by-page row assembly (internal/pqrows) are
// hand-written rather than parquet-go's GenericReader because that reader
// decodes every column of its struct's schema by exact name and layout: it
// cannot project to the needed columns, accept name variants, or take a
// map from a JSON string. pqrows is Beam-free so it can be fuzzed quickly.
//
// It imports schemas, Beam and parquet-go; it must not import model/,
// transforms/ or pipelines/. It deliberately does not decode images, resolve
// ImageURI or check image sizes: transforms do that with their configured
// limits. Row order within a written shard is not defined.
package parquetio
