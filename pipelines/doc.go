// Package pipelines wires flavabeam's three jobs — embed, score (image–text
// pairs or zero-shot) and label-mim — from a Config struct: a source
// (Parquet glob, or Kafka topics with the JSON or binary payload codec), the
// model stage from transforms, an output sink (sharded Parquet directory or
// Kafka topic) and a dead-letter sink (by default beside the output).
//
// Kafka payloads are decoded here with the schemas codecs; a payload that does
// not decode becomes a dead letter (stage pipelines.DecodeKafka, reason from
// schemas.ReasonOf, the raw value kept). Outputs go to Kafka as JSON keyed by
// record ID with the headers HeaderModelID, HeaderRecordType and
// schemas.HeaderSchemaVersion.
//
// Build adds counting steps whose Beam metrics (namespace "flavabeam.pipeline")
// make a run's Summary (records in, out, dead-lettered by reason and stage,
// with every distribution the transforms report: per-stage latencies, batch
// sizes, model load time). The same steps bump process-local atomic counters
// (LiveProgress) for progress display; those only move when the DoFns run in
// this process: on prism, the default local runner, or in a LOOPBACK
// environment of a portable runner. See RUNNERS.md for Flink and Dataflow.
//
// It imports transforms, io/*, schemas and Beam; nothing imports it but cmd/.
// It deliberately parses no flags (cmd/flavabeam does) and does not run
// pipelines on a particular runner: callers use beamx.RunWithMetrics.
package pipelines
