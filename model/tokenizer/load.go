package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/flavabeam/flavabeam/model/internal/modelfile"
)

// maxFileBytes caps tokenizer files read from disk (bert-base-uncased's
// tokenizer.json is 466 kB; multilingual WordPiece files stay under 20 MB).
const maxFileBytes = 64 << 20

// hfTokenizerJSON is the part of the HF tokenizers format this package reads.
type hfTokenizerJSON struct {
	AddedTokens []struct {
		ID      *int64 `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type          string          `json:"type"`
		CLS           json.RawMessage `json:"cls"`
		SEP           json.RawMessage `json:"sep"`
		Single        json.RawMessage `json:"single"`
		Pair          json.RawMessage `json:"pair"`
		SpecialTokens map[string]struct {
			IDs []int64 `json:"ids"`
		} `json:"special_tokens"`
	} `json:"post_processor"`
	Decoder *struct {
		Type    string `json:"type"`
		Prefix  string `json:"prefix"`
		Cleanup *bool  `json:"cleanup"`
	} `json:"decoder"`
	Model *struct {
		Type                    string           `json:"type"`
		UnkToken                *string          `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int64           `json:"max_input_chars_per_word"`
		Vocab                   map[string]int64 `json:"vocab"`
		Merges                  json.RawMessage  `json:"merges"`
	} `json:"model"`
}

// ParseTokenizerJSON builds a tokenizer from the bytes of an HF
// tokenizer.json holding a WordPiece model, a BertNormalizer (or none), a
// BertPreTokenizer (or none) and a BERT-shaped post-processor
// (TemplateProcessing "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1", or
// BertProcessing). Anything else is rejected with ErrUnsupported; cfg's
// zero-valued fields are filled from the file, its set fields win.
func ParseTokenizerJSON(data []byte, cfg Config) (*Tokenizer, error) {
	return parseTokenizerJSON(data, cfg, nil)
}

