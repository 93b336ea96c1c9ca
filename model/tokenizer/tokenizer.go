package tokenizer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// maxVocabSize caps vocabularies read from untrusted files (bert-base has
// 30522 entries; the largest WordPiece vocabularies are ~250k).
const maxVocabSize = 1 << 22

// Tokenizer is an immutable BERT WordPiece tokenizer, safe for concurrent use.
type Tokenizer struct {
	cfg Config

	vocab        map[string]int32 // full token → id
	cont         map[string]int32 // token minus the continuation prefix → id
	maxWordBytes int              // longest key of vocab
	maxContBytes int              // longest key of cont
	idToToken    []string         // id → token ("" for holes)
	present      []bool           // id has a token
	special      []bool           // id is a special token (skipped by Decode, never MLM-masked)
	size         int              // number of distinct ids (HF len(tokenizer))

	added      []string // verbatim-matched tokens, longest first
	addedIDs   map[string]int32
	addedFirst [256]bool

	unk, cls, sep, pad, mask int32

	scratch sync.Pool // *scratch
}

// entry is one vocabulary token with its id.
type entry struct {
	Token string
	ID    int32
}

// AddedToken is a token matched verbatim in the raw text before
// normalization (the specials of bert-base-uncased), as in tokenizer.json's
// added_tokens.
type AddedToken struct {
	Content string
	ID      int32
	Special bool
}

// New builds a tokenizer from vocab (token of id i at index i, as the lines
// of vocab.txt) and cfg. The special tokens of cfg must be in vocab; they are
// also matched verbatim in input text, as HF does with its special tokens.
// A token listed twice keeps its last id for encoding, like HF.
func New(vocab []string, cfg Config) (*Tokenizer, error) {
	entries := make([]entry, len(vocab))
	for i, tok := range vocab {
		entries[i] = entry{tok, int32(i)}
	}
	return build(entries, nil, cfg)
}

// ReadVocab parses vocab.txt: one token per line, id = line number. A final
// newline does not start an extra token; "\r\n" endings are accepted.
func ReadVocab(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	var vocab []string
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			if len(vocab) >= maxVocabSize {
				return nil, fmt.Errorf("%w: vocab.txt has more than %d lines", ErrMalformed, maxVocabSize)
			}
			line = strings.TrimSuffix(line, "\n")
			line = strings.TrimSuffix(line, "\r")
			vocab = append(vocab, line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tokenizer: reading vocab: %w", err)
		}
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("%w: empty vocab.txt", ErrMalformed)
	}
	return vocab, nil
}

