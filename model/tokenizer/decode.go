package tokenizer

import (
	"fmt"
	"strings"
)

// Decode turns ids back into text like HF tokenizer.decode: optionally drop
// special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]), join WordPiece pieces
// (a piece starting with the continuation prefix is glued to the previous
// one, others are separated by a space), then clean_up_tokenization_spaces
// unless Config.NoCleanupSpaces. Decoding is lossy by design: case, accents
// and the spacing around punctuation are not restored.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) (string, error) {
	var b strings.Builder
	first := true
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.idToToken) || !t.present[id] {
			return "", fmt.Errorf("%w: %d", ErrUnknownID, id)
		}
		if skipSpecial && t.special[id] {
			continue
		}
		tok := t.idToToken[id]
		if !first {
			if rest, ok := strings.CutPrefix(tok, t.cfg.ContinuingSubwordPrefix); ok {
				tok = rest
			} else {
				b.WriteByte(' ')
			}
		}
		first = false
		b.WriteString(tok)
	}
	if t.cfg.NoCleanupSpaces {
		return b.String(), nil
	}
	return CleanupSpaces(b.String()), nil
}

// BatchDecode decodes each row of ids; the error names the failing row.
func (t *Tokenizer) BatchDecode(ids [][]int32, skipSpecial bool) ([]string, error) {
	out := make([]string, len(ids))
	for i, row := range ids {
		s, err := t.Decode(row, skipSpecial)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: row %d: %w", i, err)
		}
		out[i] = s
	}
	return out, nil
}

// cleanupReplacer is HF clean_up_tokenization, whose replacements run one
// after the other over the whole string.
var cleanupPairs = [][2]string{
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
	{" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
}

// CleanupSpaces is HF PreTrainedTokenizerBase.clean_up_tokenization: it
// removes the space before . ? ! , and English contractions.
func CleanupSpaces(s string) string {
	for _, p := range cleanupPairs {
		if strings.Contains(s, p[0]) {
			s = strings.ReplaceAll(s, p[0], p[1])
		}
	}
	return s
}
