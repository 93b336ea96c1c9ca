// Package pqrows is the Beam-free core of parquetio: mapping a Parquet
// file's columns onto schemas.ImageText (Plan), reading one row group page by
// page through only the needed columns (ReadRowGroup), and writing records
// (WriteRows). It is separate so it can be fuzzed and benchmarked without
// linking Beam (a Beam-linked test binary fuzzes at a few execs per second).
//
// Open and File.ReadRowGroup bound what reading a file allocates, because
// parquet-go v0.32.0 trusts the sizes a file declares (notes/parquet-go-upstream.md).
// Every declared size is checked against the file's own size S and Limits
// before parquet-go is called, so that, for a file of S bytes:
//
//   - Open allocates at most about 3·min(S, MaxFooterBytes) for the footer
//     bytes (this package's copy and parquet-go's two) plus 2·MaxMetadataBytes
//     for its decoded lists (estimated from the declared counts before
//     decoding) and parquet-go's per-column-chunk objects;
//   - ReadRowGroup holds, for each of the at most 8 columns it reads, one
//     page and one dictionary at a time: compressed bytes ≤ min(S,
//     MaxPageBytes), uncompressed bytes ≤ MaxPageBytes and equal to what the
//     compressed bytes really decode to (checked by decoding each gzip, zstd,
//     brotli and LZ4_RAW page once, bounded, and by the snappy preamble), and
//     level, offset and value buffers of a few tens of bytes per value,
//     values ≤ MaxPageValues.
//
// Reading never loops without progress: every page header walked advances
// through its chunk, row assembly consumes a value per row or fails, and a
// page reader that keeps returning nothing is an error. A file beyond a cap
// is an error wrapping ErrLimit; a malformed one wraps ErrCorruptFile.
//
// It imports schemas and parquet-go (and the compression libraries
// parquet-go uses) only; never Beam, model/ or transforms/. It does not open
// files or decode images.
package pqrows
