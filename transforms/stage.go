package transforms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/model/tokenizer"
	"github.com/flavabeam/flavabeam/schemas"
)

// MetricsNamespace is the namespace of every metric this package reports.
const MetricsNamespace = "flavabeam"

// Metric names, as Beam Python's RunInference names them where one exists.
const (
	MetricNumInferences    = "num_inferences"                     // counter: records run through the model
	MetricBatchLatency     = "inference_batch_latency_micro_secs" // distribution: one model batch
	MetricBatchSize        = "inference_request_batch_size"       // distribution: records per batch
	MetricQueueWait        = "inference_queue_wait_micro_secs"    // distribution: per record, submit → batch start
	MetricLoadLatency      = "load_model_latency_milli_secs"      // distribution: one Bundle load
	MetricModelBytes       = "model_byte_size"                    // distribution: weights of a loaded Bundle
	MetricFailedBatches    = "failed_batches_counter"             // counter: batches retried record by record
	MetricDecodeLatency    = "decode_latency_micro_secs"          // distribution: image bytes → RGB
	MetricResizeLatency    = "resize_latency_micro_secs"          // distribution: RGB → pixel values
	MetricTokenizeLatency  = "tokenize_latency_micro_secs"        // distribution: one text → ids
	MetricEncodeLatency    = "encode_latency_micro_secs"          // distribution: model call of one batch
	MetricDeadLetters      = "dead_letters"                       // counter: all dead letters
	MetricDeadLetterPrefix = "dead_letters_"                      // counter per reason: dead_letters_<reason>
)

var (
	numInferences  = beam.NewCounter(MetricsNamespace, MetricNumInferences)
	batchLatency   = beam.NewDistribution(MetricsNamespace, MetricBatchLatency)
	batchSizeDist  = beam.NewDistribution(MetricsNamespace, MetricBatchSize)
	queueWaitDist  = beam.NewDistribution(MetricsNamespace, MetricQueueWait)
	loadLatency    = beam.NewDistribution(MetricsNamespace, MetricLoadLatency)
	modelBytes     = beam.NewDistribution(MetricsNamespace, MetricModelBytes)
	failedBatches  = beam.NewCounter(MetricsNamespace, MetricFailedBatches)
	decodeLatency  = beam.NewDistribution(MetricsNamespace, MetricDecodeLatency)
	resizeLatency  = beam.NewDistribution(MetricsNamespace, MetricResizeLatency)
	tokenizeLatecy = beam.NewDistribution(MetricsNamespace, MetricTokenizeLatency)
	encodeLatency  = beam.NewDistribution(MetricsNamespace, MetricEncodeLatency)
	deadTotal      = beam.NewCounter(MetricsNamespace, MetricDeadLetters)
	deadByReason   sync.Map // reason → *beam.Counter
)

func micros(d time.Duration) int64 { return d.Microseconds() }

// Sentinel errors of this package's stages; DeadLetter.Reason names them too.
var (
	// ErrMissingInput: the stage needs a modality the record does not have.
	ErrMissingInput = fmt.Errorf("transforms: %w", schemas.ErrMissingInput)
	// ErrNonFinite: the model produced NaN or ±Inf for the record.
	ErrNonFinite = errors.New("transforms: non-finite model output")
	// ErrModel: the model failed on the record (alone, after its batch failed).
	ErrModel = errors.New("transforms: model error")
	// ErrRead: ImageURI could not be read.
	ErrRead = errors.New("transforms: image read error")
)

// reasonOf maps an error of any stage to a schemas.Reason* code.
func reasonOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, imageproc.ErrTooLarge):
		return schemas.ReasonTooLarge
	case errors.Is(err, imageproc.ErrEmpty), errors.Is(err, imageproc.ErrUnknownFormat), errors.Is(err, imageproc.ErrCorrupt),
		errors.Is(err, imageproc.ErrMode):
		return schemas.ReasonDecode
	case errors.Is(err, tokenizer.ErrInvalidUTF8):
		return schemas.ReasonInvalidText
	case errors.Is(err, ErrNonFinite):
		return schemas.ReasonNonFinite
	case errors.Is(err, ErrModel), errors.Is(err, flava.ErrInput):
		return schemas.ReasonModel
	case errors.Is(err, ErrRead):
		return schemas.ReasonRead
	}
	return schemas.ReasonOf(err)
}

