package tokenizer

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flavabeam/flavabeam/internal/fuzzguard"
)

// FuzzTokenize: any bytes either fail with ErrInvalidUTF8 or give ids in
// vocabulary range, at most four tokens per code point, well-formed encodings,
// and a decode that re-tokenizes to the same ids for ids without [UNK].
func FuzzTokenize(f *testing.F) {
	tk := bertUncased(f)
	for _, s := range []string{"", "a photo of a cat", "ÉCOLE ÀÉÎÕÜ Ångström", "日本語のテキストです", "[MASK] x[CLS]y",
		"\x00\x07\x1b", "\xff\xfe", "ΟΔΟΣ İ", strings.Repeat("x", 101), "don't stop", "a\u2028b", "\U0002B85E"} {
		f.Add(s, "b")
	}
	f.Fuzz(func(t *testing.T, text, pair string) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			ids, err := tk.AppendIDs(nil, text)
			if !utf8.ValidString(text) {
				if err == nil {
					t.Fatalf("invalid UTF-8 %q accepted", text)
				}
				return
			}
			if err != nil {
				t.Fatalf("valid text %q: %v", text, err)
			}
			// Each code point gives at most one token, except that NFD
			// expands (a Hangul syllable into three jamo): bound 4 per code point.
			if n := utf8.RuneCountInString(text); len(ids) > 4*n {
				t.Fatalf("%d ids for %d code points", len(ids), n)
			}
			unk := false
			for _, id := range ids {
				if id < 0 || int(id) >= tk.IDBound() {
					t.Fatalf("id %d out of range", id)
				}
				unk = unk || id == tk.UnkID()
			}
			e, err := tk.EncodePair(text, pair, EncodeOptions{MaxLength: 16})
			if utf8.ValidString(pair) {
				if err != nil {
					t.Fatal(err)
				}
				if e.Len() != 16 || len(e.TypeIDs) != 16 || len(e.AttentionMask) != 16 || len(e.Tokens) != 16 {
					t.Fatalf("encoding of length %d, want 16", e.Len())
				}
			}
			if unk {
				return
			}
			// Decoding without specials and re-encoding is stable once the
			// text is normalized (decode output is lowercase, accent-free).
			dec, err := tk.Decode(ids, true)
			if err != nil {
				t.Fatal(err)
			}
			again, err := tk.AppendIDs(nil, dec)
			if err != nil {
				t.Fatal(err)
			}
			dec2, err := tk.Decode(again, true)
			if err != nil || dec2 != dec {
				t.Fatalf("decode(encode(decode)) = %q, want %q", dec2, dec)
			}
		})
	})
}

// FuzzParseTokenizerJSON: arbitrary tokenizer.json bytes never panic and
// either fail with a sentinel or give a usable tokenizer.
func FuzzParseTokenizerJSON(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4,"a":5,"##b":6}},"added_tokens":[{"id":4,"content":"[MASK]","special":true}]}`))
	f.Add([]byte(`{"normalizer":{"type":"BertNormalizer","lowercase":false},"post_processor":{"type":"BertProcessing","cls":["[CLS]",2],"sep":["[SEP]",3]},"model":{"unk_token":"[UNK]","continuing_subword_prefix":"##","vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4}}}`))
	f.Add([]byte(`{"model":{"type":"BPE"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			tk, err := ParseTokenizerJSON(data, Config{})
			if err != nil {
				if !isSentinel(err) {
					t.Fatalf("error without sentinel: %v", err)
				}
				return
			}
			e, err := tk.Encode("a b ab [MASK] x", EncodeOptions{MaxLength: 8})
			if err != nil || e.Len() != 8 {
				t.Fatalf("Encode: %v len %d", err, e.Len())
			}
			if _, err := tk.Decode(e.IDs, true); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// FuzzReadVocab: arbitrary vocab.txt bytes never panic.
func FuzzReadVocab(f *testing.F) {
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n##b\n"))
	f.Add([]byte("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]"))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			tk, err := FromVocabTxt(data, Config{})
			if err != nil {
				if !isSentinel(err) {
					t.Fatalf("error without sentinel: %v", err)
				}
				return
			}
			if _, err := tk.Encode("[CLS] ab b", EncodeOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func isSentinel(err error) bool {
	for _, s := range []error{ErrMalformed, ErrUnsupported, ErrInvalidConfig} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
