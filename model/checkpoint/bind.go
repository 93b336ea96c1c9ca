package checkpoint

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// ErrBind is wrapped by the error Bind returns when tensors are missing or
// have the wrong shape.
var ErrBind = errors.New("checkpoint: state dict does not fit the model")

// Aliases declares tied weights: each key names a tensor that, when absent,
// is read from the value's name instead (and vice versa). Both names are full
// state-dict names (prefix included). transformers' save_pretrained keeps only
// one side of a tie (model.safetensors has mim_head.decoder.bias but not
// mim_head.bias); torch.save keeps both.
type Aliases map[string]string

// BindResult says what Bind consumed.
type BindResult struct {
	// Bound is the number of tensor fields filled.
	Bound int
	// Unused lists the state-dict names under the prefix that no field took,
	// sorted. Loading a sub-model from a larger checkpoint leaves many.
	Unused []string
}

// Mismatch is one tensor whose stored shape differs from the model's.
type Mismatch struct {
	Name      string
	Want, Got []int
}

// BindError reports every problem of one Bind call at once, by full name.
type BindError struct {
	Missing    []string
	Mismatched []Mismatch
	Other      []string // dtype or decoding problems
}

func (e *BindError) Error() string {
	var b strings.Builder
	b.WriteString("checkpoint: state dict does not fit the model:")
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, " missing %d tensor(s): %s;", len(e.Missing), strings.Join(e.Missing, ", "))
	}
	for _, m := range e.Mismatched {
		fmt.Fprintf(&b, " %s has shape %v, want %v;", m.Name, m.Got, m.Want)
	}
	for _, o := range e.Other {
		fmt.Fprintf(&b, " %s;", o)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap lets errors.Is(err, ErrBind) succeed.
func (e *BindError) Unwrap() error { return ErrBind }

var tensorType = reflect.TypeOf((*tensor.Tensor)(nil))

// Bind fills the tensor fields of target, a pointer to a struct, from sd.
// Fields are matched by their `st` struct tags, which give state-dict name
// segments:
//
//	Weight *tensor.Tensor `st:"weight"`          // prefix+"weight"
//	Bias   *tensor.Tensor `st:"bias,optional"`   // may be absent from sd
//	Attn   Attention      `st:"attention"`       // recurse with prefix+"attention."
//	Layers []*Layer       `st:"layer"`           // element i: prefix+"layer.<i>."
//	Inner  Block          `st:""`               // recurse without a segment
//
// A *tensor.Tensor field must be pre-allocated by the model's constructor with
// its expected shape; Bind checks the stored shape against it and replaces the
// field's Data with the stored values (zero-copy for memory-mapped F32 data,
// which must then be treated as read-only). A nil tensor field means the tensor
// does not exist in this configuration and is skipped; nil struct pointers and
// slice elements are skipped too. Fields without an `st` tag are ignored.
//
// Missing tensors (not optional, not found under their alias either), shape
// mismatches, and tied tensors whose two stored sides differ (a checkpoint
// that keeps both names of a tie must hold the same values under both) are
// all reported together in a *BindError.
func Bind(sd *StateDict, prefix string, target any, aliases Aliases) (BindResult, error) {
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("checkpoint: Bind target must be a non-nil pointer to a struct, got %T", target))
	}
	b := &binder{sd: sd, aliases: aliases, used: map[string]bool{}, err: &BindError{}}
	b.walkStruct(v.Elem(), prefix)
	var res BindResult
	res.Bound = b.bound
	for _, name := range sd.Names() {
		if strings.HasPrefix(name, prefix) && !b.used[name] {
			res.Unused = append(res.Unused, name)
		}
	}
	if len(b.err.Missing)+len(b.err.Mismatched)+len(b.err.Other) > 0 {
		sort.Strings(b.err.Missing)
		return res, b.err
	}
	return res, nil
}

type binder struct {
	sd      *StateDict
	aliases Aliases
	used    map[string]bool
	bound   int
	err     *BindError
}

