// Package pqrows is the Beam-free core of parquetio: mapping a Parquet
// file's columns onto schemas.ImageText (Plan), reading one row group page by
// page through only the needed columns (ReadRowGroup), and writing records
// (WriteRows). It is separate so it can be fuzzed and benchmarked without
// linking Beam (a Beam-linked test binary fuzzes at a few execs per second).
//
// It imports schemas and parquet-go only; never Beam, model/ or transforms/.
// It does not open files or decode images.
package pqrows
