package pipelines

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/flavabeam/flavabeam/io/parquetio"
)

// Run runs p on the runner named by Beam's --runner flag (default prism)
// and returns the Summary read from its metrics (counts from the exact
// process-local counters when the job ran in this process, see
// LiveProgress). The live counters are reset first. A runner that returns
// no metrics and runs the DoFns elsewhere gives a Summary with only Wall set.
func Run(ctx context.Context, p *beam.Pipeline) (Summary, error) {
	ResetLiveProgress()
	start := time.Now()
	pr, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		// A failed universal-runner job returns a result whose Metrics
		// dereferences nil: report only what was counted here.
		pr = nil
	}
	s := SummaryFromResult(pr).withLiveCounts()
	s.Wall = time.Since(start)
	return s, err
}

// ParquetRows counts the rows of the local Parquet files matching glob from
// their footers, without reading any data, so that progress can show an
// ETA. Globs on other filesystems (a "://" scheme) return ok false.
func ParquetRows(glob string) (rows int64, ok bool, err error) {
	if strings.Contains(glob, "://") {
		return 0, false, nil
	}
	files, err := filepath.Glob(glob)
	if err != nil {
		return 0, false, err
	}
	for _, name := range files {
		n, err := parquetFileRows(name)
		if err != nil {
			return 0, false, err
		}
		rows += n
	}
	return rows, true, nil
}

func parquetFileRows(name string) (int64, error) {
	// Through parquetio's checks: parquet-go's OpenFile allocates whatever
	// footer length a file declares (issue 15).
	return parquetio.CountRows(context.Background(), name, parquetio.ReadOptions{})
}
