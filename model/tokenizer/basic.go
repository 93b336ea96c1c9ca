package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// scratch holds the per-call buffers of the hot path (pooled).
type scratch struct {
	word  []byte // current raw word
	low   []byte // lowercased word (slow path)
	nfd   []byte // normalized word (slow path)
	piece []byte // current punctuation-delimited piece
	ids   []int32
	ids2  []int32
}

// asciiClass classifies ASCII bytes for the fast path.
const (
	acWord  = iota // letter, digit: part of a word
	acSpace        // word separator
	acPunct        // split into its own word
	acCtrl         // dropped by clean_text
)

var asciiClass [128]uint8

func init() {
	for c := 0; c < 128; c++ {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			asciiClass[c] = acSpace
		case c < 0x20 || c == 0x7f:
			asciiClass[c] = acCtrl
		case (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126):
			asciiClass[c] = acPunct
		default:
			asciiClass[c] = acWord
		}
	}
}

// isPySpace is Python's str.isspace (what str.split() splits on): White_Space
// plus the information separators U+001C..U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// isControl is the BertNormalizer control test: categories Cc, Cf, Co, Cs,
// except \t \n \r. Unassigned code points (Cn) are kept, as the Rust
// normalizer (BertTokenizerFast) keeps them; HF's Python tokenizer drops them.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isPunct is HF _is_punctuation: the four ASCII symbol ranges plus category P*.
func isPunct(r rune) bool {
	if r < 128 {
		return asciiClass[r] == acPunct
	}
	return unicode.In(r, unicode.P)
}

