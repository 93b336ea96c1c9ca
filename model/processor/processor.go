package processor

import (
	"errors"
	"fmt"

	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/model/tokenizer"
)

// Sentinel errors (besides ErrConfig); errors from the tokenizer and the
// image processor are wrapped unchanged, so their sentinels work too.
var (
	// ErrEmpty reports a request with neither images nor texts.
	ErrEmpty = errors.New("processor: no images and no texts")
	// ErrRagged reports texts of different token lengths with padding off,
	// which cannot form one tensor.
	ErrRagged = errors.New("processor: texts of different lengths without padding")
)

// Options configure a Processor. The zero value is FLAVA pretraining's text
// call (max_length 77, padded, truncated) with the image settings of the
// preprocessor config, no MLM.
type Options struct {
	// Text controls truncation and padding. Default: tokenizer.EncodeOptions{}
	// (max_length 77, padding "max_length", truncation longest_first).
	Text tokenizer.EncodeOptions
	// ReturnCodebookPixels adds CodebookPixelValues even when the
	// preprocessor config does not ask for them (HF return_codebook_pixels).
	// Default false: follow the config.
	ReturnCodebookPixels bool
	// ReturnImageMask adds BoolMaskedPos even when the preprocessor config
	// does not ask for it (HF return_image_mask). Default false: follow the
	// config.
	ReturnImageMask bool
	// MLM adds InputIDsMasked and MLMLabels. Default false.
	MLM bool
	// MLMConfig configures the collator when MLM is set. Default: 15%,
	// 80/10/10.
	MLMConfig MLMConfig
}

// Validate reports the first bad field.
func (o Options) Validate() error {
	if err := o.Text.Validate(); err != nil {
		return fmt.Errorf("Options.Text: %w", err)
	}
	if o.MLM {
		if err := o.MLMConfig.Validate(); err != nil {
			return fmt.Errorf("Options.MLMConfig: %w", err)
		}
	}
	return nil
}

// Processor is FlavaProcessor: a tokenizer and an image processor behind one
// call. It is immutable and safe for concurrent use.
type Processor struct {
	tok  *tokenizer.Tokenizer
	img  *imageproc.Processor
	opts Options
	mlm  *MLMCollator
}

