package pipelines

import (
	"context"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/flavabeam/flavabeam/io/parquetio"
	"github.com/flavabeam/flavabeam/schemas"
)

// Namespace is the Beam metrics namespace of the counters pipelines adds.
const Namespace = "flavabeam.pipeline"

// Counter names in Namespace. Dead letters are also counted per reason and
// per stage, as "dead_letters.reason.<code>" and "dead_letters.stage.<stage>".
const (
	counterRead = "records_read" // valid records the source produced
	counterOut  = "records_out"  // results handed to the output sink
	counterDead = "dead_letters" // dead letters handed to the dead-letter sink

	prefixReason = "dead_letters.reason."
	prefixStage  = "dead_letters.stage."
)

func init() {
	register.DoFn3x0[context.Context, beam.T, func(beam.T)](&countFn{})
	register.DoFn3x0[context.Context, schemas.DeadLetter, func(schemas.DeadLetter)](&countDeadFn{})
	register.Emitter1[beam.T]()
}

// Progress is a snapshot of the process-local counters.
type Progress struct {
	// Read is the number of valid records the source has produced.
	Read int64
	// Out is the number of results handed to the output sink.
	Out int64
	// Dead is the number of dead letters handed to the dead-letter sink.
	Dead int64
}

// Done is the number of input records fully handled: results plus dead letters.
func (p Progress) Done() int64 { return p.Out + p.Dead }

// live holds the process-local counters the counting DoFns bump. They are
// only meaningful when the pipeline runs in this process (prism, the
// default local runner, runs its SDK worker in-process); on Flink or
// Dataflow the DoFns run in other processes and these stay at zero: use the
// Beam metrics in the Summary instead.
var live struct {
	read, out, dead atomic.Int64

	mu              sync.Mutex
	reasons, stages map[string]int64
}

// LiveProgress returns the process-local counters (local runner only).
func LiveProgress() Progress {
	return Progress{Read: live.read.Load(), Out: live.out.Load(), Dead: live.dead.Load()}
}

// ResetLiveProgress zeroes the process-local counters, before a run.
func ResetLiveProgress() {
	live.read.Store(0)
	live.out.Store(0)
	live.dead.Store(0)
	live.mu.Lock()
	live.reasons, live.stages = map[string]int64{}, map[string]int64{}
	live.mu.Unlock()
}

func liveCounter(name string) *atomic.Int64 {
	switch name {
	case counterRead:
		return &live.read
	case counterOut:
		return &live.out
	}
	panic("pipelines: unknown live counter " + name)
}

// countFn passes elements through, counting them.
type countFn struct {
	Name string

	c    beam.Counter
	live *atomic.Int64
}

func (f *countFn) Setup() {
	f.c = beam.NewCounter(Namespace, f.Name)
	f.live = liveCounter(f.Name)
}

func (f *countFn) ProcessElement(ctx context.Context, v beam.T, emit func(beam.T)) {
	f.c.Inc(ctx, 1)
	f.live.Add(1)
	emit(v)
}

func countRecords(s beam.Scope, name string, col beam.PCollection) beam.PCollection {
	return beam.ParDo(s.Scope("count."+name), &countFn{Name: name}, col)
}

// countDeadFn counts dead letters in total, by reason and by stage.
type countDeadFn struct {
	mu       sync.Mutex
	counters map[string]beam.Counter
}

func (f *countDeadFn) counter(name string) beam.Counter {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counters == nil {
		f.counters = map[string]beam.Counter{}
	}
	c, ok := f.counters[name]
	if !ok {
		c = beam.NewCounter(Namespace, name)
		f.counters[name] = c
	}
	return c
}

func (f *countDeadFn) ProcessElement(ctx context.Context, d schemas.DeadLetter, emit func(schemas.DeadLetter)) {
	f.counter(counterDead).Inc(ctx, 1)
	f.counter(prefixReason+d.Reason).Inc(ctx, 1)
	f.counter(prefixStage+d.Stage).Inc(ctx, 1)
	live.dead.Add(1)
	live.mu.Lock()
	if live.reasons == nil {
		live.reasons, live.stages = map[string]int64{}, map[string]int64{}
	}
	live.reasons[d.Reason]++
	live.stages[d.Stage]++
	live.mu.Unlock()
	emit(d)
}

func countDeadLetters(s beam.Scope, col beam.PCollection) beam.PCollection {
	return beam.ParDo(s.Scope("count.dead_letters"), &countDeadFn{}, col)
}

// sourceStages are the dead-letter stages of records that never reached a
// model stage: their count belongs to the records read in.
var sourceStages = map[string]bool{parquetio.StageRead: true, StageDecode: true}

// Summary is what a finished run reports, from the pipeline's Beam metrics.
type Summary struct {
	// RecordsIn is the number of input records: valid records read plus
	// those the source dead-lettered (an unreadable file counts as one).
	RecordsIn int64
	// RecordsOut is the number of results written.
	RecordsOut int64
	// DeadLetters is the number of dead letters written.
	DeadLetters int64
	// DeadByReason and DeadByStage break DeadLetters down.
	DeadByReason map[string]int64
	DeadByStage  map[string]int64
	// Distributions are every distribution metric of the run (per-stage
	// latencies, batch sizes, model load time), merged over steps.
	Distributions []Distribution
	// Wall is the run's wall-clock time, set by the caller.
	Wall time.Duration
}