// parseTokenizerJSON is ParseTokenizerJSON with a hook that may rewrite the
// configuration read from the file (tokenizer_config.json overrides).
func parseTokenizerJSON(data []byte, cfg Config, after func(Config) (Config, error)) (*Tokenizer, error) {
	var f hfTokenizerJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: tokenizer.json: %v", ErrMalformed, err)
	}
	if f.Model == nil {
		return nil, fmt.Errorf("%w: tokenizer.json has no model", ErrMalformed)
	}
	m := f.Model
	switch {
	case m.Type == "WordPiece":
	case m.Type == "" && m.Merges == nil && m.ContinuingSubwordPrefix != nil:
		// Old files omit the type; WordPiece is the only model with these fields.
	default:
		return nil, fmt.Errorf("%w: model type %q (want WordPiece)", ErrUnsupported, m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, fmt.Errorf("%w: tokenizer.json model.vocab is empty", ErrMalformed)
	}
	if len(m.Vocab) > maxVocabSize {
		return nil, fmt.Errorf("%w: %d vocabulary entries", ErrMalformed, len(m.Vocab))
	}
	if m.UnkToken != nil && cfg.UnkToken == "" {
		cfg.UnkToken = *m.UnkToken
	}
	if m.ContinuingSubwordPrefix != nil && cfg.ContinuingSubwordPrefix == "" {
		if *m.ContinuingSubwordPrefix == "" {
			return nil, fmt.Errorf("%w: empty continuing_subword_prefix", ErrUnsupported)
		}
		cfg.ContinuingSubwordPrefix = *m.ContinuingSubwordPrefix
	}
	if m.MaxInputCharsPerWord != nil && cfg.MaxInputCharsPerWord == 0 {
		v := *m.MaxInputCharsPerWord
		if v <= 0 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%w: max_input_chars_per_word = %d", ErrMalformed, v)
		}
		cfg.MaxInputCharsPerWord = int(v)
	}
	if n := f.Normalizer; n != nil {
		if n.Type != "BertNormalizer" {
			return nil, fmt.Errorf("%w: normalizer %q (want BertNormalizer)", ErrUnsupported, n.Type)
		}
		if n.Lowercase != nil && !*n.Lowercase {
			cfg.KeepCase = true
		}
		if n.StripAccents != nil && cfg.Accents == AccentsAuto {
			cfg.Accents = AccentsKeep
			if *n.StripAccents {
				cfg.Accents = AccentsStrip
			}
		}
		if n.CleanText != nil && !*n.CleanText {
			cfg.NoCleanText = true
		}
		if n.HandleChineseChars != nil && !*n.HandleChineseChars {
			cfg.NoChineseChars = true
		}
	}
	if p := f.PreTokenizer; p != nil && p.Type != "BertPreTokenizer" {
		return nil, fmt.Errorf("%w: pre_tokenizer %q (want BertPreTokenizer)", ErrUnsupported, p.Type)
	}
	if d := f.Decoder; d != nil {
		if d.Type != "WordPiece" {
			return nil, fmt.Errorf("%w: decoder %q (want WordPiece)", ErrUnsupported, d.Type)
		}
		if d.Prefix != "" && d.Prefix != cfg.withDefaults().ContinuingSubwordPrefix {
			return nil, fmt.Errorf("%w: decoder prefix %q differs from the model's", ErrUnsupported, d.Prefix)
		}
	}
	if err := postProcessor(&f, &cfg); err != nil {
		return nil, err
	}
	if after != nil {
		var err error
		if cfg, err = after(cfg); err != nil {
			return nil, err
		}
	}
	entries := make([]entry, 0, len(m.Vocab))
	for tok, id := range m.Vocab {
		if id < 0 || id >= maxVocabSize {
			return nil, fmt.Errorf("%w: vocab id %d for %q", ErrMalformed, id, tok)
		}
		entries = append(entries, entry{tok, int32(id)})
	}
	// JSON object order is lost; ids decide.
	sort.Slice(entries, func(i, j int) bool { return entries[i].ID < entries[j].ID })
	for i := 1; i < len(entries); i++ {
		if entries[i].ID == entries[i-1].ID {
			return nil, fmt.Errorf("%w: id %d used by %q and %q", ErrMalformed, entries[i].ID, entries[i-1].Token, entries[i].Token)
		}
	}
	added := make([]AddedToken, 0, len(f.AddedTokens))
	for _, a := range f.AddedTokens {
		if a.ID == nil || *a.ID < 0 || *a.ID >= maxVocabSize {
			return nil, fmt.Errorf("%w: added token %q has a bad id", ErrMalformed, a.Content)
		}
		added = append(added, AddedToken{Content: a.Content, ID: int32(*a.ID), Special: a.Special})
	}
	return build(entries, added, cfg)
}

// postProcessor checks that the post-processor is BERT's template and takes
// its [CLS] / [SEP] token names.
func postProcessor(f *hfTokenizerJSON, cfg *Config) error {
	p := f.PostProcessor
	if p == nil {
		return nil // FLAVA files always have one; without it the BERT template is assumed.
	}
	switch p.Type {
	case "BertProcessing":
		var cls, sep [2]json.RawMessage
		if json.Unmarshal(p.CLS, &cls) != nil || json.Unmarshal(p.SEP, &sep) != nil {
			return fmt.Errorf("%w: BertProcessing cls/sep", ErrMalformed)
		}
		var c, s string
		if json.Unmarshal(cls[0], &c) != nil || json.Unmarshal(sep[0], &s) != nil {
			return fmt.Errorf("%w: BertProcessing cls/sep", ErrMalformed)
		}
		setIfEmpty(&cfg.CLSToken, c)
		setIfEmpty(&cfg.SEPToken, s)
		return nil
	case "TemplateProcessing":
		single, err := templatePieces(p.Single)
		if err != nil {
			return err
		}
		pair, err := templatePieces(p.Pair)
		if err != nil {
			return err
		}
		if len(single) != 3 || single[0].seq != "" || single[1].seq != "A" || single[2].seq != "" ||
			single[0].typ != 0 || single[1].typ != 0 || single[2].typ != 0 {
			return fmt.Errorf("%w: TemplateProcessing single template is not [CLS] $A [SEP]", ErrUnsupported)
		}
		if len(pair) != 5 || pair[0].special != single[0].special || pair[1].seq != "A" || pair[2].special != single[2].special ||
			pair[3].seq != "B" || pair[4].special != single[2].special ||
			pair[0].typ != 0 || pair[1].typ != 0 || pair[2].typ != 0 || pair[3].typ != 1 || pair[4].typ != 1 {
			return fmt.Errorf("%w: TemplateProcessing pair template is not [CLS] $A [SEP] $B:1 [SEP]:1", ErrUnsupported)
		}
		for _, name := range []string{single[0].special, single[2].special} {
			if st, ok := p.SpecialTokens[name]; ok && len(st.IDs) != 1 {
				return fmt.Errorf("%w: special token %q maps to %d ids", ErrUnsupported, name, len(st.IDs))
			}
		}
		setIfEmpty(&cfg.CLSToken, single[0].special)
		setIfEmpty(&cfg.SEPToken, single[2].special)
		return nil
	}
	return fmt.Errorf("%w: post_processor %q", ErrUnsupported, p.Type)
}

