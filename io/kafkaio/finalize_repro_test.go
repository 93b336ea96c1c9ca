package kafkaio

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/periodic"
)

// A minimal reproduction of the Beam Go SDK v2.77.0 bundle-finalization bug
// that NOTES-beam-finalize.md explains: callbacks registered by the bundles
// of a reused plan instance after its first finalization never run. It
// runs only with FLAVABEAM_BEAM_FINALIZE_REPRO=1, and fails while the bug is
// there (it is a reproduction, not a test of this package).

var (
	finalizeRegistered atomic.Int64
	finalizeRan        atomic.Int64
)

type finalizeReproFn struct{}

func (fn *finalizeReproFn) ProcessElement(_ context.Context, bf beam.BundleFinalization, _ []byte) {
	finalizeRegistered.Add(1)
	bf.RegisterCallback(time.Hour, func() error {
		finalizeRan.Add(1)
		return nil
	})
}

func init() {
	register.DoFn3x0[context.Context, beam.BundleFinalization, []byte](&finalizeReproFn{})
}

func TestBeamBundleFinalizationRepro(t *testing.T) {
	if os.Getenv("FLAVABEAM_BEAM_FINALIZE_REPRO") == "" {
		t.Skip("set FLAVABEAM_BEAM_FINALIZE_REPRO=1 to run the reproduction of the Beam SDK bug (NOTES-beam-finalize.md)")
	}
	// A streaming impulse: one element, and one bundle, every 100ms for 4s,
	// all run by the same cached plan instance.
	p, s := beam.NewPipelineWithRoot()
	start := time.Now()
	col := periodic.Impulse(s, start, start.Add(4*time.Second), 100*time.Millisecond, false)
	beam.ParDo0(s, &finalizeReproFn{}, col)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // finalization may lag the pipeline's end
	t.Logf("callbacks registered %d, run %d", finalizeRegistered.Load(), finalizeRan.Load())
	if finalizeRan.Load() != finalizeRegistered.Load() {
		t.Errorf("%d of %d bundle-finalization callbacks never ran", finalizeRegistered.Load()-finalizeRan.Load(), finalizeRegistered.Load())
	}
}
