package transforms

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"

	"github.com/flavabeam/flavabeam/schemas"
)

func init() { register.Function1x1(streamRecord) }

// streamRecords maps the IDs a TestStream emits to their records.
var streamRecords sync.Map

func streamRecord(id string) schemas.ImageText {
	r, _ := streamRecords.Load(id)
	return r.(schemas.ImageText)
}

// A streaming run on prism (TestStream, fixed windows): records arrive in
// small bundles as the watermark advances, each is embedded in its own
// window and comes out with its timestamp.
func TestStreamingFixedWindows(t *testing.T) {
	recs := mixedRecords(t, 12)
	cfg := teststream.NewConfig()
	base := time.Unix(1_700_000_000, 0)
	for i, r := range recs {
		r.ID = "stream-" + r.ID
		streamRecords.Store(r.ID, r)
		ts := base.Add(time.Duration(i) * 5 * time.Second).UnixMilli()
		if err := cfg.AddElements(ts, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := cfg.AdvanceWatermark(ts + 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := cfg.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	ids := teststream.Create(s, cfg)
	windowed := beam.WindowInto(s, window.NewFixedWindows(20*time.Second), beam.ParDo(s, streamRecord, ids))
	out, dead := Embed(s, windowed, EmbedOptions{Options: Options{BatchSize: 4, MaxWait: 30 * time.Second, MaxLength: 16}})
	in, got := collectStamps(s, windowed), collectStamps(s, out)
	deads := collect[schemas.DeadLetter](s, dead)
	start := time.Now()
	pr, err := ptest.RunWithMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("streaming run took %v: records waited out MaxWait", d)
	}
	if d := deads(); len(d) != 0 {
		t.Fatalf("dead letters: %q", brief(d))
	}
	if a, b := in(), got(); !slices.Equal(a, b) || len(a) != len(recs) {
		t.Errorf("windows or timestamps changed:\n in  %q\n out %q", a, b)
	}
	counters, dists := metricsOf(pr)
	if counters[MetricNumInferences] != int64(len(recs)) {
		t.Errorf("%s = %d, want %d", MetricNumInferences, counters[MetricNumInferences], len(recs))
	}
	t.Logf("streaming: batch sizes %+v", dists[MetricBatchSize])
}
