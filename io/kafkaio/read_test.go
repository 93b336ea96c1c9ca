package kafkaio

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
)

// callUnbounded runs one ProcessElement call of an unbounded read of
// partition 0 of topic from offset start and returns the offsets it
// emitted and its continuation; it fails when the call does not return
// within a minute.
func callUnbounded(t *testing.T, cfg ReadConfig, topic string, start int64) ([]int64, sdf.ProcessContinuation) {
	t.Helper()
	fn := &unboundedReadFn{readFn{Cfg: cfg.withDefaults(), Instance: fmt.Sprintf("%s-%d", t.Name(), start)}}
	if err := fn.Setup(); err != nil {
		t.Fatal(err)
	}
	defer fn.Teardown()
	p := PartitionRange{Topic: topic, Partition: 0, Start: start, End: math.MaxInt64}
	rt, err := fn.CreateTracker(p)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		offsets []int64
		pc      sdf.ProcessContinuation
		err     error
	}
	done := make(chan result, 1)
	go func() {
		var got []int64
		pc, err := fn.ProcessElement(context.Background(), fn.CreateWatermarkEstimator(0), rt, p,
			func(_ beam.EventTime, r Record) { got = append(got, r.Offset) })
		done <- result{got, pc, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.offsets, r.pc
	case <-time.After(time.Minute):
		t.Fatalf("the read kept its bundle open for a minute (CheckpointInterval %v)", cfg.CheckpointInterval)
		return nil, nil
	}
}

// TestUnboundedReadHandsOnRecordsWhenCaughtUpFake: a read that has read
// every record checkpoints at once, so that the records move downstream,
// however long CheckpointInterval is; and one that read nothing resumes
// later without emitting.
func TestUnboundedReadHandsOnRecordsWhenCaughtUpFake(t *testing.T) {
	topic := fmt.Sprintf("caught-up-%d", time.Now().UnixNano())
	brokers := fakeBrokers(t, 1, topic)
	produce(t, brokers, topic, 0, 5, 10)
	cfg := ReadConfig{ConnConfig: ConnConfig{Brokers: brokers}, Topics: []string{topic}, Unbounded: true,
		CheckpointInterval: time.Hour, MaxWait: 100 * time.Millisecond}

	got, pc := callUnbounded(t, cfg, topic, 0)
	if fmt.Sprint(got) != "[0 1 2 3 4]" || !pc.ShouldResume() {
		t.Errorf("caught up: emitted %v, resume %v; want [0 1 2 3 4] and a resume", got, pc.ShouldResume())
	}
	got, pc = callUnbounded(t, cfg, topic, 5)
	if len(got) != 0 || !pc.ShouldResume() {
		t.Errorf("idle: emitted %v, resume %v; want nothing and a resume", got, pc.ShouldResume())
	}
}

// TestUnboundedReadHoldsRecordsAtMostCheckpointIntervalFake: once a read
// has emitted records, its next fetch waits only until the checkpoint is
// due, not for MaxWait (here two minutes, longer than the test waits), so
// the records move downstream about CheckpointInterval later.
func TestUnboundedReadHoldsRecordsAtMostCheckpointIntervalFake(t *testing.T) {
	topic := fmt.Sprintf("held-%d", time.Now().UnixNano())
	brokers := fakeBrokers(t, 1, topic)
	produce(t, brokers, topic, 0, 5, 10)
	cfg := ReadConfig{ConnConfig: ConnConfig{Brokers: brokers, RequestTimeout: 5 * time.Minute}, Topics: []string{topic},
		Unbounded: true, CheckpointInterval: 200 * time.Millisecond, MaxWait: 2 * time.Minute}
	got, pc := callUnbounded(t, cfg, topic, 0)
	if fmt.Sprint(got) != "[0 1 2 3 4]" || !pc.ShouldResume() {
		t.Errorf("emitted %v, resume %v; want [0 1 2 3 4] and a resume", got, pc.ShouldResume())
	}
}
