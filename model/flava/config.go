package flava

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/internal/modelfile"
)

// ErrConfig is wrapped by every configuration error: unreadable JSON, a wrong
// model_type, or a value Validate rejects.
var ErrConfig = errors.New("flava: bad config")

// MaxConfigBytes caps the size of a config.json read by LoadConfig; real ones
// are a few kilobytes.
const MaxConfigBytes = 4 << 20

// Model types as transformers writes them in config.json.
const (
	ModelTypeFlava      = "flava"
	ModelTypeImage      = "flava_image_model"
	ModelTypeText       = "flava_text_model"
	ModelTypeMultimodal = "flava_multimodal_model"
	ModelTypeCodebook   = "flava_image_codebook"
)

// Default values of facebook/flava-full (transformers' configuration_flava.py).
const (
	DefaultHiddenSize            = 768
	DefaultNumHiddenLayers       = 12
	DefaultMultimodalLayers      = 6
	DefaultNumAttentionHeads     = 12
	DefaultIntermediateSize      = 3072
	DefaultHiddenAct             = "gelu"
	DefaultLayerNormEps          = 1e-12
	DefaultInitializerRange      = 0.02
	DefaultImageSize             = 224
	DefaultPatchSize             = 16
	DefaultNumChannels           = 3
	DefaultImageVocabSize        = 8192
	DefaultTextVocabSize         = 30522
	DefaultTypeVocabSize         = 2
	DefaultMaxPositionEmbeddings = 512
	DefaultProjectionDim         = 768
	DefaultLogitScaleInitValue   = 2.6592
	DefaultCEIgnoreIndex         = -100
	DefaultCodebookHiddenSize    = 256
	DefaultCodebookGroups        = 4
	DefaultCodebookBlocks        = 2
)

// ImageConfig mirrors transformers' FlavaImageConfig. The zero value is
// flava-full's image encoder: a zero numeric field or a nil pointer means the
// documented default.
type ImageConfig struct {
	ModelType         string  `json:"model_type,omitempty"`         // "flava_image_model" (or "" inside FlavaConfig)
	HiddenSize        int     `json:"hidden_size"`                  // default 768
	NumHiddenLayers   int     `json:"num_hidden_layers"`            // default 12
	NumAttentionHeads int     `json:"num_attention_heads"`          // default 12
	IntermediateSize  int     `json:"intermediate_size"`            // default 3072
	HiddenAct         string  `json:"hidden_act"`                   // default "gelu" (erf); any kernels.Activation name
	LayerNormEps      float64 `json:"layer_norm_eps"`               // default 1e-12
	InitializerRange  float64 `json:"initializer_range"`            // default 0.02 (NewRandom's weight std)
	ImageSize         int     `json:"image_size"`                   // default 224
	PatchSize         int     `json:"patch_size"`                   // default 16
	NumChannels       int     `json:"num_channels"`                 // default 3
	QKVBias           *bool   `json:"qkv_bias"`                     // default true
	MaskToken         *bool   `json:"mask_token"`                   // default true: embeddings.mask_token exists
	VocabSize         int     `json:"vocab_size"`                   // default 8192 (codebook vocabulary, for MIM heads)
	HiddenDropoutProb float64 `json:"hidden_dropout_prob"`          // default 0; unused (inference only)
	AttnDropoutProb   float64 `json:"attention_probs_dropout_prob"` // default 0; unused
}

