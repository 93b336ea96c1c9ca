package tokenizer

import "fmt"

// Encoding is one tokenized input, laid out as the model takes it.
type Encoding struct {
	// IDs are the token ids: [CLS] A [SEP] (B [SEP]) then padding.
	IDs []int32
	// TypeIDs are 0 for [CLS] A [SEP], 1 for B [SEP], 0 for padding.
	TypeIDs []int32
	// AttentionMask is 1 for real tokens, 0 for padding.
	AttentionMask []int32
	// Tokens are the token strings of IDs (shared with the vocabulary).
	Tokens []string
	// Truncated reports that tokens were dropped to fit MaxLength.
	Truncated bool
}

// Len returns the number of positions (padding included).
func (e *Encoding) Len() int { return len(e.IDs) }

// AppendIDs appends the token ids of text without special tokens (HF
// tokenizer.encode(text, add_special_tokens=False)) to dst. It allocates only
// when dst must grow.
func (t *Tokenizer) AppendIDs(dst []int32, text string) ([]int32, error) {
	s := t.scratch.Get().(*scratch)
	defer t.scratch.Put(s)
	return t.tokenizeText(dst, text, s)
}

// Tokenize returns the tokens of text without special tokens and without
// truncation (HF tokenizer.tokenize(text)).
func (t *Tokenizer) Tokenize(text string) ([]string, error) {
	s := t.scratch.Get().(*scratch)
	defer t.scratch.Put(s)
	ids, err := t.tokenizeText(s.ids[:0], text, s)
	s.ids = ids
	if err != nil {
		return nil, err
	}
	toks := make([]string, len(ids))
	for i, id := range ids {
		toks[i] = t.idToToken[id]
	}
	return toks, nil
}

// Encode tokenizes one text into [CLS] text [SEP], truncated and padded as
// opts says. Empty text gives [CLS] [SEP] (plus padding), as in HF.
func (t *Tokenizer) Encode(text string, opts EncodeOptions) (Encoding, error) {
	if err := opts.Validate(); err != nil {
		return Encoding{}, err
	}
	var e Encoding
	if err := t.encode(&e, text, "", false, opts); err != nil {
		return Encoding{}, err
	}
	t.padTo(&e, opts, opts.maxLength())
	return e, nil
}

// EncodePair tokenizes a text pair into [CLS] a [SEP] b [SEP] with token
// types 0…0 1…1, truncated (longest_first) and padded as opts says.
func (t *Tokenizer) EncodePair(a, b string, opts EncodeOptions) (Encoding, error) {
	if err := opts.Validate(); err != nil {
		return Encoding{}, err
	}
	var e Encoding
	if err := t.encode(&e, a, b, true, opts); err != nil {
		return Encoding{}, err
	}
	t.padTo(&e, opts, opts.maxLength())
	return e, nil
}

// EncodeBatch encodes texts, or text pairs when pairs is non-nil (then it
// must have len(texts) entries). With PadLongest every encoding is padded to
// the longest of the batch. The error names the first failing index.
func (t *Tokenizer) EncodeBatch(texts, pairs []string, opts EncodeOptions) ([]Encoding, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if pairs != nil && len(pairs) != len(texts) {
		return nil, fmt.Errorf("%w: %d texts but %d pair texts", ErrInvalidConfig, len(texts), len(pairs))
	}
	out := make([]Encoding, len(texts))
	longest := 0
	for i, text := range texts {
		var b string
		if pairs != nil {
			b = pairs[i]
		}
		if err := t.encode(&out[i], text, b, pairs != nil, opts); err != nil {
			return nil, fmt.Errorf("tokenizer: batch item %d: %w", i, err)
		}
		longest = max(longest, len(out[i].IDs))
	}
	target := opts.maxLength()
	if opts.Padding == PadLongest {
		target = longest
	}
	for i := range out {
		t.padTo(&out[i], opts, target)
	}
	return out, nil
}

// encode fills e with the unpadded, truncated encoding of a (and b).
func (t *Tokenizer) encode(e *Encoding, a, b string, pair bool, opts EncodeOptions) error {
	s := t.scratch.Get().(*scratch)
	defer t.scratch.Put(s)
	ida, err := t.tokenizeText(s.ids[:0], a, s)
	s.ids = ida
	if err != nil {
		return err
	}
	var idb []int32
	if pair {
		idb, err = t.tokenizeText(s.ids2[:0], b, s)
		s.ids2 = idb
		if err != nil {
			return err
		}
	}
	specials := 2
	if pair {
		specials = 3
	}
	if opts.Truncation == TruncLongestFirst {
		maxLen := opts.maxLength()
		if remove := len(ida) + len(idb) + specials - maxLen; remove > 0 {
			e.Truncated = true
			if !pair {
				ida = ida[:len(ida)-remove]
			} else {
				// longest_first as BertTokenizerFast (tokenizers'
				// truncate_encodings): the shorter keeps min(len, room/2)
				// or more when the other leaves room; an odd token of room
				// goes to the second sequence on ties. For an even room this
				// equals HF Python's one-token-at-a-time loop; for an odd
				// room the Python loop gives the extra token to the first.
				room := maxLen - specials
				la, lb := len(ida), len(idb)
				n1, n2, swap := la, lb, la > lb
				if swap {
					n1, n2 = lb, la
				}
				if n1 > room {
					n2 = n1
				} else {
					n2 = max(n1, room-n1)
				}
				if n1+n2 > room {
					n1 = room / 2
					n2 = n1 + room%2
				}
				if swap {
					n1, n2 = n2, n1
				}
				la, lb = min(la, n1), min(lb, n2)
				ida, idb = ida[:la], idb[:lb]
			}
		}
	}
	n := len(ida) + len(idb) + specials
	capacity := n
	if opts.Padding == PadMaxLength {
		capacity = max(n, opts.maxLength())
	}
	e.IDs = make([]int32, 0, capacity)
	e.TypeIDs = make([]int32, n, capacity)
	e.AttentionMask = make([]int32, n, capacity)
	e.IDs = append(e.IDs, t.cls)
	e.IDs = append(e.IDs, ida...)
	e.IDs = append(e.IDs, t.sep)
	if pair {
		e.IDs = append(e.IDs, idb...)
		e.IDs = append(e.IDs, t.sep)
		for i := len(ida) + 2; i < n; i++ {
			e.TypeIDs[i] = 1
		}
	}
	for i := range e.AttentionMask {
		e.AttentionMask[i] = 1
	}
	return nil
}

// padTo pads e on the right to target positions (when padding is on) and
// fills Tokens.
func (t *Tokenizer) padTo(e *Encoding, opts EncodeOptions, target int) {
	if opts.Padding != PadNone {
		for len(e.IDs) < target {
			e.IDs = append(e.IDs, t.pad)
			e.TypeIDs = append(e.TypeIDs, 0)
			e.AttentionMask = append(e.AttentionMask, 0)
		}
	}
	e.Tokens = make([]string, len(e.IDs))
	for i, id := range e.IDs {
		e.Tokens[i] = t.idToToken[id]
	}
}
