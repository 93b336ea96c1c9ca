// Package layering holds no code, only a test that keeps the dependency order
// of STYLE.md true: kernels ← model/tensor ← model/* ← transforms ← pipelines
// ← cmd, with schemas importing the standard library only and model/ never
// importing Beam, Kafka or Parquet.
package layering
