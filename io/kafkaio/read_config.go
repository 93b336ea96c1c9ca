package kafkaio

import (
	"fmt"
	"strings"
	"time"
)

// Start positions for ReadConfig.StartFrom.
const (
	// StartEarliest starts at each partition's log start offset.
	StartEarliest = "earliest"
	// StartLatest starts at each partition's end offset (high watermark) at
	// pipeline start: only records produced afterwards are read, so a bounded
	// read from "latest" reads nothing.
	StartLatest = "latest"
	// StartCommitted starts at the offsets committed by ReadConfig.GroupID;
	// partitions with no committed offset start at the earliest offset.
	StartCommitted = "committed"
	// StartTimestamp starts at the first offset whose timestamp is at or after
	// ReadConfig.StartTime (the end offset when there is none).
	StartTimestamp = "timestamp"
)

// DefaultRetryTimeout is the default of ReadConfig.RetryTimeout and
// WriteConfig.RetryTimeout: how long a broker outage is ridden out.
const DefaultRetryTimeout = 2 * time.Minute

// DefaultCheckpointInterval is the default of ReadConfig.CheckpointInterval.
const DefaultCheckpointInterval = 100 * time.Millisecond

// Timestamp policies for ReadConfig.TimestampPolicy.
const (
	// TimestampLog uses the record's Kafka timestamp as its Beam event time.
	TimestampLog = "log"
	// TimestampProcessing uses the time the record was read.
	TimestampProcessing = "processing"
)

// ReadConfig configures Read. The zero value (with Topics set) reads every
// partition of the topics from the earliest offset up to the end offsets seen
// at pipeline start.
type ReadConfig struct {
	ConnConfig

	// Topics to read. Required.
	Topics []string
	// Partitions restricts the read to these partition numbers of every topic.
	// Default nil: all partitions known at pipeline start. Partitions added
	// later are not picked up.
	Partitions []int
	// StartFrom is StartEarliest (default ""), StartLatest, StartCommitted or
	// StartTimestamp.
	StartFrom string
	// StartTime is the position for StartTimestamp. Default zero: required
	// with StartTimestamp, ignored otherwise.
	StartTime time.Time
	// GroupID is the consumer group whose offsets StartCommitted reads and
	// CommitOffsets writes. Default "": required by either.
	GroupID string
	// CommitOffsets says that the pipeline commits the group's offsets with
	// Commit, from the acknowledgements of its Writes (Read itself never
	// commits). Read only validates it (GroupID is required); pipelines
	// wire Commit when it is set. Default false.
	CommitOffsets bool
	// RequireTopics are topics that must exist before anything is read,
	// typically the pipeline's output and dead-letter topics: Read fails at
	// start, naming the first missing one, instead of a sink failing at its
	// first record. Default nil.
	RequireTopics []string
	// Unbounded reads forever (a streaming source). Default false: bounded,
	// the read stops at the end offsets seen at pipeline start.
	Unbounded bool
	// MaxFetchBytes caps the bytes of one fetch response. Default 8 MiB. A
	// single larger record is still returned whole by the broker.
	MaxFetchBytes int
	// MaxWait is how long the broker may hold a fetch while no new record
	// exists: an idle partition costs one fetch (and, unbounded, one
	// bundle) per MaxWait, and a record produced meanwhile is returned at
	// once. Default 500ms.
	MaxWait time.Duration
	// ResumeDelay is how long an unbounded read waits before fetching again
	// after a fetch found nothing new (the fetch itself already waited
	// MaxWait), and the first delay between retries of a failing fetch
	// (at least 100ms). Every record produced meanwhile waits for it.
	// Default 0: fetch again at once.
	ResumeDelay time.Duration
	// CheckpointInterval is how long an unbounded read keeps its bundle
	// open after emitting the bundle's first record before it checkpoints
	// (it checkpoints earlier when it has caught up with the partition).
	// Runners pass a bundle's records on downstream only when the bundle
	// ends, so this is the read's share of end-to-end latency, traded
	// against bundle size: at 100 records/s per partition, 100ms makes
	// bundles of about 10 records. Default 100ms.
	CheckpointInterval time.Duration
	// IdleLag: while an unbounded partition is idle (caught up), its
	// watermark advances to now minus IdleLag. Records whose timestamp is
	// older than that arriving later are late data. Default 2s.
	IdleLag time.Duration
	// TimestampPolicy is TimestampLog (default "") or TimestampProcessing.
	TimestampPolicy string
	// RetryTimeout is how long a read rides out failing fetches (a broker
	// outage or restart) before the pipeline fails with an error naming the
	// brokers and this limit. A bounded read retries every 500ms; an
	// unbounded read checkpoints and retries after max(ResumeDelay, 100ms),
	// doubling per failure in a row up to 5s. Default 2m.
	RetryTimeout time.Duration
}

