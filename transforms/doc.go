// Package transforms holds the Beam DoFns and composite PTransforms that run
// FLAVA over image–text records: preprocessing, tokenisation, codebook/MIM
// labelling, embedding and scoring, with a per-worker model cache, a
// per-process batcher that coalesces work from concurrent bundles, a
// dead-letter output for every element that cannot be processed, and metrics
// named like Beam Python's RunInference.
//
// It imports model/*, schemas and the Beam Go SDK; it never imports io/* or
// pipelines.
package transforms
