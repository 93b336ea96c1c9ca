package transforms

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/schemas"
)

func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}

func init() {
	register.DoFn2x0[context.Context, beam.T](&collectFn{})
	register.DoFn4x0[context.Context, beam.Window, beam.EventTime, beam.T](&stampFn{})
	beam.RegisterType(reflect.TypeOf((*collectFn)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*stampFn)(nil)).Elem())
}

// sinks collect pipeline outputs in the test process (prism runs the SDK
// harness in-process).
var sinks = struct {
	mu sync.Mutex
	m  map[string][]any
}{m: map[string][]any{}}

type collectFn struct{ Name string }

func (f *collectFn) ProcessElement(_ context.Context, v beam.T) {
	sinks.mu.Lock()
	sinks.m[f.Name] = append(sinks.m[f.Name], v)
	sinks.mu.Unlock()
}

// stampFn collects "id window eventtime" of elements with an ID field.
type stampFn struct{ Name string }

func (f *stampFn) ProcessElement(_ context.Context, w beam.Window, et beam.EventTime, v beam.T) {
	id := reflect.ValueOf(v).FieldByName("ID").String()
	sinks.mu.Lock()
	sinks.m[f.Name] = append(sinks.m[f.Name], fmt.Sprintf("%s %v %d", id, w, int64(et)))
	sinks.mu.Unlock()
}

var sinkSeq struct {
	mu sync.Mutex
	n  int
}

// collect attaches a sink to col and returns a function giving its contents
// (after the pipeline ran).
func collect[T any](s beam.Scope, col beam.PCollection) func() []T {
	sinkSeq.mu.Lock()
	sinkSeq.n++
	name := fmt.Sprintf("sink%d", sinkSeq.n)
	sinkSeq.mu.Unlock()
	beam.ParDo0(s, &collectFn{Name: name}, col)
	return func() []T {
		sinks.mu.Lock()
		defer sinks.mu.Unlock()
		out := make([]T, 0, len(sinks.m[name]))
		for _, v := range sinks.m[name] {
			out = append(out, v.(T))
		}
		return out
	}
}

func collectStamps(s beam.Scope, col beam.PCollection) func() []string {
	sinkSeq.mu.Lock()
	sinkSeq.n++
	name := fmt.Sprintf("stamp%d", sinkSeq.n)
	sinkSeq.mu.Unlock()
	beam.ParDo0(s, &stampFn{Name: name}, col)
	return func() []string {
		sinks.mu.Lock()
		defer sinks.mu.Unlock()
		out := append([]string(nil), toStrings(sinks.m[name])...)
		sort.Strings(out)
		return out
	}
}

func toStrings(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.(string)
	}
	return out
}

// tinyModelDir is a complete model directory made of the tiny fixture's
// weights and the fixture tokenizer, in a fresh temp dir (so each call is a
// new Shared key).
func tinyModelDir(tb testing.TB) string {
	tb.Helper()
	return fixtureModelDir(tb, "tiny")
}

func fixtureModelDir(tb testing.TB, name string) string {
	tb.Helper()
	cfg := ""
	if name == "tiny" { // the tiny fixture's images are 64×64; its codebook takes 32×32
		cfg = `{"size": {"height": 64, "width": 64}, "crop_size": {"height": 64, "width": 64},
			"codebook_size": {"height": 32, "width": 32}, "codebook_crop_size": {"height": 32, "width": 32},
			"input_size_patches": 4, "total_mask_patches": 6, "mask_group_min_patches": 2, "mask_group_max_patches": 6}`
	}
	return fixtures.ModelDir(tb, filepath.Join(fixtures.Root(tb), name), cfg)
}

// brief shortens dead letters for failure messages.
func brief(ds []schemas.DeadLetter) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("%s %s %s: %s", d.ID, d.Stage, d.Reason, d.Message)
	}
	return out
}

// loadDirect loads the bundle of opts outside the pipeline, for reference
// values from the direct model API.
func loadDirect(tb testing.TB, opts Options) *pretrained.Bundle {
	tb.Helper()
	o := opts.withDefaults()
	b, err := pretrained.Load(context.Background(), o.Model, o.loadOptions())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// testImage draws a w×h picture that varies with seed.
func testImage(w, h, seed int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x*7 + seed*31), uint8(y*5 + seed*17), uint8((x ^ y) + seed*3), 255})
		}
	}
	return img
}

func pngBytes(tb testing.TB, w, h, seed int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage(w, h, seed)); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(tb testing.TB, w, h, seed int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(w, h, seed), &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// hugePNG is a valid PNG header declaring w×h pixels, followed by garbage:
// the pixel limit must refuse it before anything is allocated.
func hugePNG(tb testing.TB, w, h int) []byte {
	small := pngBytes(tb, 1, 1, 0)
	out := append([]byte(nil), small...)
	// IHDR data starts at byte 16: width, height big-endian.
	out[16], out[17], out[18], out[19] = byte(w>>24), byte(w>>16), byte(w>>8), byte(w)
	out[20], out[21], out[22], out[23] = byte(h>>24), byte(h>>16), byte(h>>8), byte(h)
	binary.BigEndian.PutUint32(out[29:33], crc32.ChecksumIEEE(out[12:29]))
	return out
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func byID[T any](xs []T, id func(T) string) map[string]T {
	m := map[string]T{}
	for _, x := range xs {
		m[id(x)] = x
	}
	return m
}

func deadByID(ds []schemas.DeadLetter) map[string]schemas.DeadLetter {
	return byID(ds, func(d schemas.DeadLetter) string { return d.ID })
}

// metricsOf sums the pipeline's counters and merges its distributions by
// name (over all steps) in MetricsNamespace.
func metricsOf(pr beam.PipelineResult) (map[string]int64, map[string]metrics.DistributionValue) {
	counters := map[string]int64{}
	dists := map[string]metrics.DistributionValue{}
	if pr == nil {
		return counters, dists
	}
	all := pr.Metrics().AllMetrics()
	for _, c := range all.Counters() {
		if c.Namespace() == MetricsNamespace {
			counters[c.Name()] += c.Result()
		}
	}
	for _, d := range all.Distributions() {
		if d.Namespace() != MetricsNamespace {
			continue
		}
		v, old := d.Result(), dists[d.Name()]
		if old.Count == 0 {
			dists[d.Name()] = v
			continue
		}
		old.Count += v.Count
		old.Sum += v.Sum
		old.Min = min(old.Min, v.Min)
		old.Max = max(old.Max, v.Max)
		dists[d.Name()] = old
	}
	return counters, dists
}
