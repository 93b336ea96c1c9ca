package tokenizer

import (
	"errors"
	"fmt"
)

// Sentinel errors; every returned error wraps one of them.
var (
	// ErrInvalidUTF8 reports text that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("tokenizer: text is not valid UTF-8")
	// ErrMalformed reports a vocab.txt / tokenizer.json / tokenizer_config.json
	// that cannot be parsed or is inconsistent.
	ErrMalformed = errors.New("tokenizer: malformed tokenizer file")
	// ErrUnsupported reports a well-formed file this package does not
	// implement (a BPE model, an unknown normalizer, ...).
	ErrUnsupported = errors.New("tokenizer: unsupported tokenizer")
	// ErrInvalidConfig reports a bad Config or EncodeOptions field.
	ErrInvalidConfig = errors.New("tokenizer: invalid configuration")
	// ErrUnknownID reports a token id with no vocabulary entry.
	ErrUnknownID = errors.New("tokenizer: token id not in vocabulary")
	// ErrNotFound reports a model directory without tokenizer files.
	ErrNotFound = errors.New("tokenizer: no tokenizer.json or vocab.txt")
)

// AccentMode selects accent stripping (HF strip_accents).
type AccentMode uint8

const (
	// AccentsAuto strips accents exactly when lowercasing (HF strip_accents=None).
	AccentsAuto AccentMode = iota
	// AccentsStrip always strips (HF strip_accents=True).
	AccentsStrip
	// AccentsKeep never strips (HF strip_accents=False).
	AccentsKeep
)

// Config describes the normalizer, the WordPiece model and the special
// tokens. The zero value is bert-base-uncased's configuration.
type Config struct {
	// KeepCase turns lowercasing off (HF do_lower_case=False). Default false:
	// lowercase.
	KeepCase bool
	// Accents selects accent stripping. Default AccentsAuto.
	Accents AccentMode
	// NoCleanText keeps control characters (HF clean_text=False). Default
	// false: drop U+0000, U+FFFD and category C* characters (except \t \n \r),
	// turn Zs/\t/\n/\r into spaces.
	NoCleanText bool
	// NoChineseChars stops isolating CJK ideographs as words (HF
	// tokenize_chinese_chars=False). Default false: isolate them.
	NoChineseChars bool
	// NoCleanupSpaces turns off clean_up_tokenization_spaces in Decode
	// (" ." → "." and friends). Default false: clean up, as bert-base-uncased.
	NoCleanupSpaces bool
	// ContinuingSubwordPrefix marks non-initial WordPiece pieces. Default "##".
	ContinuingSubwordPrefix string
	// MaxInputCharsPerWord: longer words (in code points) become UnkToken.
	// Default 100.
	MaxInputCharsPerWord int
	// UnkToken, CLSToken, SEPToken, PadToken, MaskToken name the special
	// tokens; each must be in the vocabulary. Defaults "[UNK]", "[CLS]",
	// "[SEP]", "[PAD]", "[MASK]".
	UnkToken, CLSToken, SEPToken, PadToken, MaskToken string
	// ModelMaxLength is the longest sequence the model accepts (HF
	// model_max_length), informational. Default 512.
	ModelMaxLength int
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.ContinuingSubwordPrefix == "" {
		c.ContinuingSubwordPrefix = "##"
	}
	if c.MaxInputCharsPerWord == 0 {
		c.MaxInputCharsPerWord = 100
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.UnkToken, "[UNK]")
	def(&c.CLSToken, "[CLS]")
	def(&c.SEPToken, "[SEP]")
	def(&c.PadToken, "[PAD]")
	def(&c.MaskToken, "[MASK]")
	if c.ModelMaxLength == 0 {
		c.ModelMaxLength = 512
	}
	return c
}

// Validate reports the first bad field.
func (c Config) Validate() error {
	if c.Accents > AccentsKeep {
		return fmt.Errorf("%w: Config.Accents = %d", ErrInvalidConfig, c.Accents)
	}
	if c.MaxInputCharsPerWord < 0 {
		return fmt.Errorf("%w: Config.MaxInputCharsPerWord = %d < 0", ErrInvalidConfig, c.MaxInputCharsPerWord)
	}
	if c.ModelMaxLength < 0 {
		return fmt.Errorf("%w: Config.ModelMaxLength = %d < 0", ErrInvalidConfig, c.ModelMaxLength)
	}
	return nil
}

func (c Config) lowercase() bool { return !c.KeepCase }

func (c Config) stripAccents() bool {
	switch c.Accents {
	case AccentsStrip:
		return true
	case AccentsKeep:
		return false
	}
	return !c.KeepCase
}

// Padding selects how encodings are padded (always on the right).
type Padding uint8

const (
	// PadMaxLength pads every sequence to EncodeOptions.MaxLength (HF
	// padding="max_length"), the FLAVA default.
	PadMaxLength Padding = iota
	// PadLongest pads to the longest sequence of the batch (HF padding=True).
	PadLongest
	// PadNone does not pad.
	PadNone
)

// Truncation selects how over-long inputs are shortened to MaxLength.
type Truncation uint8

const (
	// TruncLongestFirst shortens the longer sequence first, as
	// BertTokenizerFast's truncation=True / "longest_first": both end up with
	// half the room when both are long, the second taking an odd token.
	TruncLongestFirst Truncation = iota
	// TruncNone keeps every token.
	TruncNone
)

// DefaultMaxLength is FLAVA's text length (FlavaProcessor is called with
// padding="max_length", max_length=77).
const DefaultMaxLength = 77

// EncodeOptions control special tokens, truncation and padding. The zero
// value is FLAVA's call: max_length=77, padding="max_length", truncation=True.
type EncodeOptions struct {
	// MaxLength is the target length including special tokens. Default 77.
	// When set it must be at least 3 ([CLS] A [SEP] B [SEP] needs three).
	MaxLength int
	// Padding defaults to PadMaxLength.
	Padding Padding
	// Truncation defaults to TruncLongestFirst.
	Truncation Truncation
}

// Validate reports the first bad field.
func (o EncodeOptions) Validate() error {
	if o.MaxLength != 0 && o.MaxLength < 3 {
		return fmt.Errorf("%w: EncodeOptions.MaxLength = %d (want 0 for %d, or >= 3)", ErrInvalidConfig, o.MaxLength, DefaultMaxLength)
	}
	if o.Padding > PadNone {
		return fmt.Errorf("%w: EncodeOptions.Padding = %d", ErrInvalidConfig, o.Padding)
	}
	if o.Truncation > TruncNone {
		return fmt.Errorf("%w: EncodeOptions.Truncation = %d", ErrInvalidConfig, o.Truncation)
	}
	return nil
}

func (o EncodeOptions) maxLength() int {
	if o.MaxLength == 0 {
		return DefaultMaxLength
	}
	return o.MaxLength
}