// Validate reports the first invalid field, wrapping ErrConfig.
func (c ReadConfig) Validate() error {
	if err := c.ConnConfig.Validate(); err != nil {
		return err
	}
	if len(c.Topics) == 0 {
		return fmt.Errorf("%w: Topics is empty", ErrConfig)
	}
	for i, t := range c.Topics {
		if t == "" {
			return fmt.Errorf("%w: Topics[%d] is empty", ErrConfig, i)
		}
	}
	for i, p := range c.Partitions {
		if p < 0 {
			return fmt.Errorf("%w: Partitions[%d] = %d is negative", ErrConfig, i, p)
		}
	}
	switch strings.ToLower(c.StartFrom) {
	case "", StartEarliest, StartLatest:
	case StartCommitted:
		if c.GroupID == "" {
			return fmt.Errorf("%w: GroupID is empty but StartFrom is %q", ErrConfig, StartCommitted)
		}
	case StartTimestamp:
		if c.StartTime.IsZero() {
			return fmt.Errorf("%w: StartTime is zero but StartFrom is %q", ErrConfig, StartTimestamp)
		}
	default:
		return fmt.Errorf("%w: StartFrom %q is not earliest, latest, committed or timestamp", ErrConfig, c.StartFrom)
	}
	if c.CommitOffsets && c.GroupID == "" {
		return fmt.Errorf("%w: GroupID is empty but CommitOffsets is set", ErrConfig)
	}
	if c.MaxFetchBytes < 0 {
		return fmt.Errorf("%w: MaxFetchBytes %d is negative", ErrConfig, c.MaxFetchBytes)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"MaxWait", c.MaxWait}, {"ResumeDelay", c.ResumeDelay}, {"CheckpointInterval", c.CheckpointInterval},
		{"IdleLag", c.IdleLag}, {"RetryTimeout", c.RetryTimeout},
	} {
		if d.v < 0 {
			return fmt.Errorf("%w: %s %v is negative", ErrConfig, d.name, d.v)
		}
	}
	switch strings.ToLower(c.TimestampPolicy) {
	case "", TimestampLog, TimestampProcessing:
	default:
		return fmt.Errorf("%w: TimestampPolicy %q is not log or processing", ErrConfig, c.TimestampPolicy)
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c ReadConfig) withDefaults() ReadConfig {
	if len(c.Brokers) == 0 {
		c.Brokers = []string{DefaultBroker}
	}
	c.StartFrom = strings.ToLower(c.StartFrom)
	if c.StartFrom == "" {
		c.StartFrom = StartEarliest
	}
	if c.MaxFetchBytes == 0 {
		c.MaxFetchBytes = 8 << 20
	}
	if c.MaxWait == 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.IdleLag == 0 {
		c.IdleLag = 2 * time.Second
	}
	c.TimestampPolicy = strings.ToLower(c.TimestampPolicy)
	if c.TimestampPolicy == "" {
		c.TimestampPolicy = TimestampLog
	}
	if c.RetryTimeout == 0 {
		c.RetryTimeout = DefaultRetryTimeout
	}
	return c
}