type templatePiece struct {
	special string // SpecialToken id, or ""
	seq     string // "A" / "B", or ""
	typ     int64
}

func templatePieces(raw json.RawMessage) ([]templatePiece, error) {
	var items []struct {
		SpecialToken *struct {
			ID     string `json:"id"`
			TypeID int64  `json:"type_id"`
		}
		Sequence *struct {
			ID     string `json:"id"`
			TypeID int64  `json:"type_id"`
		}
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%w: TemplateProcessing template: %v", ErrMalformed, err)
	}
	out := make([]templatePiece, len(items))
	for i, it := range items {
		switch {
		case it.SpecialToken != nil && it.Sequence == nil && it.SpecialToken.ID != "":
			out[i] = templatePiece{special: it.SpecialToken.ID, typ: it.SpecialToken.TypeID}
		case it.Sequence != nil && it.SpecialToken == nil:
			out[i] = templatePiece{seq: it.Sequence.ID, typ: it.Sequence.TypeID}
		default:
			return nil, fmt.Errorf("%w: TemplateProcessing item %d", ErrMalformed, i)
		}
	}
	return out, nil
}

func setIfEmpty(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// readCapped reads a whole regular file, refusing more than maxFileBytes
// (modelfile.ReadFile).
func readCapped(path string) ([]byte, error) {
	return modelfile.Read("", path, maxFileBytes, ErrMalformed)
}

// readInDir reads name inside a model directory: the file must resolve
// inside dir through symbolic links (modelfile.Confine) and is read as
// readCapped reads it.
func readInDir(dir, name string) ([]byte, error) {
	return modelfile.Read(dir, filepath.Join(dir, name), maxFileBytes, ErrMalformed)
}

// LoadTokenizerJSON reads a tokenizer.json file (see ParseTokenizerJSON).
func LoadTokenizerJSON(path string, cfg Config) (*Tokenizer, error) {
	return loadTokenizerJSON(path, cfg, nil)
}

func loadTokenizerJSON(path string, cfg Config, after func(Config) (Config, error)) (*Tokenizer, error) {
	data, err := readCapped(path)
	return parseFile(path, data, err, func(b []byte) (*Tokenizer, error) { return parseTokenizerJSON(b, cfg, after) })
}

// parseFile parses the bytes read from path (or reports the read error),
// naming the file in either error.
func parseFile(path string, data []byte, err error, parse func([]byte) (*Tokenizer, error)) (*Tokenizer, error) {
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// LoadVocabTxt reads a vocab.txt file (see ReadVocab and New).
func LoadVocabTxt(path string, cfg Config) (*Tokenizer, error) {
	data, err := readCapped(path)
	return parseFile(path, data, err, func(b []byte) (*Tokenizer, error) { return FromVocabTxt(b, cfg) })
}

// tokenizerConfig is the part of HF tokenizer_config.json read by LoadDir.
type tokenizerConfig struct {
	DoLowerCase          *bool           `json:"do_lower_case"`
	StripAccents         *bool           `json:"strip_accents"`
	TokenizeChineseChars *bool           `json:"tokenize_chinese_chars"`
	CleanUpSpaces        *bool           `json:"clean_up_tokenization_spaces"`
	ModelMaxLength       *float64        `json:"model_max_length"`
	UnkToken             json.RawMessage `json:"unk_token"`
	CLSToken             json.RawMessage `json:"cls_token"`
	SEPToken             json.RawMessage `json:"sep_token"`
	PadToken             json.RawMessage `json:"pad_token"`
	MaskToken            json.RawMessage `json:"mask_token"`
}

// ParseTokenizerConfig applies an HF tokenizer_config.json to cfg: like
// BertTokenizerFast, do_lower_case / strip_accents / tokenize_chinese_chars
// there override tokenizer.json's normalizer. Special tokens may be strings
// or {"content": ...} objects. A model_max_length above 1<<30 (HF's
// "unlimited" 1e30) is ignored.
func ParseTokenizerConfig(data []byte, cfg Config) (Config, error) {
	var tc tokenizerConfig
	if err := json.Unmarshal(data, &tc); err != nil {
		return cfg, fmt.Errorf("%w: tokenizer_config.json: %v", ErrMalformed, err)
	}
	if tc.DoLowerCase != nil {
		cfg.KeepCase = !*tc.DoLowerCase
	}
	if tc.StripAccents != nil {
		cfg.Accents = AccentsKeep
		if *tc.StripAccents {
			cfg.Accents = AccentsStrip
		}
	}
	if tc.TokenizeChineseChars != nil {
		cfg.NoChineseChars = !*tc.TokenizeChineseChars
	}
	if tc.CleanUpSpaces != nil {
		cfg.NoCleanupSpaces = !*tc.CleanUpSpaces
	}
	if v := tc.ModelMaxLength; v != nil {
		if *v < 1 || math.IsNaN(*v) {
			return cfg, fmt.Errorf("%w: tokenizer_config.json model_max_length = %v", ErrMalformed, *v)
		}
		if *v <= 1<<30 {
			cfg.ModelMaxLength = int(*v)
		}
	}
	for _, s := range []struct {
		raw json.RawMessage
		dst *string
	}{{tc.UnkToken, &cfg.UnkToken}, {tc.CLSToken, &cfg.CLSToken}, {tc.SEPToken, &cfg.SEPToken}, {tc.PadToken, &cfg.PadToken}, {tc.MaskToken, &cfg.MaskToken}} {
		if len(s.raw) == 0 || bytes.Equal(s.raw, []byte("null")) {
			continue
		}
		var str string
		if json.Unmarshal(s.raw, &str) == nil {
			*s.dst = str
			continue
		}
		var obj struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(s.raw, &obj); err != nil || obj.Content == "" {
			return cfg, fmt.Errorf("%w: tokenizer_config.json special token %s", ErrMalformed, s.raw)
		}
		*s.dst = obj.Content
	}
	return cfg, nil
}

// LoadDir loads the tokenizer of an HF model directory: tokenizer.json if
// present, else vocab.txt, with tokenizer_config.json applied when present
// (its settings win over tokenizer.json's, as in BertTokenizerFast).
// A directory with neither file gives ErrNotFound.
func LoadDir(dir string) (*Tokenizer, error) {
	var tcData []byte
	if data, err := readInDir(dir, "tokenizer_config.json"); err == nil {
		tcData = data
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	apply := func(cfg Config) (Config, error) {
		if tcData == nil {
			return cfg, nil
		}
		cfg, err := ParseTokenizerConfig(tcData, cfg)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", dir, err)
		}
		return cfg, nil
	}
	path := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(path); err == nil {
		data, err := readInDir(dir, "tokenizer.json")
		return parseFile(path, data, err, func(b []byte) (*Tokenizer, error) { return parseTokenizerJSON(b, Config{}, apply) })
	}
	path = filepath.Join(dir, "vocab.txt")
	if _, err := os.Stat(path); err == nil {
		cfg, err := apply(Config{})
		if err != nil {
			return nil, err
		}
		data, err := readInDir(dir, "vocab.txt")
		return parseFile(path, data, err, func(b []byte) (*Tokenizer, error) { return FromVocabTxt(b, cfg) })
	}
	return nil, fmt.Errorf("%w in %s", ErrNotFound, dir)
}