// deadLetter builds the dead letter of rec and counts it. The payload is the
// record in schemas' JSON codec; a record that codec refuses (invalid UTF-8,
// no input) is marshalled as plain JSON instead, where invalid UTF-8 becomes
// U+FFFD.
func deadLetter(ctx context.Context, stage string, rec *schemas.ImageText, err error) schemas.DeadLetter {
	reason := reasonOf(err)
	_, payload, _, encErr := schemas.CodecJSON.EncodeImageText(*rec)
	if encErr != nil {
		payload, _ = json.Marshal(rec)
	}
	deadTotal.Inc(ctx, 1)
	c, ok := deadByReason.Load(reason)
	if !ok {
		c, _ = deadByReason.LoadOrStore(reason, beam.NewCounter(MetricsNamespace, MetricDeadLetterPrefix+reason))
	}
	c.(beam.Counter).Inc(ctx, 1)
	return schemas.DeadLetter{ID: rec.ID, Stage: stage, Reason: reason, Message: err.Error(), Payload: payload,
		Time: time.Now().UTC(), Source: rec.Source}
}

// isGlobal reports whether w is the global window.
func isGlobal(w beam.Window) bool {
	_, ok := w.(window.GlobalWindow)
	return ok
}

// modelHandle is the runtime state every model-using DoFn builds in Setup:
// the process-wide Bundle and whether this instance loaded it (then it
// reports the load metrics once, from a bundle context).
type modelHandle struct {
	bundle   *pretrained.Bundle
	loaded   bool
	loadTime time.Duration
	reported bool
}

// setupModel loads (or finds) the Bundle of opts in the process cache.
func setupModel(ctx context.Context, opts Options) (*modelHandle, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if opts.Threads > 0 {
		kernels.SetThreads(opts.Threads)
	}
	h := &modelHandle{}
	b, err := Shared(opts.ModelKey(), func() (*pretrained.Bundle, error) {
		start := time.Now()
		b, err := pretrained.Load(ctx, opts.Model, opts.loadOptions())
		if err == nil {
			if err = setPrecision(b, opts.precision()); err != nil {
				b.Close()
				b = nil
			}
		}
		h.loaded, h.loadTime = err == nil, time.Since(start)
		if err == nil {
			for _, w := range b.Warnings {
				log.Warnf(ctx, "flavabeam: model %s: %s", opts.Model, w)
			}
			if _, err := kernels.BF16PathEnv(); err != nil {
				log.Warnf(ctx, "flavabeam: %v", err)
			}
			log.Infof(ctx, "flavabeam: kernels: %d threads, float32 GEMM path %s, bf16 path %s", kernels.Threads(), kernels.GEMMPath(), kernels.BF16Path())
		}
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("transforms: loading model %q: %w", opts.Model, err)
	}
	if opts.NeedCodebook {
		// The Bundle may have been loaded for a stage that needs no codebook
		// (the key does not say): attach the fallback now, once. Stages
		// read the codebook only for MIM work, which starts after this.
		_, err := Shared("codebook|"+opts.ModelKey(), func() (bool, error) {
			if err := b.AttachCodebook(ctx, opts.loadOptions()); err != nil {
				return false, err
			}
			return true, setPrecision(b, opts.precision())
		})
		if err != nil {
			return nil, fmt.Errorf("transforms: model %q: image codebook: %w", opts.Model, err)
		}
	}
	h.bundle = b
	return h, nil
}

// setPrecision applies the precision option to the model's linear layers
// and to its image codebook, when it has one (the codebook's convolutions
// run as bf16 GEMMs too: 99 % of its token ids equal f32's, see
// model/flava's ImageCodebook.SetPrecision).
func setPrecision(b *pretrained.Bundle, p flava.Precision) error {
	if err := b.Model.SetPrecision(p); err != nil {
		return err
	}
	if cb := b.Codebook(); cb != nil {
		return cb.SetPrecision(p)
	}
	return nil
}

// report records the load metrics once, from the instance that loaded.
func (h *modelHandle) report(ctx context.Context) {
	if h == nil || h.reported {
		return
	}
	h.reported = true
	if h.loaded {
		loadLatency.Update(ctx, h.loadTime.Milliseconds())
		modelBytes.Update(ctx, h.bundle.Bytes)
	}
}

// finite reports whether every value is finite.
func finite(vs ...[]float32) bool {
	for _, v := range vs {
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return false
			}
		}
	}
	return true
}

var typeOfImageText = reflect.TypeOf(schemas.ImageText{})