// Distribution is one merged distribution metric.
type Distribution struct {
	Namespace, Name      string
	Count, Sum, Min, Max int64
}

// Mean is Sum/Count (0 when empty).
func (d Distribution) Mean() float64 {
	if d.Count == 0 {
		return 0
	}
	return float64(d.Sum) / float64(d.Count)
}

// SummaryFromResult reads the Summary from a pipeline result's metrics.
// A nil result (a runner that returns none) gives an empty Summary.
func SummaryFromResult(pr beam.PipelineResult) Summary {
	s := Summary{DeadByReason: map[string]int64{}, DeadByStage: map[string]int64{}}
	if pr == nil {
		return s
	}
	all := pr.Metrics().AllMetrics()
	var read int64
	for _, c := range all.Counters() {
		if c.Namespace() != Namespace {
			continue
		}
		v := c.Result()
		switch name := c.Name(); {
		case name == counterRead:
			read += v
		case name == counterOut:
			s.RecordsOut += v
		case name == counterDead:
			s.DeadLetters += v
		case strings.HasPrefix(name, prefixReason):
			s.DeadByReason[strings.TrimPrefix(name, prefixReason)] += v
		case strings.HasPrefix(name, prefixStage):
			s.DeadByStage[strings.TrimPrefix(name, prefixStage)] += v
		}
	}
	s.RecordsIn = read
	for stage, n := range s.DeadByStage {
		if sourceStages[stage] {
			s.RecordsIn += n
		}
	}
	merged := map[[2]string]*Distribution{}
	for _, d := range all.Distributions() {
		v := d.Result()
		if v.Count == 0 {
			continue
		}
		k := [2]string{d.Key.Namespace, d.Key.Name}
		m, ok := merged[k]
		if !ok {
			m = &Distribution{Namespace: k[0], Name: k[1], Min: v.Min, Max: v.Max}
			merged[k] = m
		}
		m.Count += v.Count
		m.Sum += v.Sum
		m.Min = min(m.Min, v.Min)
		m.Max = max(m.Max, v.Max)
	}
	for _, d := range merged {
		s.Distributions = append(s.Distributions, *d)
	}
	sort.Slice(s.Distributions, func(i, j int) bool {
		a, b := s.Distributions[i], s.Distributions[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return s
}

// withLiveCounts replaces the counts of s by the process-local counters when
// the DoFns ran in this process (prism). Those are exact, where prism's
// metrics are not always: prism (v2.77.0, jobservices/metrics.go) keeps one
// pending payload per metric short id until it has fetched the metric's
// metadata, so when two concurrent bundles first report a new counter, one
// bundle's count is lost. Distributions still come from the Beam metrics.
func (s Summary) withLiveCounts() Summary {
	p := LiveProgress()
	if p.Read == 0 && p.Out == 0 && p.Dead == 0 {
		return s
	}
	s.RecordsOut, s.DeadLetters = p.Out, p.Dead
	live.mu.Lock()
	s.DeadByReason, s.DeadByStage = maps.Clone(live.reasons), maps.Clone(live.stages)
	live.mu.Unlock()
	s.RecordsIn = p.Read
	for stage, n := range s.DeadByStage {
		if sourceStages[stage] {
			s.RecordsIn += n
		}
	}
	return s
}

// Format writes the summary for people, one fact per line.
func (s Summary) Format(w io.Writer) {
	fmt.Fprintf(w, "records in: %d, out: %d, dead-lettered: %d", s.RecordsIn, s.RecordsOut, s.DeadLetters)
	if s.Wall > 0 {
		fmt.Fprintf(w, " in %s", s.Wall.Round(time.Millisecond))
		if s.RecordsIn > 0 {
			fmt.Fprintf(w, " (%.1f records/s)", float64(s.RecordsIn)/s.Wall.Seconds())
		}
	}
	fmt.Fprintln(w)
	for _, k := range sortedKeys(s.DeadByReason) {
		fmt.Fprintf(w, "  dead letters, reason %s: %d\n", k, s.DeadByReason[k])
	}
	for _, k := range sortedKeys(s.DeadByStage) {
		fmt.Fprintf(w, "  dead letters, stage %s: %d\n", k, s.DeadByStage[k])
	}
	if len(s.Distributions) > 0 {
		fmt.Fprintln(w, "  metric (Beam distributions)             count       mean        min        max")
	}
	for _, d := range s.Distributions {
		name, unit, scale := d.Name, "", 1.0
		switch {
		case strings.HasSuffix(name, "_micro_secs"):
			name, unit, scale = strings.TrimSuffix(name, "_micro_secs"), "ms", 1e-3
		case strings.HasSuffix(name, "_milli_secs"):
			name, unit, scale = strings.TrimSuffix(name, "_milli_secs"), "ms", 1
		case strings.HasSuffix(name, "_byte_size"):
			name, unit, scale = strings.TrimSuffix(name, "_byte_size")+"_size", "MB", 1e-6
		}
		if d.Namespace != "flavabeam" {
			name = d.Namespace + "/" + name
		}
		fmt.Fprintf(w, "  %-38s %6d %10.3f %10.3f %10.3f %s\n", name, d.Count, d.Mean()*scale, float64(d.Min)*scale, float64(d.Max)*scale, unit)
	}
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
