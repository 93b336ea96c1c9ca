package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func pos(from, offset int64) Position {
	return Position{Topic: "t", Partition: 0, From: from, Offset: offset, Base: 10}
}

// TestFrontierCommitsOnlyContiguousAcks acknowledges records out of order,
// with duplicates and offset gaps, and checks that Next only passes an
// offset once everything before it is acknowledged.
func TestFrontierCommitsOnlyContiguousAcks(t *testing.T) {
	f := frontier{Next: 10}
	steps := []struct {
		p     Position
		moved bool
		next  int64
	}{
		{pos(12, 12), false, 10}, // 12 before 10 and 11
		{pos(13, 15), false, 10}, // 13-14 are a gap (compaction), 15 is the record
		{pos(10, 10), true, 11},
		{pos(10, 10), false, 11}, // duplicate
		{pos(11, 11), true, 16},  // closes 11, joins 12 and [13, 15]
		{pos(12, 12), false, 16}, // late duplicate
		{pos(20, 20), false, 16},
		{pos(16, 19), true, 21},
	}
	for i, st := range steps {
		moved := f.add(st.p)
		if moved != st.moved || f.Next != st.next {
			t.Fatalf("step %d (%+v): moved %v next %d, want %v %d (acked %v)", i, st.p, moved, f.Next, st.moved, st.next, f.Acked)
		}
		g, err := decodeFrontier(f.encode())
		if err != nil || !reflect.DeepEqual(g.Next, f.Next) || len(g.Acked) != len(f.Acked) {
			t.Fatalf("step %d: state round trip %+v, %v; want %+v", i, g, err, f)
		}
	}
	if len(f.Acked) != 0 {
		t.Errorf("acked ranges left over: %v", f.Acked)
	}
	if _, err := decodeFrontier([]byte{2, 0xff, 0xff, 0xff, 0x0f}); err == nil {
		t.Error("a corrupt state decoded")
	}
}

// TestCommitRetriesRetriableErrorsFake makes the fake broker answer the
// first offset commits with COORDINATOR_LOAD_IN_PROGRESS (retriable, as a
// real broker does while it loads the group) and checks that the pipeline
// still commits every offset.
func TestCommitRetriesRetriableErrorsFake(t *testing.T) {
	topic, out := uniqueTopic("cr"), uniqueTopic("cr-out")
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic, out))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var injected atomic.Int32
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if injected.Load() >= 3 {
			return nil, nil, false
		}
		injected.Add(1)
		r := req.(*kmsg.OffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = 14 // COORDINATOR_LOAD_IN_PROGRESS
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	brokers := c.ListenAddrs()
	produce(t, brokers, topic, 0, 60, 10)
	group := uniqueTopic("cr-group")
	readAndCommit(t, brokers, topic, out, group, 60)
	checkCommitted(t, brokers, group, topic, 60)
	if n := injected.Load(); n != 3 {
		t.Errorf("%d commit errors injected, want 3 (the pipeline committed fewer times than expected)", n)
	}
}

// TestReadRequireTopicsNamesMissingTopicFake checks that a Read with a
// missing required (output) topic fails before reading, naming it.
func TestReadRequireTopicsNamesMissingTopicFake(t *testing.T) {
	in := uniqueTopic("rq")
	brokers := fakeBrokers(t, 1, in)
	produce(t, brokers, in, 0, 5, 10)
	p, s := beam.NewPipelineWithRoot()
	Read(s, ReadConfig{ConnConfig: ConnConfig{Brokers: brokers}, Topics: []string{in}, RequireTopics: []string{"no-such-dead-letters"}})
	err := ptest.Run(p)
	if err == nil || !strings.Contains(err.Error(), `"no-such-dead-letters"`) {
		t.Fatalf("error %v, want one naming the missing topic", err)
	}
}

