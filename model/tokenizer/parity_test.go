package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
)

// hfCase is one entry of cases.json (HF BertTokenizer outputs).
type hfCase struct {
	Text                string   `json:"text"`
	TextPair            *string  `json:"text_pair"`
	InputIDs            []int32  `json:"input_ids"`
	AttentionMask       []int32  `json:"attention_mask"`
	TokenTypeIDs        []int32  `json:"token_type_ids"`
	Tokens              []string `json:"tokens"`
	TokensPair          []string `json:"tokens_pair"`
	NumTokensUnpadded   int      `json:"num_tokens_unpadded"`
	UntruncatedInputIDs []int32  `json:"untruncated_input_ids"`
	UntruncatedTokens   []string `json:"untruncated_tokens"`
	Truncated           bool     `json:"truncated"`
}

type hfCases struct {
	Settings struct {
		MaxLength int `json:"max_length"`
	} `json:"settings"`
	Cases []hfCase `json:"cases"`
}

func loadCases(t *testing.T, dir string) hfCases {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c hfCases
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Cases) == 0 {
		t.Fatalf("%s: no cases", dir)
	}
	return c
}

// fixtureTokenizers loads every vocabulary file the fixture folder has, so
// both loaders are checked against the same cases.
func fixtureTokenizers(t *testing.T, dir string) map[string]*Tokenizer {
	t.Helper()
	out := map[string]*Tokenizer{}
	for _, name := range []string{"vocab.txt", "tokenizer.json"} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		var tk *Tokenizer
		var err error
		if name == "vocab.txt" {
			tk, err = LoadVocabTxt(path, Config{})
		} else {
			tk, err = LoadTokenizerJSON(path, Config{})
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out[name] = tk
	}
	if len(out) == 0 {
		t.Fatalf("%s: neither vocab.txt nor tokenizer.json", dir)
	}
	return out
}

func TestEncodeMatchesHF(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "cases.json") {
		cases := loadCases(t, dir)
		opts := EncodeOptions{MaxLength: cases.Settings.MaxLength}
		for name, tk := range fixtureTokenizers(t, dir) {
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
				for i, c := range cases.Cases {
					checkCase(t, tk, i, c, opts)
				}
			})
		}
	}
}

func checkCase(t *testing.T, tk *Tokenizer, i int, c hfCase, opts EncodeOptions) {
	t.Helper()
	toks, err := tk.Tokenize(c.Text)
	if err != nil {
		t.Errorf("case %d %q: Tokenize: %v", i, c.Text, err)
		return
	}
	if !slices.Equal(toks, c.Tokens) && !(len(toks) == 0 && len(c.Tokens) == 0) {
		t.Errorf("case %d %q: tokens\n got  %q\n want %q", i, c.Text, toks, c.Tokens)
	}
	if c.TextPair != nil && c.TokensPair != nil {
		toks, err := tk.Tokenize(*c.TextPair)
		if err != nil || (!slices.Equal(toks, c.TokensPair) && len(toks)+len(c.TokensPair) > 0) {
			t.Errorf("case %d pair %q: tokens\n got  %q (%v)\n want %q", i, *c.TextPair, toks, err, c.TokensPair)
		}
	}
	encode := func(o EncodeOptions) (Encoding, error) {
		if c.TextPair != nil {
			return tk.EncodePair(c.Text, *c.TextPair, o)
		}
		return tk.Encode(c.Text, o)
	}
	e, err := encode(opts)
	if err != nil {
		t.Errorf("case %d %q: Encode: %v", i, c.Text, err)
		return
	}
	if !slices.Equal(e.IDs, c.InputIDs) {
		t.Errorf("case %d %q: input_ids\n got  %v\n want %v", i, c.Text, e.IDs, c.InputIDs)
	}
	if !slices.Equal(e.AttentionMask, c.AttentionMask) {
		t.Errorf("case %d %q: attention_mask\n got  %v\n want %v", i, c.Text, e.AttentionMask, c.AttentionMask)
	}
	if !slices.Equal(e.TypeIDs, c.TokenTypeIDs) {
		t.Errorf("case %d %q: token_type_ids\n got  %v\n want %v", i, c.Text, e.TypeIDs, c.TokenTypeIDs)
	}
	if e.Truncated != c.Truncated {
		t.Errorf("case %d %q: truncated = %v, want %v", i, c.Text, e.Truncated, c.Truncated)
	}
	n := 0
	for _, m := range e.AttentionMask {
		n += int(m)
	}
	if n != c.NumTokensUnpadded {
		t.Errorf("case %d %q: %d unpadded tokens, want %d", i, c.Text, n, c.NumTokensUnpadded)
	}
	u, err := encode(EncodeOptions{Padding: PadNone, Truncation: TruncNone})
	if err != nil {
		t.Errorf("case %d %q: untruncated Encode: %v", i, c.Text, err)
		return
	}
	if !slices.Equal(u.IDs, c.UntruncatedInputIDs) {
		t.Errorf("case %d %q: untruncated ids\n got  %v\n want %v", i, c.Text, u.IDs, c.UntruncatedInputIDs)
	}
	if !slices.Equal(u.Tokens, c.UntruncatedTokens) {
		t.Errorf("case %d %q: untruncated tokens\n got  %q\n want %q", i, c.Text, u.Tokens, c.UntruncatedTokens)
	}
}

// TestEncodeBatchMatchesHF runs all single-text cases as one batch (padding
// to max_length) and checks each row, so batch encoding cannot drift from
// Encode.
func TestEncodeBatchMatchesHF(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "cases.json") {
		cases := loadCases(t, dir)
		tk := fixtureTokenizers(t, dir)["vocab.txt"]
		if tk == nil {
			continue
		}
		var texts, pairsA, pairsB []string
		var single, paired []hfCase
		for _, c := range cases.Cases {
			if c.TextPair == nil {
				texts = append(texts, c.Text)
				single = append(single, c)
			} else {
				pairsA = append(pairsA, c.Text)
				pairsB = append(pairsB, *c.TextPair)
				paired = append(paired, c)
			}
		}
		opts := EncodeOptions{MaxLength: cases.Settings.MaxLength}
		for _, run := range []struct {
			a, b []string
			want []hfCase
		}{{texts, nil, single}, {pairsA, pairsB, paired}} {
			if len(run.a) == 0 {
				continue
			}
			got, err := tk.EncodeBatch(run.a, run.b, opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range run.want {
				if !slices.Equal(got[i].IDs, c.InputIDs) || !slices.Equal(got[i].TypeIDs, c.TokenTypeIDs) || !slices.Equal(got[i].AttentionMask, c.AttentionMask) {
					t.Errorf("batch row %d %q differs from HF", i, c.Text)
				}
			}
		}
	}
}
