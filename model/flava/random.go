package flava

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// NewRandom builds a FlavaModel for cfg with deterministic pseudo-random
// weights: every LayerNorm has weight 1 and bias 0, logit_scale is
// logit_scale_init_value, and every other tensor is drawn from
// N(0, initializer_range²) of its sub-config, in state-dict name order, from a
// PCG generator seeded by seed. The same cfg and seed always give the same
// model. It is meant for benchmarks, tests and a built-in "tiny-random"
// model, not for meaningful outputs.
func NewRandom(cfg Config, seed uint64) (*Model, error) {
	m, err := NewModel(cfg)
	if err != nil {
		return nil, err
	}
	cfg = m.Config
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	std := func(name string) float64 {
		switch {
		case strings.HasPrefix(name, "image_model."):
			return cfg.ImageConfig.InitializerRange
		case strings.HasPrefix(name, "text_model."):
			return cfg.TextConfig.InitializerRange
		case strings.HasPrefix(name, "multimodal_model."):
			return cfg.MultimodalConfig.InitializerRange
		}
		return cfg.InitializerRange
	}
	visitTensors(m, "", func(name string, t *tensor.Tensor) {
		lower := strings.ToLower(name)
		switch {
		case name == "logit_scale":
			// already logit_scale_init_value
		case strings.Contains(lower, "layernorm") && strings.HasSuffix(name, ".weight"):
			for i := range t.Data {
				t.Data[i] = 1
			}
		case strings.Contains(lower, "layernorm") && strings.HasSuffix(name, ".bias"):
			// zero
		default:
			s := std(name)
			for i := range t.Data {
				t.Data[i] = float32(rng.NormFloat64() * s)
			}
		}
	})
	return m, nil
}

// visitTensors calls fn for every non-nil tensor field reachable from v
// through `st` tags, with its state-dict name, in field order.
func visitTensors(v any, prefix string, fn func(string, *tensor.Tensor)) {
	visitValue(reflect.ValueOf(v), prefix, fn)
}

func visitValue(v reflect.Value, name string, fn func(string, *tensor.Tensor)) {
	switch {
	case v.Type() == tensorType:
		if !v.IsNil() {
			fn(name, v.Interface().(*tensor.Tensor))
		}
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			visitValue(v.Elem(), name, fn)
		}
	case v.Kind() == reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			visitValue(v.Index(i), name+"."+strconv.Itoa(i), fn)
		}
	case v.Kind() == reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag, ok := t.Field(i).Tag.Lookup("st")
			if !ok || !t.Field(i).IsExported() {
				continue
			}
			seg, _, _ := strings.Cut(tag, ",")
			child := name
			if seg != "" {
				if child != "" {
					child += "."
				}
				child += seg
			}
			visitValue(v.Field(i), child, fn)
		}
	}
}

var tensorType = reflect.TypeOf((*tensor.Tensor)(nil))