func (b *binder) walkStruct(v reflect.Value, prefix string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("st")
		if !ok || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		optional := opts == "optional"
		b.walkField(v.Field(i), joinName(prefix, name), name == "", optional)
	}
}

// joinName returns the prefix for a nested name; an empty segment adds none.
func joinName(prefix, seg string) string {
	if seg == "" {
		return prefix
	}
	return prefix + seg
}

func (b *binder) walkField(fv reflect.Value, full string, anonymous, optional bool) {
	switch {
	case fv.Type() == tensorType:
		if fv.IsNil() {
			return
		}
		b.bindTensor(fv.Interface().(*tensor.Tensor), full, optional)
	case fv.Kind() == reflect.Struct:
		b.walkStruct(fv, nested(full, anonymous))
	case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct:
		if !fv.IsNil() {
			b.walkStruct(fv.Elem(), nested(full, anonymous))
		}
	case fv.Kind() == reflect.Slice:
		for j := 0; j < fv.Len(); j++ {
			b.walkField(fv.Index(j), full+"."+strconv.Itoa(j), false, optional)
		}
	default:
		panic(fmt.Sprintf("checkpoint: Bind cannot bind a %s field at %q", fv.Type(), full))
	}
}

func nested(full string, anonymous bool) string {
	if anonymous {
		return full
	}
	return full + "."
}

func (b *binder) bindTensor(dst *tensor.Tensor, name string, optional bool) {
	src := name
	if !b.sd.Has(src) {
		if alt, ok := b.alias(name); ok && b.sd.Has(alt) {
			src = alt
		} else {
			if !optional {
				b.err.Missing = append(b.err.Missing, name)
			}
			return
		}
	}
	b.used[src] = true
	tiedTo := ""
	if alt, ok := b.alias(src); ok && b.sd.Has(alt) {
		b.used[alt] = true // the other side of a tie is consumed too
		tiedTo = alt
	}
	info, _ := b.sd.Info(src)
	if !tensor.SameShape(info.Shape, dst.Shape) {
		b.err.Mismatched = append(b.err.Mismatched, Mismatch{Name: src, Want: append([]int(nil), dst.Shape...), Got: info.Shape})
		return
	}
	t, err := b.sd.Float32(src)
	if err != nil {
		b.err.Other = append(b.err.Other, err.Error())
		return
	}
	if tiedTo != "" {
		if err := b.sameTied(src, tiedTo, t); err != nil {
			b.err.Other = append(b.err.Other, err.Error())
			return
		}
	}
	dst.Data = t.Data
	b.bound++
}

// sameTied checks that both sides of a tie a checkpoint stores (torch.save
// keeps both names) hold the same tensor: the model uses one of them, and
// PyTorch's load_state_dict would keep whichever it loaded last. Sides that
// are the same bytes (one storage) need no comparison.
func (b *binder) sameTied(src, alt string, t *tensor.Tensor) error {
	ai, _ := b.sd.Info(alt)
	if !tensor.SameShape(ai.Shape, t.Shape) {
		return fmt.Errorf("tied tensors %s %v and %s %v differ in shape", src, t.Shape, alt, ai.Shape)
	}
	u, err := b.sd.Float32(alt)
	if err != nil {
		return err
	}
	if len(u.Data) > 0 && &u.Data[0] == &t.Data[0] {
		return nil
	}
	for i := range t.Data {
		if math.Float32bits(t.Data[i]) != math.Float32bits(u.Data[i]) {
			return fmt.Errorf("tied tensors %s and %s differ (first at element %d: %v, %v)", src, alt, i, t.Data[i], u.Data[i])
		}
	}
	return nil
}

func (b *binder) alias(name string) (string, bool) {
	if alt, ok := b.aliases[name]; ok {
		return alt, true
	}
	for k, v := range b.aliases {
		if v == name {
			return k, true
		}
	}
	return "", false
}