// TestWriteTooLargeNamesLimitFake writes a record over the topic's
// max.message.bytes: the error names the topic and the limit instead of
// blaming the broker.
func TestWriteTooLargeNamesLimitFake(t *testing.T) {
	topic := uniqueTopic("big")
	brokers := fakeBrokers(t, 1, topic)
	limit, err := TopicMaxMessageBytes(context.Background(), ConnConfig{Brokers: brokers}, topic)
	if err != nil {
		t.Fatal(err)
	}
	p, s, col := ptest.Create([]any{Record{Key: []byte("big"), Value: make([]byte, limit)}})
	Write(s, WriteConfig{ConnConfig: ConnConfig{Brokers: brokers}, Topic: topic}, col)
	err = ptest.Run(p)
	if err == nil || !strings.Contains(err.Error(), topic) || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("error %v, want one naming the topic and the limit", err)
	}
	if _, err := TopicMaxMessageBytes(context.Background(), ConnConfig{Brokers: brokers}, "absent"); !errors.Is(err, ErrNotFound) {
		t.Errorf("max.message.bytes of an absent topic: %v, want ErrNotFound", err)
	}
}

// TestDrainCommitsEverythingReadFake runs an unbounded Read → Write →
// Commit, drains it once every record is written, and checks that the
// pipeline ends by itself with every offset committed.
func TestDrainCommitsEverythingReadFake(t *testing.T) {
	topic, out := uniqueTopic("dr"), uniqueTopic("dr-out")
	brokers := fakeBrokers(t, 3, topic, out)
	testDrainCommits(t, brokers, topic, out, 200)
}

func testDrainCommits(t *testing.T, brokers []string, topic, out string, n int) {
	t.Helper()
	conn := ConnConfig{Brokers: brokers}
	group := uniqueTopic("dr-group")
	rc := ReadConfig{ConnConfig: conn, Topics: []string{topic}, GroupID: group, CommitOffsets: true,
		Unbounded: true, ResumeDelay: 100 * time.Millisecond}
	p, s := beam.NewPipelineWithRoot()
	acks := Write(s, WriteConfig{ConnConfig: conn, Topic: out}, beam.ParDo(s, forward, Read(s, rc)))
	Commit(s, rc, acks)
	ResetDrain()
	t.Cleanup(ResetDrain)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := prism.Execute(ctx, p)
		errc <- err
	}()
	produce(t, brokers, topic, 0, n, 10)
	for deadline := time.Now().Add(90 * time.Second); countOffsets(t, brokers, out) < int64(n); {
		select {
		case err := <-errc:
			t.Fatalf("pipeline ended early: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90s only %d of %d records written", countOffsets(t, brokers, out), n)
		}
	}
	Drain()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("drained pipeline: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("pipeline did not end within 90s of Drain")
	}
	// Commits happen inside the pipeline: they are there when it returns.
	if sum, parts := committedSum(t, brokers, group, topic); sum != int64(n) {
		t.Fatalf("committed offsets add up to %d after drain, want %d (%+v)", sum, n, parts)
	}
}

// TestMergeAcksJoinsConsecutiveRecords checks that Write's acknowledgements
// of consecutive records of a partition merge, and nothing else does.
func TestMergeAcksJoinsConsecutiveRecords(t *testing.T) {
	p := func(part int, from, off int64) pending {
		return pending{source: Position{Topic: "t", Partition: part, From: from, Offset: off, Base: 0}, et: beam.EventTime(off)}
	}
	got := mergeAcks([]pending{p(0, 5, 5), p(1, 0, 0), p(0, 3, 4), p(0, 7, 7), {}, p(0, 6, 6), p(0, 9, 9)})
	var s []string
	for _, a := range got {
		s = append(s, fmt.Sprintf("%d:[%d,%d]@%d", a.source.Partition, a.source.From, a.source.Offset, a.et))
	}
	if want := "0:[3,7]@4 0:[9,9]@9 1:[0,0]@0"; strings.Join(s, " ") != want {
		t.Errorf("merged %v, want %s", s, want)
	}
}
