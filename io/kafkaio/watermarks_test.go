package kafkaio

import (
	"math"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
)

func TestSharedWatermarksHoldSiblings(t *testing.T) {
	reg := &wmRegistry{reads: map[string]map[topicPartition]wmEntry{}}
	p0, p1, p2 := topicPartition{"t", 0}, topicPartition{"t", 1}, topicPartition{"t", 2}
	now := time.Now()
	reg.seed("r", []topicPartition{p0, p1}, now, time.Minute)
	s0 := &sharedWatermark{reg: reg, read: "r", tp: p0, staleAfter: time.Minute}
	s1 := &sharedWatermark{reg: reg, read: "r", tp: p1, staleAfter: time.Minute}

	// p1 has not started: its seed holds p0 at the minimum.
	if got := s0.report(5000); got != int64(mtime.MinTimestamp) {
		t.Fatalf("p0 reported %d before p1 started, want the minimum", got)
	}
	// p1's bundle starts at 1000: p0 may report up to 1000, whatever p1
	// emits or estimates during that bundle.
	s1.start(1000)
	if got := s0.report(5000); got != 1000 {
		t.Fatalf("p0 reported %d, want 1000 (p1's watermark at its bundle start)", got)
	}
	if got := s1.report(9000); got != int64(mtime.MinTimestamp) {
		t.Fatalf("p1 reported %d before p0 started a bundle, want the minimum", got)
	}
	// A partition's own entry never holds itself back.
	s0.start(4000)
	if got := s0.report(4500); got != 1000 {
		t.Fatalf("p0 reported %d, want 1000", got)
	}
	if got := s1.report(9000); got != 4000 {
		t.Fatalf("p1 reported %d, want 4000 (p0's start)", got)
	}
	// Other Reads are independent.
	other := &sharedWatermark{reg: reg, read: "other", tp: p2, staleAfter: time.Minute}
	if got := other.report(7000); got != 7000 {
		t.Fatalf("another Read reported %d, want its own 7000", got)
	}
}

func TestSharedWatermarksForgetStaleEntries(t *testing.T) {
	reg := &wmRegistry{reads: map[string]map[topicPartition]wmEntry{}}
	p0, p1 := topicPartition{"t", 0}, topicPartition{"t", 1}
	old := time.Now().Add(-time.Hour)
	reg.seed("r", []topicPartition{p1}, old, time.Minute) // seeded by a lister, never read here
	s0 := &sharedWatermark{reg: reg, read: "r", tp: p0, staleAfter: time.Minute}
	s0.start(100)
	if got := s0.report(5000); got != 5000 {
		t.Fatalf("p0 reported %d, want 5000: a stale sibling must not hold it", got)
	}
	if _, ok := reg.reads["r"][p1]; ok {
		t.Fatal("stale entry kept")
	}
	// touch keeps an entry alive without moving its watermark.
	reg.update("r", p1, 300, old)
	reg.touch("r", p1, time.Now())
	if got := s0.report(5000); got != 300 {
		t.Fatalf("p0 reported %d, want 300 from the touched sibling", got)
	}
	if got := reg.minOthers("none", p0, time.Now(), time.Minute); got != math.MaxInt64 {
		t.Fatalf("unknown Read: %d", got)
	}
	// A new Read's seed forgets the stale entries of finished ones.
	reg.update("done", p0, 1, old)
	reg.seed("next", []topicPartition{p0}, time.Now(), time.Minute)
	if _, ok := reg.reads["done"]; ok {
		t.Fatal("a finished Read's stale entries survived the next seed")
	}
}