// New builds a Processor from a tokenizer and an image preprocessing config
// (whose Return* flags opts may switch on).
func New(tok *tokenizer.Tokenizer, imgCfg imageproc.Config, opts Options) (*Processor, error) {
	if tok == nil {
		return nil, fmt.Errorf("%w: nil tokenizer", ErrConfig)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.ReturnCodebookPixels {
		imgCfg.ReturnCodebookPixels = true
	}
	if opts.ReturnImageMask {
		imgCfg.ReturnImageMask = true
	}
	img, err := imageproc.NewProcessor(imgCfg)
	if err != nil {
		return nil, err
	}
	p := &Processor{tok: tok, img: img, opts: opts}
	if opts.MLM {
		if p.mlm, err = NewMLMCollator(tok, opts.MLMConfig); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Load reads an HF model directory: the image settings (transformers 5's
// processor_config.json or transformers 4's preprocessor_config.json, one
// required; see imageproc.LoadDir) and the tokenizer files (tokenizer.json
// or vocab.txt, plus tokenizer_config.json), as
// FlavaProcessor.from_pretrained does. The image backend is the default
// (torchvision); set it on the returned Images().Config() and build with
// New to choose another.
func Load(dir string, opts Options) (*Processor, error) {
	cfg, _, err := imageproc.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("processor: %w", err)
	}
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("processor: %w", err)
	}
	return New(tok, cfg, opts)
}

// Tokenizer returns the text half.
func (p *Processor) Tokenizer() *tokenizer.Tokenizer { return p.tok }

// Images returns the image half.
func (p *Processor) Images() *imageproc.Processor { return p.img }

// Request is one batch to preprocess. Images and texts are independent
// batches (as in FlavaProcessor); FlavaModel needs equal counts when both are
// given, which the caller arranges.
type Request struct {
	// Images are encoded images (any format imageproc decodes).
	Images [][]byte
	// Decoded are already decoded images, used when Images is empty.
	Decoded []*imageproc.RGB
	// Texts are the first text segments.
	Texts []string
	// TextPairs, when non-nil, are second segments (one per text).
	TextPairs []string
	// Seed drives the image masks and the MLM collator: the same request and
	// seed give the same output.
	Seed uint64
}

// Inputs are the model inputs; a field is nil when not requested.
type Inputs struct {
	// PixelValues is (B, 3, 224, 224) by default.
	PixelValues *tensor.Tensor
	// CodebookPixelValues is (B, 3, 112, 112) by default.
	CodebookPixelValues *tensor.Tensor
	// BoolMaskedPos is (B, 196) by default: the processor's (B, 14, 14)
	// flattened, the layout FlavaForPreTraining consumes.
	BoolMaskedPos *tensor.Bool
	// InputIDs, AttentionMask, TokenTypeIDs are (B, L).
	InputIDs, AttentionMask, TokenTypeIDs *tensor.Int64
	// InputIDsMasked and MLMLabels are (B, L), with MLM only; labels are
	// IgnoreIndex (-100) where nothing was masked.
	InputIDsMasked, MLMLabels *tensor.Int64
	// Tokens are the token strings of InputIDs, per row.
	Tokens [][]string
	// Truncated reports, per row, that text was dropped to fit.
	Truncated []bool
}

// Process preprocesses one request.
func (p *Processor) Process(r Request) (*Inputs, error) {
	if len(r.Images) == 0 && len(r.Decoded) == 0 && len(r.Texts) == 0 {
		return nil, ErrEmpty
	}
	out := &Inputs{}
	if len(r.Images) > 0 || len(r.Decoded) > 0 {
		var b *imageproc.Batch
		var err error
		if len(r.Images) > 0 {
			b, err = p.img.ProcessBytes(r.Images, r.Seed)
		} else {
			b, err = p.img.Process(r.Decoded, r.Seed)
		}
		if err != nil {
			return nil, fmt.Errorf("processor: %w", err)
		}
		out.PixelValues, out.CodebookPixelValues = b.PixelValues, b.CodebookPixelValues
		if m := b.BoolMaskedPos; m != nil {
			n := m.Shape[0]
			out.BoolMaskedPos = &tensor.Bool{Shape: []int{n, len(m.Data) / max(n, 1)}, Data: m.Data}
		}
	}
	if len(r.Texts) > 0 {
		if err := p.text(out, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *Processor) text(out *Inputs, r Request) error {
	encs, err := p.tok.EncodeBatch(r.Texts, r.TextPairs, p.opts.Text)
	if err != nil {
		return fmt.Errorf("processor: %w", err)
	}
	b, l := len(encs), encs[0].Len()
	for i := range encs {
		if encs[i].Len() != l {
			return fmt.Errorf("%w: row 0 has %d tokens, row %d has %d", ErrRagged, l, i, encs[i].Len())
		}
	}
	out.InputIDs, out.AttentionMask, out.TokenTypeIDs = tensor.NewInt64(b, l), tensor.NewInt64(b, l), tensor.NewInt64(b, l)
	out.Tokens, out.Truncated = make([][]string, b), make([]bool, b)
	for i, e := range encs {
		row := i * l
		for j := 0; j < l; j++ {
			out.InputIDs.Data[row+j] = int64(e.IDs[j])
			out.AttentionMask.Data[row+j] = int64(e.AttentionMask[j])
			out.TokenTypeIDs.Data[row+j] = int64(e.TypeIDs[j])
		}
		out.Tokens[i], out.Truncated[i] = e.Tokens, e.Truncated
	}
	if p.mlm != nil {
		out.InputIDsMasked, out.MLMLabels = p.mlm.Mask(out.InputIDs, NewRand(r.Seed))
	}
	return nil
}
