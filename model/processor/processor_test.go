package processor

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/model/tokenizer"
)

func bertUncased(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.LoadVocabTxt(filepath.Join(fixtures.Root(t), "tokenizer", "vocab.txt"), tokenizer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fixtureRows reads a model fixture's inputs_meta.texts: keys "row<i>" hold a
// text, keys "row<i>_pair" a [text, pair] array.
func fixtureRows(t *testing.T, dir string) map[int][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		InputsMeta struct {
			Texts map[string]json.RawMessage `json:"texts"`
		} `json:"inputs_meta"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	rows := map[int][]string{}
	for k, raw := range m.InputsMeta.Texts {
		var i int
		if _, err := fmt.Sscanf(k, "row%d", &i); err != nil {
			t.Fatalf("%s: texts key %q", dir, k)
		}
		var one string
		var pair []string
		switch {
		case json.Unmarshal(raw, &one) == nil:
			rows[i] = []string{one}
		case json.Unmarshal(raw, &pair) == nil && len(pair) == 2:
			rows[i] = pair
		default:
			t.Fatalf("%s: texts[%q] = %s", dir, k, raw)
		}
	}
	return rows
}

func rowOf(x *tensor.Int64, i int) []int64 {
	l := x.Shape[1]
	return x.Data[i*l : (i+1)*l]
}

// TestTextInputsMatchModelFixtures re-creates input_ids, attention_mask and
// token_type_ids of every model fixture (HF FlavaProcessor outputs) from its
// texts, and checks HF's input_ids_masked / mlm_labels obey the invariants
// this package's collator guarantees.
func TestTextInputsMatchModelFixtures(t *testing.T) {
	tok := bertUncased(t)
	checked := 0
	for _, dir := range fixtures.Dirs(t, "manifest.json", "inputs.safetensors") {
		rows := fixtureRows(t, dir)
		if len(rows) == 0 {
			continue
		}
		sd, err := checkpoint.OpenSafetensors(filepath.Join(dir, "inputs.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		get := func(name string) *tensor.Int64 {
			x, err := sd.Int64(name)
			if err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
			return x
		}
		ids, mask, types := get("input_ids"), get("attention_mask"), get("token_type_ids")
		p, err := New(tok, imageproc.Config{}, Options{Text: tokenizer.EncodeOptions{MaxLength: ids.Shape[1]}})
		if err != nil {
			t.Fatal(err)
		}
		for i, texts := range rows {
			r := Request{Texts: texts[:1]}
			if len(texts) == 2 {
				r.TextPairs = texts[1:]
			}
			got, err := p.Process(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want []int64
			}{{"input_ids", got.InputIDs.Data, rowOf(ids, i)}, {"attention_mask", got.AttentionMask.Data, rowOf(mask, i)}, {"token_type_ids", got.TokenTypeIDs.Data, rowOf(types, i)}} {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s row %d %s:\n got  %v\n want %v", filepath.Base(dir), i, c.name, c.got, c.want)
				}
			}
			checked++
		}
		if sd.Has("input_ids_masked") && sd.Has("mlm_labels") {
			if err := checkMLMInvariants(tok, ids, get("input_ids_masked"), get("mlm_labels")); err != nil {
				t.Errorf("%s: HF collator output: %v", filepath.Base(dir), err)
			}
		}
		sd.Close()
	}
	if checked == 0 {
		t.Fatal("no model fixture has inputs_meta.texts")
	}
}

// checkMLMInvariants: labels are -100 or the original id; unlabelled
// positions are unchanged; special and padding positions are never labelled.
func checkMLMInvariants(tok *tokenizer.Tokenizer, ids, masked, labels *tensor.Int64) error {
	for i, id := range ids.Data {
		l, m := labels.Data[i], masked.Data[i]
		switch {
		case l == IgnoreIndex && m != id:
			return fmt.Errorf("position %d changed (%d → %d) without a label", i, id, m)
		case l != IgnoreIndex && l != id:
			return fmt.Errorf("position %d label %d, original id %d", i, l, id)
		case l != IgnoreIndex && (tok.IsSpecial(int32(id)) || id == int64(tok.PadID())):
			return fmt.Errorf("special/padding position %d (id %d) selected", i, id)
		}
	}
	return nil
}

// TestImagesMatchPreprocessFixtures runs the lossless fixture images through
// Process and compares with FlavaImageProcessor's pixel_values and
// codebook_pixel_values bit for bit.
func TestImagesMatchPreprocessFixtures(t *testing.T) {
	tok := bertUncased(t)
	checked := 0
	for _, dir := range fixtures.PreprocessDirs(t) {
		cfg, _, err := imageproc.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Backend, err = imageproc.ParseBackend(fixtures.PreprocessBackend(t, dir)); err != nil {
			t.Fatal(err)
		}
		p, err := New(tok, cfg, Options{ReturnCodebookPixels: true, ReturnImageMask: true})
		if err != nil {
			t.Fatal(err)
		}
		sd, err := checkpoint.OpenSafetensors(filepath.Join(dir, "expected.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "images", "*"))
		sort.Strings(files)
		for _, f := range files {
			ext := strings.ToLower(filepath.Ext(f))
			stem := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			if (ext != ".png" && ext != ".bmp") || !strings.HasSuffix(stem, "_rgb") || !sd.Has(stem+".path.pixel_values") {
				continue // lossy formats decode differently across decoders; imageproc tests those
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			in, err := p.Process(Request{Images: [][]byte{data}, Seed: 7})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, c := range []struct {
				key string
				got *tensor.Tensor
			}{{"pixel_values", in.PixelValues}, {"codebook_pixel_values", in.CodebookPixelValues}} {
				want, err := sd.Float32(stem + ".path." + c.key)
				if err != nil {
					t.Fatal(err)
				}
				if !tensor.SameShape(c.got.Shape, want.Shape) {
					t.Fatalf("%s %s: shape %v, want %v", stem, c.key, c.got.Shape, want.Shape)
				}
				for i := range want.Data {
					if math.Float32bits(c.got.Data[i]) != math.Float32bits(want.Data[i]) {
						t.Errorf("%s %s: value %d = %v, want %v", stem, c.key, i, c.got.Data[i], want.Data[i])
						break
					}
				}
			}
			if m := in.BoolMaskedPos; m == nil || !tensor.SameShape(m.Shape, []int{1, 196}) {
				t.Errorf("%s: BoolMaskedPos %v, want shape [1 196]", stem, m)
			}
			checked++
		}
		sd.Close()
	}
	if checked == 0 {
		t.Fatal("no lossless RGB fixture image found")
	}
}

func TestProcessRequests(t *testing.T) {
	tok := bertUncased(t)
	p, err := New(tok, imageproc.Config{}, Options{MLM: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Process(Request{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty request: %v", err)
	}
	in, err := p.Process(Request{Texts: []string{"a photo of a cat", "two dogs"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(in.InputIDs.Shape, []int{2, 77}) || in.PixelValues != nil || in.MLMLabels == nil || len(in.Tokens) != 2 {
		t.Errorf("text-only request: ids %v pixels %v", in.InputIDs.Shape, in.PixelValues)
	}
	if _, err := p.Process(Request{Texts: []string{"ok", "\xff"}}); !errors.Is(err, tokenizer.ErrInvalidUTF8) {
		t.Errorf("invalid UTF-8: %v", err)
	}
	if _, err := p.Process(Request{Images: [][]byte{[]byte("not an image")}}); !errors.Is(err, imageproc.ErrUnknownFormat) {
		t.Errorf("bad image: %v", err)
	}
	ragged, _ := New(tok, imageproc.Config{}, Options{Text: tokenizer.EncodeOptions{Padding: tokenizer.PadNone}})
	if _, err := ragged.Process(Request{Texts: []string{"a", "a b"}}); !errors.Is(err, ErrRagged) {
		t.Errorf("ragged: %v", err)
	}
	if _, err := New(tok, imageproc.Config{}, Options{MLM: true, MLMConfig: MLMConfig{Probability: 2}}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "Probability") {
		t.Errorf("bad MLM config: %v", err)
	}
	if _, err := New(tok, imageproc.Config{}, Options{Text: tokenizer.EncodeOptions{MaxLength: 1}}); !errors.Is(err, tokenizer.ErrInvalidConfig) {
		t.Errorf("bad text options: %v", err)
	}
}

func TestLoad(t *testing.T) {
	root := fixtures.Root(t)
	dir := t.TempDir()
	for src, dst := range map[string]string{
		filepath.Join(root, "tokenizer", "tokenizer.json"):            "tokenizer.json",
		filepath.Join(root, "preprocess", "preprocessor_config.json"): "preprocessor_config.json",
	} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := p.Process(Request{Texts: []string{"a photo of a cat"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(in.InputIDs.Data[:8]); got != "[101 1037 6302 1997 1037 4937 102 0]" {
		t.Errorf("ids %s", got)
	}
	if _, err := Load(t.TempDir(), Options{}); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
}