// TextConfig mirrors transformers' FlavaTextConfig; zero fields mean defaults.
type TextConfig struct {
	ModelType             string  `json:"model_type,omitempty"`              // "flava_text_model"
	VocabSize             int     `json:"vocab_size"`                        // default 30522
	TypeVocabSize         int     `json:"type_vocab_size"`                   // default 2
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`           // default 512
	PositionEmbeddingType string  `json:"position_embedding_type,omitempty"` // default "absolute"; ignored, as in HF
	HiddenSize            int     `json:"hidden_size"`                       // default 768
	NumHiddenLayers       int     `json:"num_hidden_layers"`                 // default 12
	NumAttentionHeads     int     `json:"num_attention_heads"`               // default 12
	IntermediateSize      int     `json:"intermediate_size"`                 // default 3072
	HiddenAct             string  `json:"hidden_act"`                        // default "gelu"
	LayerNormEps          float64 `json:"layer_norm_eps"`                    // default 1e-12
	InitializerRange      float64 `json:"initializer_range"`                 // default 0.02
	PadTokenID            int     `json:"pad_token_id"`                      // default 0
	QKVBias               *bool   `json:"qkv_bias"`                          // default true
	HiddenDropoutProb     float64 `json:"hidden_dropout_prob"`               // default 0; unused
	AttnDropoutProb       float64 `json:"attention_probs_dropout_prob"`      // default 0; unused
}

// MultimodalConfig mirrors transformers' FlavaMultimodalConfig; zero fields
// mean defaults.
type MultimodalConfig struct {
	ModelType         string  `json:"model_type,omitempty"`         // "flava_multimodal_model"
	HiddenSize        int     `json:"hidden_size"`                  // default 768
	NumHiddenLayers   int     `json:"num_hidden_layers"`            // default 6
	NumAttentionHeads int     `json:"num_attention_heads"`          // default 12
	IntermediateSize  int     `json:"intermediate_size"`            // default 3072
	HiddenAct         string  `json:"hidden_act"`                   // default "gelu"
	LayerNormEps      float64 `json:"layer_norm_eps"`               // default 1e-12
	InitializerRange  float64 `json:"initializer_range"`            // default 0.02
	QKVBias           *bool   `json:"qkv_bias"`                     // default true
	UseCLSToken       *bool   `json:"use_cls_token"`                // default true: a learned CLS token is prepended
	HiddenDropoutProb float64 `json:"hidden_dropout_prob"`          // default 0; unused
	AttnDropoutProb   float64 `json:"attention_probs_dropout_prob"` // default 0; unused
}

// CodebookConfig mirrors transformers' FlavaImageCodebookConfig (the DALL-E
// style tokenizer that labels image patches for MIM); zero fields mean
// defaults.
type CodebookConfig struct {
	ModelType         string  `json:"model_type,omitempty"` // "" or "flava_image_codebook"
	NumGroups         int     `json:"num_groups"`           // default 4
	InputChannels     int     `json:"input_channels"`       // default 3
	NumBlocksPerGroup int     `json:"num_blocks_per_group"` // default 2
	HiddenSize        int     `json:"hidden_size"`          // default 256
	VocabSize         int     `json:"vocab_size"`           // default 8192
	Freeze            *bool   `json:"freeze"`               // default true; no effect at inference
	InitializerRange  float64 `json:"initializer_range"`    // default 0.02
}

// Config mirrors transformers' FlavaConfig (model_type "flava"), the config of
// FlavaModel and FlavaForPreTraining. The zero value is flava-full; zero
// numeric fields and nil pointers mean the documented defaults.
type Config struct {
	ModelType                     string           `json:"model_type,omitempty"` // "flava"
	ImageConfig                   ImageConfig      `json:"image_config"`
	TextConfig                    TextConfig       `json:"text_config"`
	MultimodalConfig              MultimodalConfig `json:"multimodal_config"`
	ImageCodebookConfig           CodebookConfig   `json:"image_codebook_config"`
	HiddenSize                    int              `json:"hidden_size"`                      // default 768 (pretraining heads)
	LayerNormEps                  float64          `json:"layer_norm_eps"`                   // default 1e-12 (pretraining heads)
	ProjectionDim                 int              `json:"projection_dim"`                   // default 768
	InitCodebook                  *bool            `json:"init_codebook"`                    // default true
	LogitScaleInitValue           *float64         `json:"logit_scale_init_value"`           // default 2.6592
	InitializerRange              float64          `json:"initializer_range"`                // default 0.02
	InitializerFactor             float64          `json:"initializer_factor"`               // default 1.0
	CEIgnoreIndex                 *int             `json:"ce_ignore_index"`                  // default -100
	MIMWeight                     *float64         `json:"mim_weight"`                       // default 1.0
	MLMWeight                     *float64         `json:"mlm_weight"`                       // default 1.0
	GlobalContrastiveWeight       *float64         `json:"global_contrastive_weight"`        // default 1.0
	ITMWeight                     *float64         `json:"itm_weight"`                       // default 1.0
	MMMImageWeight                *float64         `json:"mmm_image_weight"`                 // default 1.0
	MMMTextWeight                 *float64         `json:"mmm_text_weight"`                  // default 1.0
	GlobalBackpropContrastive     *bool            `json:"global_backprop_contrastive"`      // default true
	SkipUnmaskedMultimodalEncoder *bool            `json:"skip_unmasked_multimodal_encoder"` // default true
	ReturnLoss                    *bool            `json:"return_loss"`                      // default true
}

func defInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

func defFloat(p *float64, def float64) {
	if *p == 0 {
		*p = def
	}
}

func defStr(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func defPtr[T any](p **T, def T) {
	if *p == nil {
		*p = &def
	}
}

// WithDefaults returns c with every unset field given its default.
func (c ImageConfig) WithDefaults() ImageConfig {
	defInt(&c.HiddenSize, DefaultHiddenSize)
	defInt(&c.NumHiddenLayers, DefaultNumHiddenLayers)
	defInt(&c.NumAttentionHeads, DefaultNumAttentionHeads)
	defInt(&c.IntermediateSize, DefaultIntermediateSize)
	defStr(&c.HiddenAct, DefaultHiddenAct)
	defFloat(&c.LayerNormEps, DefaultLayerNormEps)
	defFloat(&c.InitializerRange, DefaultInitializerRange)
	defInt(&c.ImageSize, DefaultImageSize)
	defInt(&c.PatchSize, DefaultPatchSize)
	defInt(&c.NumChannels, DefaultNumChannels)
	defPtr(&c.QKVBias, true)
	defPtr(&c.MaskToken, true)
	defInt(&c.VocabSize, DefaultImageVocabSize)
	return c
}

// WithDefaults returns c with every unset field given its default.
func (c TextConfig) WithDefaults() TextConfig {
	defInt(&c.VocabSize, DefaultTextVocabSize)
	defInt(&c.TypeVocabSize, DefaultTypeVocabSize)
	defInt(&c.MaxPositionEmbeddings, DefaultMaxPositionEmbeddings)
	defStr(&c.PositionEmbeddingType, "absolute")
	defInt(&c.HiddenSize, DefaultHiddenSize)
	defInt(&c.NumHiddenLayers, DefaultNumHiddenLayers)
	defInt(&c.NumAttentionHeads, DefaultNumAttentionHeads)
	defInt(&c.IntermediateSize, DefaultIntermediateSize)
	defStr(&c.HiddenAct, DefaultHiddenAct)
	defFloat(&c.LayerNormEps, DefaultLayerNormEps)
	defFloat(&c.InitializerRange, DefaultInitializerRange)
	defPtr(&c.QKVBias, true)
	return c
}

// WithDefaults returns c with every unset field given its default.
func (c MultimodalConfig) WithDefaults() MultimodalConfig {
	defInt(&c.HiddenSize, DefaultHiddenSize)
	defInt(&c.NumHiddenLayers, DefaultMultimodalLayers)
	defInt(&c.NumAttentionHeads, DefaultNumAttentionHeads)
	defInt(&c.IntermediateSize, DefaultIntermediateSize)
	defStr(&c.HiddenAct, DefaultHiddenAct)
	defFloat(&c.LayerNormEps, DefaultLayerNormEps)
	defFloat(&c.InitializerRange, DefaultInitializerRange)
	defPtr(&c.QKVBias, true)
	defPtr(&c.UseCLSToken, true)
	return c
}

// WithDefaults returns c with every unset field given its default.
func (c CodebookConfig) WithDefaults() CodebookConfig {
	defInt(&c.NumGroups, DefaultCodebookGroups)
	defInt(&c.InputChannels, DefaultNumChannels)
	defInt(&c.NumBlocksPerGroup, DefaultCodebookBlocks)
	defInt(&c.HiddenSize, DefaultCodebookHiddenSize)
	defInt(&c.VocabSize, DefaultImageVocabSize)
	defPtr(&c.Freeze, true)
	defFloat(&c.InitializerRange, DefaultInitializerRange)
	return c
}

// WithDefaults returns c, and its sub-configs, with every unset field given
// its default.
func (c Config) WithDefaults() Config {
	defStr(&c.ModelType, ModelTypeFlava)
	c.ImageConfig = c.ImageConfig.WithDefaults()
	c.TextConfig = c.TextConfig.WithDefaults()
	c.MultimodalConfig = c.MultimodalConfig.WithDefaults()
	c.ImageCodebookConfig = c.ImageCodebookConfig.WithDefaults()
	defInt(&c.HiddenSize, DefaultHiddenSize)
	defFloat(&c.LayerNormEps, DefaultLayerNormEps)
	defInt(&c.ProjectionDim, DefaultProjectionDim)
	defPtr(&c.InitCodebook, true)
	defPtr(&c.LogitScaleInitValue, DefaultLogitScaleInitValue)
	defFloat(&c.InitializerRange, DefaultInitializerRange)
	defFloat(&c.InitializerFactor, 1.0)
	defPtr(&c.CEIgnoreIndex, DefaultCEIgnoreIndex)
	for _, w := range []**float64{&c.MIMWeight, &c.MLMWeight, &c.GlobalContrastiveWeight, &c.ITMWeight, &c.MMMImageWeight, &c.MMMTextWeight} {
		defPtr(w, 1.0)
	}
	defPtr(&c.GlobalBackpropContrastive, true)
	defPtr(&c.SkipUnmaskedMultimodalEncoder, true)
	defPtr(&c.ReturnLoss, true)
	return c
}

// DefaultConfig returns facebook/flava-full's configuration with every field
// set.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// Float returns *p, or def when p is nil (for the pointer fields of configs).
func Float(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// HasQKVBias reports whether query/key/value projections have biases.
func (c ImageConfig) HasQKVBias() bool { return boolOr(c.QKVBias, true) }

// HasMaskToken reports whether embeddings.mask_token exists.
func (c ImageConfig) HasMaskToken() bool { return boolOr(c.MaskToken, true) }

// HasQKVBias reports whether query/key/value projections have biases.
func (c TextConfig) HasQKVBias() bool { return boolOr(c.QKVBias, true) }

// HasQKVBias reports whether query/key/value projections have biases.
func (c MultimodalConfig) HasQKVBias() bool { return boolOr(c.QKVBias, true) }

// HasCLSToken reports whether a learned CLS token is prepended.
func (c MultimodalConfig) HasCLSToken() bool { return boolOr(c.UseCLSToken, true) }

// NumPatches is (image_size/patch_size)², the patch count at the configured
// resolution.
func (c ImageConfig) NumPatches() int {
	c = c.WithDefaults()
	g := c.ImageSize / c.PatchSize
	return g * g
}

func fieldErr(prefix, field string, format string, args ...any) error {
	return fmt.Errorf("%w: %s%s %s", ErrConfig, prefix, field, fmt.Sprintf(format, args...))
}

// encoderFields are the fields every FLAVA transformer encoder shares.
type encoderFields struct {
	hidden, layers, heads, inter int
	act                          string
	eps                          float64
}

func (e encoderFields) validate(prefix string) error {
	if e.hidden <= 0 {
		return fieldErr(prefix, "hidden_size", "= %d, must be positive", e.hidden)
	}
	if e.layers < 0 {
		return fieldErr(prefix, "num_hidden_layers", "= %d, must not be negative", e.layers)
	}
	if e.heads <= 0 {
		return fieldErr(prefix, "num_attention_heads", "= %d, must be positive", e.heads)
	}
	if e.hidden%e.heads != 0 {
		return fieldErr(prefix, "hidden_size", "= %d is not a multiple of num_attention_heads = %d", e.hidden, e.heads)
	}
	if e.inter <= 0 {
		return fieldErr(prefix, "intermediate_size", "= %d, must be positive", e.inter)
	}
	if _, err := kernels.ParseActivation(e.act); err != nil {
		return fieldErr(prefix, "hidden_act", "= %q is not supported: %v", e.act, err)
	}
	if !(e.eps > 0) || e.eps > 1 {
		return fieldErr(prefix, "layer_norm_eps", "= %g, must be in (0, 1]", e.eps)
	}
	return nil
}

// Validate checks c (after defaults) and names the first bad field.
func (c ImageConfig) Validate() error { return c.validate("") }

func (c ImageConfig) validate(prefix string) error {
	c = c.WithDefaults()
	if err := (encoderFields{c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.HiddenAct, c.LayerNormEps}).validate(prefix); err != nil {
		return err
	}
	switch {
	case c.ImageSize <= 0:
		return fieldErr(prefix, "image_size", "= %d, must be positive", c.ImageSize)
	case c.PatchSize <= 0:
		return fieldErr(prefix, "patch_size", "= %d, must be positive", c.PatchSize)
	case c.ImageSize%c.PatchSize != 0:
		return fieldErr(prefix, "image_size", "= %d is not a multiple of patch_size = %d", c.ImageSize, c.PatchSize)
	case c.NumChannels <= 0:
		return fieldErr(prefix, "num_channels", "= %d, must be positive", c.NumChannels)
	case c.VocabSize <= 0:
		return fieldErr(prefix, "vocab_size", "= %d, must be positive", c.VocabSize)
	}
	return nil
}

// Validate checks c (after defaults) and names the first bad field.
func (c TextConfig) Validate() error { return c.validate("") }

func (c TextConfig) validate(prefix string) error {
	c = c.WithDefaults()
	if err := (encoderFields{c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.HiddenAct, c.LayerNormEps}).validate(prefix); err != nil {
		return err
	}
	switch {
	case c.VocabSize <= 0:
		return fieldErr(prefix, "vocab_size", "= %d, must be positive", c.VocabSize)
	case c.TypeVocabSize <= 0:
		return fieldErr(prefix, "type_vocab_size", "= %d, must be positive", c.TypeVocabSize)
	case c.MaxPositionEmbeddings <= 0:
		return fieldErr(prefix, "max_position_embeddings", "= %d, must be positive", c.MaxPositionEmbeddings)
	case c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize:
		return fieldErr(prefix, "pad_token_id", "= %d is outside the vocabulary [0, %d)", c.PadTokenID, c.VocabSize)
	}
	return nil
}

// Validate checks c (after defaults) and names the first bad field.
func (c MultimodalConfig) Validate() error { return c.validate("") }

func (c MultimodalConfig) validate(prefix string) error {
	c = c.WithDefaults()
	return encoderFields{c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.HiddenAct, c.LayerNormEps}.validate(prefix)
}

// Validate checks c (after defaults) and names the first bad field.
func (c CodebookConfig) Validate() error { return c.validate("") }

func (c CodebookConfig) validate(prefix string) error {
	c = c.WithDefaults()
	switch {
	case c.NumGroups <= 0:
		return fieldErr(prefix, "num_groups", "= %d, must be positive", c.NumGroups)
	case c.InputChannels <= 0:
		return fieldErr(prefix, "input_channels", "= %d, must be positive", c.InputChannels)
	case c.NumBlocksPerGroup <= 0:
		return fieldErr(prefix, "num_blocks_per_group", "= %d, must be positive", c.NumBlocksPerGroup)
	case c.HiddenSize <= 0:
		return fieldErr(prefix, "hidden_size", "= %d, must be positive", c.HiddenSize)
	case c.VocabSize <= 0:
		return fieldErr(prefix, "vocab_size", "= %d, must be positive", c.VocabSize)
	}
	return nil
}

// Validate checks c and its sub-configs (after defaults) and names the first
// bad field, e.g. "text_config.hidden_size".
func (c Config) Validate() error {
	c = c.WithDefaults()
	if err := c.ImageConfig.validate("image_config."); err != nil {
		return err
	}
	if err := c.TextConfig.validate("text_config."); err != nil {
		return err
	}
	if err := c.MultimodalConfig.validate("multimodal_config."); err != nil {
		return err
	}
	if err := c.ImageCodebookConfig.validate("image_codebook_config."); err != nil {
		return err
	}
	switch {
	case c.HiddenSize <= 0:
		return fieldErr("", "hidden_size", "= %d, must be positive", c.HiddenSize)
	case c.ProjectionDim <= 0:
		return fieldErr("", "projection_dim", "= %d, must be positive", c.ProjectionDim)
	case !(c.LayerNormEps > 0) || c.LayerNormEps > 1:
		return fieldErr("", "layer_norm_eps", "= %g, must be in (0, 1]", c.LayerNormEps)
	}
	return nil
}

// decodeStrict decodes one JSON object into v, reporting type errors. Unknown
// keys are ignored, as transformers keeps them as plain attributes.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return nil
}

// peekModelType reads the "model_type" key of a JSON object.
func peekModelType(data []byte) (string, error) {
	var probe struct {
		ModelType string `json:"model_type"`
	}
	if err := decodeJSON(data, &probe); err != nil {
		return "", err
	}
	return probe.ModelType, nil
}

// ParseConfig decodes a FlavaConfig config.json (model_type "flava"; an absent
// model_type is accepted). Missing keys take the defaults of flava-full,
// unknown keys are ignored, and the legacy *_config_dict keys of older
// transformers override the matching *_config as in HF. The result has every
// field set and has been validated.
func ParseConfig(data []byte) (Config, error) {
	mt, err := peekModelType(data)
	if err != nil {
		return Config{}, err
	}
	if mt != "" && mt != ModelTypeFlava {
		return Config{}, fmt.Errorf("%w: model_type %q is not %q", ErrConfig, mt, ModelTypeFlava)
	}
	var c Config
	if err := decodeJSON(data, &c); err != nil {
		return Config{}, err
	}
	// Legacy keys: transformers builds the sub-config from *_config_dict alone
	// (defaults included) and lets it override *_config.
	var legacy struct {
		Text       json.RawMessage `json:"text_config_dict"`
		Image      json.RawMessage `json:"image_config_dict"`
		Multimodal json.RawMessage `json:"multimodal_config_dict"`
		Codebook   json.RawMessage `json:"image_codebook_config_dict"`
	}
	if err := decodeJSON(data, &legacy); err != nil {
		return Config{}, err
	}
	for _, l := range []struct {
		raw json.RawMessage
		dst any
	}{
		{legacy.Text, &c.TextConfig}, {legacy.Image, &c.ImageConfig},
		{legacy.Multimodal, &c.MultimodalConfig}, {legacy.Codebook, &c.ImageCodebookConfig},
	} {
		if len(l.raw) == 0 || string(l.raw) == "null" {
			continue
		}
		if err := resetAndDecode(l.raw, l.dst); err != nil {
			return Config{}, err
		}
	}
	c = c.WithDefaults()
	return c, c.Validate()
}

// resetAndDecode zeroes *dst (keeping only what raw says) and decodes raw.
func resetAndDecode(raw []byte, dst any) error {
	switch d := dst.(type) {
	case *TextConfig:
		*d = TextConfig{}
	case *ImageConfig:
		*d = ImageConfig{}
	case *MultimodalConfig:
		*d = MultimodalConfig{}
	case *CodebookConfig:
		*d = CodebookConfig{}
	default:
		panic(fmt.Sprintf("flava: resetAndDecode of %T", dst))
	}
	return decodeJSON(raw, dst)
}

// parseSub decodes a sub-config either standalone (model_type want, or absent)
// or from the key of a full FlavaConfig, as transformers' from_pretrained does
// through base_config_key.
func parseSub(data []byte, want string, accept []string, fromFull func(Config) any, dst any) error {
	mt, err := peekModelType(data)
	if err != nil {
		return err
	}
	if mt == ModelTypeFlava {
		full, err := ParseConfig(data)
		if err != nil {
			return err
		}
		switch d := dst.(type) {
		case *ImageConfig:
			*d = fromFull(full).(ImageConfig)
		case *TextConfig:
			*d = fromFull(full).(TextConfig)
		case *MultimodalConfig:
			*d = fromFull(full).(MultimodalConfig)
		case *CodebookConfig:
			*d = fromFull(full).(CodebookConfig)
		}
		return nil
	}
	ok := mt == "" || mt == want
	for _, a := range accept {
		ok = ok || mt == a
	}
	if !ok {
		return fmt.Errorf("%w: model_type %q is not %q", ErrConfig, mt, want)
	}
	return decodeJSON(data, dst)
}

// ParseImageConfig decodes a FlavaImageConfig (model_type "flava_image_model")
// or takes image_config out of a full FlavaConfig; the result has defaults
// filled in and is validated.
func ParseImageConfig(data []byte) (ImageConfig, error) {
	var c ImageConfig
	if err := parseSub(data, ModelTypeImage, nil, func(f Config) any { return f.ImageConfig }, &c); err != nil {
		return ImageConfig{}, err
	}
	c = c.WithDefaults()
	return c, c.Validate()
}

// ParseTextConfig decodes a FlavaTextConfig (model_type "flava_text_model")
// or takes text_config out of a full FlavaConfig.
func ParseTextConfig(data []byte) (TextConfig, error) {
	var c TextConfig
	if err := parseSub(data, ModelTypeText, nil, func(f Config) any { return f.TextConfig }, &c); err != nil {
		return TextConfig{}, err
	}
	c = c.WithDefaults()
	return c, c.Validate()
}

// ParseMultimodalConfig decodes a FlavaMultimodalConfig (model_type
// "flava_multimodal_model") or takes multimodal_config out of a FlavaConfig.
func ParseMultimodalConfig(data []byte) (MultimodalConfig, error) {
	var c MultimodalConfig
	if err := parseSub(data, ModelTypeMultimodal, nil, func(f Config) any { return f.MultimodalConfig }, &c); err != nil {
		return MultimodalConfig{}, err
	}
	c = c.WithDefaults()
	return c, c.Validate()
}

// ParseCodebookConfig decodes a FlavaImageCodebookConfig (model_type
// "flava_image_codebook" or "", as facebook/flava-image-codebook writes it) or
// takes image_codebook_config out of a FlavaConfig.
func ParseCodebookConfig(data []byte) (CodebookConfig, error) {
	var c CodebookConfig
	if err := parseSub(data, ModelTypeCodebook, nil, func(f Config) any { return f.ImageCodebookConfig }, &c); err != nil {
		return CodebookConfig{}, err
	}
	c = c.WithDefaults()
	return c, c.Validate()
}

// readConfigFile reads a config file: a regular file of at most
// MaxConfigBytes. When the file was found inside a model directory (dir is
// not ""), it must also resolve inside that directory (modelfile.Confine).
func readConfigFile(dir, path string) ([]byte, error) {
	return modelfile.Read(dir, path, MaxConfigBytes, ErrConfig)
}

// LoadConfig reads a FlavaConfig from a config.json file, or from the
// config.json inside a directory.
func LoadConfig(path string) (Config, error) {
	data, err := readConfigFile(configPath(path))
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