// FromVocabTxt builds a tokenizer from the bytes of a vocab.txt.
func FromVocabTxt(data []byte, cfg Config) (*Tokenizer, error) {
	vocab, err := ReadVocab(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return New(vocab, cfg)
}

// build is the common constructor: entries are (token, id) pairs in file
// order (later duplicates win the token→id direction, earlier ids keep their
// token for decoding).
func build(entries []entry, added []AddedToken, cfg Config) (*Tokenizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: empty vocabulary", ErrMalformed)
	}
	maxID := int32(-1)
	for _, e := range entries {
		maxID = max(maxID, e.ID)
	}
	for _, a := range added {
		maxID = max(maxID, a.ID)
	}
	n := len(entries) + len(added)
	if int(maxID) >= 2*n+1024 || int(maxID) >= maxVocabSize {
		return nil, fmt.Errorf("%w: token id %d is far beyond the %d tokens", ErrMalformed, maxID, n)
	}
	t := &Tokenizer{
		cfg:       cfg,
		vocab:     make(map[string]int32, len(entries)),
		cont:      make(map[string]int32),
		idToToken: make([]string, maxID+1),
		present:   make([]bool, maxID+1),
		special:   make([]bool, maxID+1),
		addedIDs:  make(map[string]int32),
	}
	prefix := cfg.ContinuingSubwordPrefix
	for _, e := range entries {
		if e.ID < 0 {
			return nil, fmt.Errorf("%w: negative id %d for %q", ErrMalformed, e.ID, e.Token)
		}
		t.vocab[e.Token] = e.ID
		if !t.present[e.ID] {
			t.present[e.ID] = true
			t.idToToken[e.ID] = e.Token
			t.size++
		}
		t.maxWordBytes = max(t.maxWordBytes, len(e.Token))
		if rest, ok := strings.CutPrefix(e.Token, prefix); ok {
			t.cont[rest] = e.ID
			t.maxContBytes = max(t.maxContBytes, len(rest))
		}
	}
	for _, a := range added {
		if a.ID < 0 || a.Content == "" {
			return nil, fmt.Errorf("%w: added token %q with id %d", ErrMalformed, a.Content, a.ID)
		}
		if !t.present[a.ID] {
			t.present[a.ID] = true
			t.idToToken[a.ID] = a.Content
			t.size++
		} else if t.idToToken[a.ID] != a.Content {
			return nil, fmt.Errorf("%w: added token %q has id %d, which is %q in the vocabulary", ErrMalformed, a.Content, a.ID, t.idToToken[a.ID])
		}
		t.addedIDs[a.Content] = a.ID
		if a.Special {
			t.special[a.ID] = true
		}
	}
	lookup := func(field, tok string) (int32, error) {
		if id, ok := t.addedIDs[tok]; ok {
			return id, nil
		}
		id, ok := t.vocab[tok]
		if !ok {
			return 0, fmt.Errorf("%w: Config.%s %q is not in the vocabulary", ErrMalformed, field, tok)
		}
		return id, nil
	}
	var err error
	for _, s := range []struct {
		field, tok string
		id         *int32
	}{
		{"UnkToken", cfg.UnkToken, &t.unk}, {"CLSToken", cfg.CLSToken, &t.cls}, {"SEPToken", cfg.SEPToken, &t.sep},
		{"PadToken", cfg.PadToken, &t.pad}, {"MaskToken", cfg.MaskToken, &t.mask},
	} {
		if *s.id, err = lookup(s.field, s.tok); err != nil {
			return nil, err
		}
		t.special[*s.id] = true
		t.addedIDs[s.tok] = *s.id
	}
	for tok := range t.addedIDs {
		t.added = append(t.added, tok)
		t.addedFirst[tok[0]] = true
	}
	sort.Slice(t.added, func(i, j int) bool {
		if len(t.added[i]) != len(t.added[j]) {
			return len(t.added[i]) > len(t.added[j])
		}
		return t.added[i] < t.added[j]
	})
	t.scratch.New = func() any { return new(scratch) }
	return t, nil
}

// Config returns the resolved configuration (defaults filled in).
func (t *Tokenizer) Config() Config { return t.cfg }

// VocabSize returns the number of distinct token ids (HF len(tokenizer)),
// the range DataCollatorForLanguageModeling draws random tokens from.
func (t *Tokenizer) VocabSize() int { return t.size }

// IDBound returns one more than the largest token id.
func (t *Tokenizer) IDBound() int { return len(t.idToToken) }

// TokenID returns the id of tok, if it is in the vocabulary.
func (t *Tokenizer) TokenID(tok string) (int32, bool) {
	if id, ok := t.addedIDs[tok]; ok {
		return id, true
	}
	id, ok := t.vocab[tok]
	return id, ok
}

// Token returns the token of id.
func (t *Tokenizer) Token(id int32) (string, error) {
	if id < 0 || int(id) >= len(t.idToToken) || !t.present[id] {
		return "", fmt.Errorf("%w: %d", ErrUnknownID, id)
	}
	return t.idToToken[id], nil
}

// IsSpecial reports whether id is a special token ([CLS], [SEP], [PAD],
// [UNK], [MASK], and added tokens marked special).
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.special) && t.special[id]
}

// Special token ids.
func (t *Tokenizer) UnkID() int32  { return t.unk }
func (t *Tokenizer) CLSID() int32  { return t.cls }
func (t *Tokenizer) SEPID() int32  { return t.sep }
func (t *Tokenizer) PadID() int32  { return t.pad }
func (t *Tokenizer) MaskID() int32 { return t.mask }
