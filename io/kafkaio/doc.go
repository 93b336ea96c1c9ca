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
// beyond a watermark that may trail by one bundle).
//
// Write sends records with one kafka-go Writer per DoFn instance and flushes
// in FinishBundle, so a bundle that finished is on the broker, then emits
// the Source of each written record as an acknowledgement. Failed writes
// are retried with backoff for WriteConfig.RetryTimeout (default 2m: a
// broker restart is ridden out); the record size limit follows the topic's
// max.message.bytes. Delivery is at-least-once: kafka-go has neither
// transactions nor an idempotent producer, so a retried bundle writes its
// records again. Pipelines set the record key to a stable record id so
// that consumers can de-duplicate.
//
// Offsets are committed by Commit, after the sinks, never by Read. Every
// record Read emits carries its Source Position: its offset, the offsets it
// accounts for ([From, Offset]: From is one past the previous record the
// read delivered from that partition, so compacted gaps are covered) and
// the read's start offset. Pipelines copy it onto the one output or dead
// letter written for the record; Write emits it once Kafka acknowledged
// that write; Commit keeps per partition (Beam state keyed by partition) the
// acknowledged ranges and the highest offset N below which every offset is
// acknowledged, and commits N. Why this is at-least-once on every runner:
// an acknowledgement exists only after Kafka acknowledged the write (it is
// emitted after WriteMessages returned, and a bundle's outputs reach the
// next stage only when the bundle succeeds), and N never passes an offset
// whose record has no acknowledgement. A crash anywhere (worker, runner,
// broker) at worst leaves N behind records that were written, so a restart
// from the committed offsets writes them again (duplicates, never loss).
// It relies on nothing runner-specific: no bundle finalization (broken in
// the Go SDK v2.77.0 for reused plans, see NOTES-beam-finalize.md) and no
// ordering between stages; keyed state is per partition on Flink and
// Dataflow, and on prism, which was seen running concurrent bundles of one
// key, a per-process copy of the frontier is merged in (sound, because both
// only hold acknowledged offsets). On Flink and Dataflow the runner's own
// checkpoints restore the read positions; the committed offsets are then
// what other consumers and a restart with StartCommitted see.
//
// Latency: an unbounded read long-polls the broker (ReadConfig.MaxWait,
// default 500ms: the broker answers as soon as a record exists), emits what
// it fetched and keeps its bundle open for at most CheckpointInterval
// (default 100ms) after the first record, or less when it has caught up;
// then it checkpoints. Runners pass a bundle's records downstream only when
// the bundle ends (prism fuses the read with the stages up to Write, whose
// FinishBundle sends the records with a BatchTimeout of 5ms and waits for
// the acks), so a record waits about CheckpointInterval, plus the model
// batcher's wait (transforms.Options.MaxWait), plus one produce round trip,
// plus the runner's time between bundles. After an empty fetch the read
// resumes after ResumeDelay (default 0). Raising CheckpointInterval makes
// bigger bundles (fewer runner round trips, larger produce batches) at the
// price of latency. Measured with the tiny model at 100 records/s on a
// shared 2-core machine (load average 18-21): p50 0.2s, p99 0.64s
// (pipelines' TestStreamingLatencyRealBroker); with the earlier 5s
// checkpoint and 1s resume delay, p50 2.7s, p99 5.3s.
//
// Commit lag: acknowledgements reach Commit through a shuffle (Commit is
// keyed by partition), so Commit runs in a later bundle than the write;
// at the end of each Commit bundle that moved a partition's frontier it
// sends one OffsetCommit for every partition that moved. So a record is
// committed one Commit bundle and one commit round trip after its write was
// acknowledged: the lag is bounded by the runner's bundle scheduling, not
// by a timer. Measured alongside the latency above (acknowledged outputs
// minus committed offsets, sampled every second): median 4 records, max
// 118 (about 1.2s of input at 100/s). A commit that fails with a retriable
// error (coordinator loading or moving, request timeout, broker
// unreachable) is retried with backoff for up to min(RetryTimeout, 30s),
// then left to the next bundle, which commits the newest offset instead: a
// later commit supersedes a failed one, and offsets never go backwards.
// While the broker is down the lag grows with what is acknowledged before
// the outage (nothing new is acknowledged during it); on a drain every
// acknowledged offset is committed before the pipeline ends.
//
// Drain makes unbounded reads in this process stop, so that a streaming
// pipeline on prism finishes what it read, commits it and ends: this is
// how the CLI handles SIGINT and SIGTERM. Distributed runners drain through
// TruncateRestriction.
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
// committing through offset gaps at runner-chosen split points (a split
// restriction whose primary ends in a compacted gap leaves the frontier
// behind that gap until the job restarts: safe, never a loss),
// dynamic discovery of partitions added after pipeline start, Kerberos
// (GSSAPI) and OAUTHBEARER SASL, and schema registry integration.
//
// Dependencies: kafka-go for the wire protocol (its low-level Client.Fetch and
// ListOffsets fit an SDF better than its consumer-group Reader, which owns
// partition assignment and offsets itself); franz-go's kfake in-process broker
// for tests only. github.com/xdg-go/scram (and its pbkdf2, stringprep) entered
// go.mod with this package: kafka-go's sasl/scram needs it for SCRAM-SHA-256/512.
package kafkaio
