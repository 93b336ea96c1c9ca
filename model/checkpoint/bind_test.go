package checkpoint

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/model/tensor"
)

type bindLeaf struct {
	Weight *tensor.Tensor `st:"weight"`
	Bias   *tensor.Tensor `st:"bias,optional"`
}

type bindModel struct {
	Embed  bindLeaf    `st:"embed"`
	Layers []*bindLeaf `st:"layer"`
	Head   *bindLeaf   `st:"head"`
	Skip   *bindLeaf   `st:"absent"`
	Flat   bindLeaf    `st:""`
}

func sdOf(t *testing.T, named map[string]*tensor.Tensor) *StateDict {
	t.Helper()
	var ts []SafetensorsTensor
	for n, v := range named {
		ts = append(ts, Float32Tensor(n, v))
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	sd, err := ParseSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func newBindModel() *bindModel {
	leaf := func(withBias bool) *bindLeaf {
		l := &bindLeaf{Weight: tensor.New(2)}
		if withBias {
			l.Bias = tensor.New(2)
		}
		return l
	}
	return &bindModel{Embed: *leaf(true), Layers: []*bindLeaf{leaf(false), leaf(true)}, Head: leaf(true), Flat: *leaf(false)}
}

func TestBindFillsFieldsByNameWithAliasesAndPrefix(t *testing.T) {
	v := func(a, b float32) *tensor.Tensor { return tensor.FromData([]float32{a, b}, 2) }
	sd := sdOf(t, map[string]*tensor.Tensor{
		"m.embed.weight":      v(1, 2),
		"m.embed.bias":        v(3, 4),
		"m.layer.0.weight":    v(5, 6),
		"m.layer.1.weight":    v(7, 8),
		"m.layer.1.bias":      v(9, 10),
		"m.head.weight":       v(11, 12),
		"m.head.decoder.bias": v(13, 14), // tied: head.bias lives here
		"m.weight":            v(15, 16),
		"m.extra":             v(0, 0),
		"other.embed.weight":  v(0, 0),
	})
	m := newBindModel()
	res, err := Bind(sd, "m.", m, Aliases{"m.head.bias": "m.head.decoder.bias"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bound != 8 {
		t.Errorf("bound %d tensors, want 8", res.Bound)
	}
	if strings.Join(res.Unused, ",") != "m.extra" {
		t.Errorf("unused %v, want [m.extra]", res.Unused)
	}
	if m.Head.Bias.Data[1] != 14 || m.Layers[1].Bias.Data[0] != 9 || m.Flat.Weight.Data[0] != 15 {
		t.Errorf("wrong values bound: head.bias %v layer1.bias %v flat %v", m.Head.Bias.Data, m.Layers[1].Bias.Data, m.Flat.Weight.Data)
	}
}

func TestBindReportsEveryProblemByFullName(t *testing.T) {
	sd := sdOf(t, map[string]*tensor.Tensor{
		"embed.weight":   tensor.New(3),
		"layer.0.weight": tensor.New(2),
	})
	_, err := Bind(sd, "", newBindModel(), nil)
	var be *BindError
	if !errors.As(err, &be) || !errors.Is(err, ErrBind) {
		t.Fatalf("err = %v, want a *BindError wrapping ErrBind", err)
	}
	wantMissing := "head.weight,layer.1.weight,weight" // biases are optional here
	if got := strings.Join(be.Missing, ","); got != wantMissing {
		t.Errorf("missing %s, want %s", got, wantMissing)
	}
	if len(be.Mismatched) != 1 || be.Mismatched[0].Name != "embed.weight" {
		t.Errorf("mismatched %+v, want embed.weight", be.Mismatched)
	}
}
