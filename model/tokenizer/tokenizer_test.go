package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
)

var (
	fixtureOnce sync.Once
	fixtureTok  *Tokenizer
	fixtureErr  error
)

// bertUncased loads bert-base-uncased from the shared fixtures.
func bertUncased(t testing.TB) *Tokenizer {
	t.Helper()
	dir := filepath.Join(fixtures.Root(t), "tokenizer")
	fixtureOnce.Do(func() { fixtureTok, fixtureErr = LoadVocabTxt(filepath.Join(dir, "vocab.txt"), Config{}) })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureTok
}

func tokens(t *testing.T, tk *Tokenizer, text string) []string {
	t.Helper()
	toks, err := tk.Tokenize(text)
	if err != nil {
		t.Fatalf("Tokenize(%q): %v", text, err)
	}
	return toks
}

// TestFastTokenizerChoices pins the cases where HF's Python and Rust
// tokenizers differ; expectations come from tokenizers 0.23.3
// (BertTokenizerFast) on bert-base-uncased.
func TestFastTokenizerChoices(t *testing.T) {
	tk := bertUncased(t)
	for _, c := range []struct {
		text string
		want []string
	}{
		{"ΟΔΟΣ", []string{"ο", "##δ", "##ο", "##σ"}}, // no final sigma
		{"a\u2436b", []string{"[UNK]"}},              // unassigned code point kept
		{"a\ue000b", []string{"ab"}},                 // private use dropped
		{"a\u00adb", []string{"ab"}},                 // format char dropped
		{"x\u1F8Fy", []string{"x", "##α", "##y"}},    // NFD + strip + lowercase
		{"İstanbul", []string{"istanbul"}},           // U+0130
		{"a\u2028b\u2029c", []string{"a", "b", "c"}}, // line/paragraph separators split
		{"a\U0002B85Eb", []string{"[UNK]"}},          // U+2B85E not isolated (Rust range)
		{"a[MASK]b", []string{"a", "[MASK]", "b"}},   // specials matched inside words
		{"[MASK][SEP]", []string{"[MASK]", "[SEP]"}}, //
		{"a\x0bb\x1cc", []string{"abc"}},             // Cc dropped without splitting
		{"\uf900", []string{"[UNK]"}},                // compatibility ideograph → U+8C48
	} {
		if got := tokens(t, tk, c.text); !slices.Equal(got, c.want) {
			t.Errorf("Tokenize(%+q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestPairTruncationOddRoom(t *testing.T) {
	tk := bertUncased(t)
	// Room 1 (max_length 4): BertTokenizerFast keeps 0 tokens of a and 1 of b.
	e, err := tk.EncodePair("two from ball", "yellow chases blue", EncodeOptions{MaxLength: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[CLS]", "[SEP]", "yellow", "[SEP]"}
	if !slices.Equal(e.Tokens, want) || !slices.Equal(e.TypeIDs, []int32{0, 0, 1, 1}) || !e.Truncated {
		t.Errorf("got %q types %v truncated %v, want %q types [0 0 1 1]", e.Tokens, e.TypeIDs, e.Truncated, want)
	}
	// Short first sequence: the second takes all the remaining room.
	e, err = tk.EncodePair("a", "one two three four five six", EncodeOptions{MaxLength: 7, Padding: PadNone})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"[CLS]", "a", "[SEP]", "one", "two", "three", "[SEP]"}; !slices.Equal(e.Tokens, want) {
		t.Errorf("got %q, want %q", e.Tokens, want)
	}
}

func TestEncodeOptions(t *testing.T) {
	tk := bertUncased(t)
	e, err := tk.Encode("", EncodeOptions{Padding: PadNone})
	if err != nil || !slices.Equal(e.IDs, []int32{101, 102}) {
		t.Errorf("empty text: %v %v, want [101 102]", e.IDs, err)
	}
	batch, err := tk.EncodeBatch([]string{"a photo of a cat", "a"}, nil, EncodeOptions{Padding: PadLongest})
	if err != nil {
		t.Fatal(err)
	}
	if batch[0].Len() != 7 || batch[1].Len() != 7 || !slices.Equal(batch[1].AttentionMask, []int32{1, 1, 1, 0, 0, 0, 0}) {
		t.Errorf("PadLongest: %v / %v", batch[0].IDs, batch[1].IDs)
	}
	long := strings.Repeat("word ", 100)
	e, err = tk.Encode(long, EncodeOptions{Truncation: TruncNone})
	if err != nil || e.Len() != 102 || e.Truncated {
		t.Errorf("TruncNone: len %d truncated %v err %v, want 102 false", e.Len(), e.Truncated, err)
	}
	for _, bad := range []EncodeOptions{{MaxLength: 2}, {MaxLength: -1}, {Padding: 9}, {Truncation: 9}} {
		if _, err := tk.Encode("x", bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Encode with %+v: err %v, want ErrInvalidConfig", bad, err)
		}
	}
	if _, err := tk.EncodeBatch([]string{"a"}, []string{}, EncodeOptions{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("mismatched pairs: %v", err)
	}
}

func TestInvalidUTF8(t *testing.T) {
	tk := bertUncased(t)
	for _, text := range []string{"\xff", "abc\xc3", "ok \xed\xa0\x80 surrogate"} {
		if _, err := tk.Encode(text, EncodeOptions{}); !errors.Is(err, ErrInvalidUTF8) {
			t.Errorf("Encode(%q): %v, want ErrInvalidUTF8", text, err)
		}
	}
	if _, err := tk.EncodeBatch([]string{"fine", "\xff"}, nil, EncodeOptions{}); !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), "item 1") {
		t.Errorf("batch: %v", err)
	}
}

func TestDecode(t *testing.T) {
	tk := bertUncased(t)
	e, err := tk.Encode("Don't you think it's un-believable, Mr. Smith?", EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.Decode(e.IDs, true)
	if want := "don't you think it's un - believable, mr. smith?"; got != want || err != nil {
		t.Errorf("Decode = %q (%v), want %q", got, err, want)
	}
	got, _ = tk.Decode(e.IDs[:4], false)
	if want := "[CLS] don't"; got != want {
		t.Errorf("Decode keeping specials = %q, want %q", got, want)
	}
	if _, err := tk.Decode([]int32{5, 1 << 20}, true); !errors.Is(err, ErrUnknownID) {
		t.Errorf("out-of-range id: %v", err)
	}
	rows, err := tk.BatchDecode([][]int32{{101, 4937, 102}, {1037}}, true)
	if err != nil || !slices.Equal(rows, []string{"cat", "a"}) {
		t.Errorf("BatchDecode = %q %v", rows, err)
	}
}

func TestConfigVariants(t *testing.T) {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Cafe", "café", "cafe", "##s", "x", "日", "本"}
	cased, err := New(vocab, Config{KeepCase: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := tokens(t, cased, "Cafes café"); !slices.Equal(got, []string{"Cafe", "##s", "café"}) {
		t.Errorf("cased: %q", got)
	}
	strip, _ := New(vocab, Config{KeepCase: true, Accents: AccentsStrip})
	if got := tokens(t, strip, "café"); !slices.Equal(got, []string{"cafe"}) {
		t.Errorf("cased + strip: %q", got)
	}
	keep, _ := New(vocab, Config{Accents: AccentsKeep})
	if got := tokens(t, keep, "CAFÉ"); !slices.Equal(got, []string{"café"}) {
		t.Errorf("lower, keep accents: %q", got)
	}
	noCJK, _ := New(vocab, Config{NoChineseChars: true})
	if got := tokens(t, noCJK, "x日本"); !slices.Equal(got, []string{"[UNK]"}) {
		t.Errorf("no CJK isolation: %q", got)
	}
	short, _ := New(vocab, Config{MaxInputCharsPerWord: 3})
	if got := tokens(t, short, "cafe x"); !slices.Equal(got, []string{"[UNK]", "x"}) {
		t.Errorf("MaxInputCharsPerWord: %q", got)
	}
	if _, err := New(vocab, Config{Accents: 7}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad Accents: %v", err)
	}
	if _, err := New(vocab[1:], Config{}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "PadToken") {
		t.Errorf("missing [PAD]: %v", err)
	}
}

func TestParseTokenizerJSONRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"bpe":        `{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`,
		"normalizer": `{"normalizer":{"type":"NFKC"},"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0}}}`,
		"pretok":     `{"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`,
		"template":   `{"post_processor":{"type":"TemplateProcessing","single":[{"Sequence":{"id":"A","type_id":0}}],"pair":[]},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`,
		"roberta":    `{"post_processor":{"type":"RobertaProcessing"},"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`,
	} {
		if _, err := ParseTokenizerJSON([]byte(doc), Config{}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
	for name, doc := range map[string]string{
		"syntax":      `{"model":`,
		"empty":       `{"model":{"type":"WordPiece","vocab":{}}}`,
		"dup ids":     `{"model":{"type":"WordPiece","vocab":{"a":0,"b":0}}}`,
		"huge id":     `{"model":{"type":"WordPiece","vocab":{"a":99999999}}}`,
		"no model":    `{}`,
		"no specials": `{"model":{"type":"WordPiece","vocab":{"a":0}}}`,
	} {
		if _, err := ParseTokenizerJSON([]byte(doc), Config{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestLoadDir(t *testing.T) {
	src := filepath.Join(fixtures.Root(t), "tokenizer")
	vocab, err := os.ReadFile(filepath.Join(src, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := LoadDir(dir); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty dir: %v, want ErrNotFound", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), vocab, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"do_lower_case": false, "model_max_length": 512, "unk_token": {"content": "[UNK]"}, "clean_up_tokenization_spaces": true}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := tk.Config(); !c.KeepCase || c.ModelMaxLength != 512 {
		t.Errorf("tokenizer_config.json not applied: %+v", c)
	}
	if got := tokens(t, tk, "Cat"); slices.Equal(got, []string{"cat"}) {
		t.Errorf("do_lower_case=false still lowercases: %q", got)
	}
	// With tokenizer.json (lowercase: true) present, tokenizer_config.json
	// still wins, as in BertTokenizerFast.
	tj, err := os.ReadFile(filepath.Join(src, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		t.Fatal(err)
	}
	if tk, err = LoadDir(dir); err != nil {
		t.Fatal(err)
	}
	if got := tokens(t, tk, "Cat"); !tk.Config().KeepCase || slices.Equal(got, []string{"cat"}) {
		t.Errorf("tokenizer.json + do_lower_case=false: %q, config %+v", got, tk.Config())
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"model_max_length": -3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad tokenizer_config.json: %v", err)
	}
}

func TestVocabAccessors(t *testing.T) {
	tk := bertUncased(t)
	if tk.VocabSize() != 30522 || tk.IDBound() != 30522 {
		t.Errorf("VocabSize %d IDBound %d", tk.VocabSize(), tk.IDBound())
	}
	for _, c := range []struct {
		got, want int32
	}{{tk.PadID(), 0}, {tk.UnkID(), 100}, {tk.CLSID(), 101}, {tk.SEPID(), 102}, {tk.MaskID(), 103}} {
		if c.got != c.want {
			t.Errorf("special id %d, want %d", c.got, c.want)
		}
	}
	if !tk.IsSpecial(100) || tk.IsSpecial(1996) || tk.IsSpecial(-1) || tk.IsSpecial(1<<30) {
		t.Error("IsSpecial")
	}
	if id, ok := tk.TokenID("cat"); !ok || id != 4937 {
		t.Errorf("TokenID(cat) = %d %v", id, ok)
	}
	if _, err := tk.Token(30522); !errors.Is(err, ErrUnknownID) {
		t.Errorf("Token(30522): %v", err)
	}
}

// TestConcurrentUse runs Encode from several goroutines (pooled scratch).
func TestConcurrentUse(t *testing.T) {
	tk := bertUncased(t)
	want, _ := tk.Encode("Two dogs playing in the snow, ÉCOLE 日本.", EncodeOptions{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				got, err := tk.Encode("Two dogs playing in the snow, ÉCOLE 日本.", EncodeOptions{})
				if err != nil || !slices.Equal(got.IDs, want.IDs) {
					t.Error("concurrent Encode differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}