// isChinese is the BertNormalizer CJK test (CJK Unified Ideographs blocks).
// The Rust normalizer of BertTokenizerFast starts Extension E at U+2B920
// where the Python tokenizer starts it at U+2B820; the fast one is followed,
// so U+2B820..U+2B91F stay inside words.
func isChinese(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// appendLower appends the lowercase of word, code point by code point, as
// both HF implementations do (the slow one lowercases each character through
// a regex before its basic tokenizer; the Rust normalizer maps each char):
// full mapping (U+0130 → "i\u0307"), and no Final_Sigma rule, so Σ is always σ.
func appendLower(dst []byte, word []byte) []byte {
	for i := 0; i < len(word); {
		c := word[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(word[i:])
		i += n
		if r == 0x130 {
			dst = append(dst, 'i', 0xCC, 0x87)
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}

// tokenizeText appends the WordPiece ids of text (no special tokens added) to
// dst. Added tokens found verbatim in text are emitted as their ids.
func (t *Tokenizer) tokenizeText(dst []int32, text string, s *scratch) ([]int32, error) {
	if !utf8.ValidString(text) {
		return dst, ErrInvalidUTF8
	}
	for len(text) > 0 {
		pos, tok := t.findAdded(text)
		if pos < 0 {
			return t.basic(dst, text, s), nil
		}
		dst = t.basic(dst, text[:pos], s)
		dst = append(dst, t.addedIDs[tok])
		text = text[pos+len(tok):]
	}
	return dst, nil
}

// findAdded returns the leftmost position of an added token in text (the
// longest one there), or -1.
func (t *Tokenizer) findAdded(text string) (int, string) {
	for i := 0; i < len(text); i++ {
		if !t.addedFirst[text[i]] {
			continue
		}
		for _, tok := range t.added {
			if len(text)-i >= len(tok) && text[i:i+len(tok)] == tok {
				return i, tok
			}
		}
	}
	return -1, ""
}

// basic runs HF BasicTokenizer + WordPiece over text (valid UTF-8, no added
// tokens) and appends the ids to dst.
func (t *Tokenizer) basic(dst []int32, text string, s *scratch) []int32 {
	clean := !t.cfg.NoCleanText
	chinese := !t.cfg.NoChineseChars
	word := s.word[:0]
	ascii := true
	flush := func() {
		if len(word) > 0 {
			if ascii {
				dst = t.asciiWord(dst, word, s)
			} else {
				dst = t.unicodeWord(dst, word, s)
			}
		}
		word = word[:0]
		ascii = true
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch asciiClass[c] {
			case acSpace:
				flush()
				continue
			case acCtrl:
				if clean {
					continue
				}
				if c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f) {
					flush()
					continue
				}
			}
			word = append(word, c)
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		switch {
		case clean && (r == utf8.RuneError || isControl(r)):
			continue
		case isPySpace(r):
			flush()
			continue
		case chinese && isChinese(r):
			flush()
			word = append(word, text[i-n:i]...)
			ascii = false
			flush()
			continue
		}
		word = append(word, text[i-n:i]...)
		ascii = false
	}
	flush()
	s.word = word
	return dst
}

// asciiWord handles a whitespace-delimited all-ASCII word: lowercase, split on
// punctuation, WordPiece each piece.
func (t *Tokenizer) asciiWord(dst []int32, word []byte, s *scratch) []int32 {
	lower := t.cfg.lowercase()
	piece := s.piece[:0]
	for i, c := range word {
		if asciiClass[c] == acPunct {
			if len(piece) > 0 {
				dst = t.wordpiece(dst, piece)
				piece = piece[:0]
			}
			dst = t.wordpiece(dst, word[i:i+1])
			continue
		}
		if lower && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		piece = append(piece, c)
	}
	if len(piece) > 0 {
		dst = t.wordpiece(dst, piece)
	}
	s.piece = piece
	return dst
}

// unicodeWord handles a word holding non-ASCII text: lowercase, NFD and
// Mn stripping (or NFC when neither lowercasing nor stripping, as HF's
// BasicTokenizer normalizes to NFC first), punctuation split, WordPiece.
func (t *Tokenizer) unicodeWord(dst []int32, word []byte, s *scratch) []int32 {
	w := word
	if t.cfg.lowercase() {
		s.low = appendLower(s.low[:0], w)
		w = s.low
	}
	if t.cfg.stripAccents() {
		s.nfd = norm.NFD.Append(s.nfd[:0], w...)
		out := s.nfd[:0]
		for i := 0; i < len(s.nfd); {
			r, n := utf8.DecodeRune(s.nfd[i:])
			if !unicode.Is(unicode.Mn, r) {
				out = append(out, s.nfd[i:i+n]...)
			}
			i += n
		}
		s.nfd = out
		w = out
	} else if !t.cfg.lowercase() {
		s.nfd = norm.NFC.Append(s.nfd[:0], w...)
		w = s.nfd
	}
	piece := s.piece[:0]
	for i := 0; i < len(w); {
		r, n := utf8.DecodeRune(w[i:])
		if isPunct(r) {
			if len(piece) > 0 {
				dst = t.wordpiece(dst, piece)
				piece = piece[:0]
			}
			dst = t.wordpiece(dst, w[i:i+n])
		} else {
			piece = append(piece, w[i:i+n]...)
		}
		i += n
	}
	if len(piece) > 0 {
		dst = t.wordpiece(dst, piece)
	}
	s.piece = piece
	return dst
}

// wordpiece appends the greedy longest-match-first WordPiece ids of one word
// (HF WordpieceTokenizer): the whole word becomes [UNK] when it is longer than
// MaxInputCharsPerWord code points or when some remainder matches nothing.
func (t *Tokenizer) wordpiece(dst []int32, p []byte) []int32 {
	if len(p) > t.cfg.MaxInputCharsPerWord && utf8.RuneCount(p) > t.cfg.MaxInputCharsPerWord {
		return append(dst, t.unk)
	}
	mark := len(dst)
	for start := 0; start < len(p); {
		m, limit := t.vocab, t.maxWordBytes
		if start > 0 {
			m, limit = t.cont, t.maxContBytes
		}
		end := len(p)
		if end-start > limit {
			end = start + limit
			for end > start && !utf8.RuneStart(p[end]) {
				end--
			}
		}
		found := false
		for end > start {
			if id, ok := m[string(p[start:end])]; ok {
				dst = append(dst, id)
				found = true
				break
			}
			end--
			for end > start && !utf8.RuneStart(p[end]) {
				end--
			}
		}
		if !found {
			return append(dst[:mark], t.unk)
		}
		start = end
	}
	return dst
}
