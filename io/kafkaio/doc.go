// Package kafkaio reads and writes Apache Kafka records in Apache Beam Go
// pipelines natively, on github.com/segmentio/kafka-go, with no Java
// expansion service (Beam's own Go kafkaio is cross-language only).
//
// Read is a splittable DoFn over (topic, partition) elements whose restriction
// is an offset range (Beam's offsetrange package). Partitions and their start
// offsets are discovered once, at pipeline start, by a DoFn fed from an
// impulse. In bounded mode each partition is read from its start offset to the
// end offset (high watermark) seen at start, and the output PCollection is
// bounded. In unbounded mode the restriction grows (offsetrange growable
// tracker whose end estimator asks the broker for the high watermark), the
// DoFn checkpoints with sdf.ResumeProcessingIn when it has caught up, and a
// watermark estimator fed from record timestamps advances to now minus
// ReadConfig.IdleLag while a partition is idle. The partitions of one Read
// that run in the same worker process never report a watermark ahead of each
// other's: Beam's prism runner takes an SDF stage's watermark from the last
// finished bundle alone, and without this an idle partition's watermark
// would close event-time windows on records another partition is still
// delivering (watermarks.go explains it; distributed runners are unaffected
// beyond a watermark that may trail by one bundle). With ReadConfig.CommitOffsets
// the consumer group offsets are committed from a bundle finalization
// callback, i.e. only after the runner has made the bundle's output durable.
//
// Write sends records with one kafka-go Writer per DoFn instance and flushes
// in FinishBundle, so a bundle that finished is on the broker. Delivery is
// at-least-once: kafka-go has neither transactions nor an idempotent producer,
// so a retried bundle writes its records again. Pipelines set the record key
// to a stable record id so that consumers can de-duplicate.
//
// Metrics (namespace "kafkaio"): counters records_read, bytes_read,
// records_written, bytes_written (key + value + headers), and a gauge
// lag/<topic>/<partition> = high watermark minus next offset after each fetch.
//
// The package is byte-level: Record carries keys, values and headers as bytes.
// Decoding payloads into record types belongs to schemas/ and transforms/;
// this package must not import them, nor model/, transforms/ or pipelines/.
//
// Connection settings (ConnConfig) are exported DoFn fields and therefore
// serialised into the pipeline: SASL passwords and file paths of TLS keys
// travel with the pipeline description. A *tls.Config cannot be serialised, so
// TLS is configured by file paths that each worker loads in Setup.
//
// Deliberately not done: exactly-once delivery (kafka-go has no transactions),
// dynamic discovery of partitions added after pipeline start, Kerberos
// (GSSAPI) and OAUTHBEARER SASL, and schema registry integration.
//
// Dependencies: kafka-go for the wire protocol (its low-level Client.Fetch and
// ListOffsets fit an SDF better than its consumer-group Reader, which owns
// partition assignment and offsets itself); franz-go's kfake in-process broker
// for tests only. github.com/xdg-go/scram (and its pbkdf2, stringprep) entered
// go.mod with this package: kafka-go's sasl/scram needs it for SCRAM-SHA-256/512.
package kafkaio
