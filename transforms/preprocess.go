package transforms

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // ImageURI: local paths
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/flavabeam/flavabeam/model/tokenizer"
	"github.com/flavabeam/flavabeam/schemas"
)

// Prepared is a record with its model inputs: the intermediate element
// between Preprocess/Tokenize and the model stages. Each input is present
// only when the record has that modality and a stage asked for it.
type Prepared struct {
	// Record is the input record, unchanged (dead letters carry it).
	Record schemas.ImageText
	// Pixels are pixel_values, C×H×W float32 as FlavaImageProcessor gives
	// them; nil without an image.
	Pixels []float32
	// PixelShape is (C, H, W) of Pixels.
	PixelShape []int
	// CodebookPixels are codebook_pixel_values, C×S×S; nil unless asked for.
	CodebookPixels []float32
	// CodebookShape is (C, S, S) of CodebookPixels.
	CodebookShape []int
	// InputIDs are the token ids ([CLS] text [SEP] + padding to MaxLength);
	// nil without text.
	InputIDs []int32
	// AttentionMask is 1 for real tokens, 0 for padding.
	AttentionMask []int32
}

// HasImage reports whether pixel values are present.
func (p *Prepared) HasImage() bool { return len(p.Pixels) > 0 }

// HasText reports whether token ids are present.
func (p *Prepared) HasText() bool { return len(p.InputIDs) > 0 }

// MaxImageBytes caps what is read from an ImageURI (a record's own Image
// bytes are whatever the source delivered; their pixel count is capped by
// Options.MaxPixels before decoding).
const MaxImageBytes = 64 << 20

// PrepareOptions say what Preprocess computes.
type PrepareOptions struct {
	Options
	// Pixels asks for pixel_values. Default false; with Pixels and Codebook
	// both false, Preprocess computes pixel_values.
	Pixels bool `json:"pixels,omitempty"`
	// Codebook asks for codebook_pixel_values (for LabelMIM). Default false.
	Codebook bool `json:"codebook,omitempty"`
}

func init() {
	beam.RegisterType(reflect.TypeOf((*Prepared)(nil)).Elem())
	register.DoFn4x1[context.Context, schemas.ImageText, func(Prepared), func(schemas.DeadLetter), error](&preprocessFn{})
	register.DoFn4x1[context.Context, Prepared, func(Prepared), func(schemas.DeadLetter), error](&tokenizeFn{})
	register.DoFn4x1[context.Context, schemas.ImageText, func(Prepared), func(schemas.DeadLetter), error](&tokenizeRecordFn{})
	register.Emitter1[Prepared]()
	register.Emitter1[schemas.DeadLetter]()
}

// Preprocess validates records and turns their images into pixel values
// (and codebook pixel values when opts.Codebook). Records without an image
// pass through with nil Pixels: the model stage that needs one dead-letters
// them. Image bytes come from Record.Image, else from Record.ImageURI read
// through Beam's filesystem registry (local paths are registered; import
// e.g. beam/io/filesystem/gcs for gs://).
//
// Dead letters (stage "transforms.Preprocess"): invalid_text (a field is not
// UTF-8), missing_input (no image, URI or text), read_error, decode_error,
// image_too_large.
func Preprocess(s beam.Scope, records beam.PCollection, opts PrepareOptions) (out, dead beam.PCollection) {
	s = s.Scope("transforms.Preprocess")
	if opts.Codebook {
		// Share LabelMIM's bundle (the model key includes NeedCodebook).
		opts.NeedCodebook = true
	}
	if err := opts.Options.Validate(); err != nil {
		panic(err) // a construction-time programmer error, as beam.ParDo's own
	}
	return beam.ParDo2(s, &preprocessFn{Opts: opts}, records)
}

type preprocessFn struct {
	Opts PrepareOptions
	h    *modelHandle
}

const stagePreprocess = "transforms.Preprocess"

func (f *preprocessFn) Setup(ctx context.Context) (err error) {
	f.h, err = setupModel(ctx, f.Opts.Options)
	return err
}

func (f *preprocessFn) ProcessElement(ctx context.Context, rec schemas.ImageText, emit func(Prepared), dead func(schemas.DeadLetter)) error {
	f.h.report(ctx)
	p, err := prepareImage(ctx, f.h, rec, f.Opts.Pixels || !f.Opts.Codebook, f.Opts.Codebook)
	if err != nil {
		dead(deadLetter(ctx, stagePreprocess, &rec, err))
		return nil
	}
	emit(p)
	return nil
}

// prepareImage validates rec and computes the asked image inputs.
func prepareImage(ctx context.Context, h *modelHandle, rec schemas.ImageText, pixels, codebook bool) (Prepared, error) {
	p := Prepared{Record: rec}
	if err := rec.Validate(); err != nil {
		return p, err
	}
	data := rec.Image
	if len(data) == 0 && rec.ImageURI != "" {
		var err error
		if data, err = readURI(ctx, rec.ImageURI); err != nil {
			return p, err
		}
	}
	if len(data) == 0 || !(pixels || codebook) {
		return p, nil
	}
	t := time.Now()
	img, err := h.bundle.Images.Decode(data)
	if err != nil {
		return p, fmt.Errorf("transforms: record %q: %w", rec.ID, err)
	}
	decodeLatency.Update(ctx, micros(time.Since(t)))
	t = time.Now()
	if pixels {
		c, hh, w := h.bundle.Images.PixelShape(img.W, img.H)
		p.Pixels, p.PixelShape = h.bundle.Images.PixelValues(img), []int{c, hh, w}
	}
	if codebook {
		c, hh, w := h.bundle.Images.CodebookPixelShape(img.W, img.H)
		p.CodebookPixels, p.CodebookShape = h.bundle.Images.CodebookPixelValues(img), []int{c, hh, w}
	}
	resizeLatency.Update(ctx, micros(time.Since(t)))
	return p, nil
}

// readURI reads at most MaxImageBytes from uri.
func readURI(ctx context.Context, uri string) ([]byte, error) {
	fs, err := filesystem.New(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRead, uri, err)
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, uri)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRead, uri, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, MaxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRead, uri, err)
	}
	if len(data) > MaxImageBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes: %w", ErrRead, uri, MaxImageBytes, errTooManyBytes)
	}
	return data, nil
}

var errTooManyBytes = fmt.Errorf("image file too large")

// Tokenize adds token ids and attention masks to records: records is a
// PCollection of Prepared (from Preprocess) or of schemas.ImageText. Text is
// encoded as FlavaProcessor does: [CLS] text [SEP], truncated and padded to
// Options.MaxLength. Records without text pass through with nil InputIDs.
//
// A text without tokens — one BertTokenizer turns into [CLS] [SEP] alone,
// exactly as it does "": whitespace, control and format characters only —
// counts as no text, the same as "".
//
// Dead letters (stage "transforms.Tokenize"): invalid_text (not UTF-8) and,
// for ImageText input, missing_input (nothing at all). A record without
// text is not an error here; a stage that needs text dead-letters it as
// missing_input.
func Tokenize(s beam.Scope, records beam.PCollection, opts Options) (out, dead beam.PCollection) {
	s = s.Scope("transforms.Tokenize")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if records.Type().Type() == typeOfImageText {
		return beam.ParDo2(s, &tokenizeRecordFn{Opts: opts}, records)
	}
	return beam.ParDo2(s, &tokenizeFn{Opts: opts}, records)
}

const stageTokenize = "transforms.Tokenize"

type tokenizeFn struct {
	Opts Options
	h    *modelHandle
}

func (f *tokenizeFn) Setup(ctx context.Context) (err error) {
	f.h, err = setupModel(ctx, f.Opts)
	return err
}

func (f *tokenizeFn) ProcessElement(ctx context.Context, p Prepared, emit func(Prepared), dead func(schemas.DeadLetter)) error {
	f.h.report(ctx)
	if err := tokenizeInto(ctx, f.h, f.Opts.withDefaults().MaxLength, &p); err != nil {
		dead(deadLetter(ctx, stageTokenize, &p.Record, err))
		return nil
	}
	emit(p)
	return nil
}

type tokenizeRecordFn struct {
	Opts Options
	h    *modelHandle
}

func (f *tokenizeRecordFn) Setup(ctx context.Context) (err error) {
	f.h, err = setupModel(ctx, f.Opts)
	return err
}

func (f *tokenizeRecordFn) ProcessElement(ctx context.Context, rec schemas.ImageText, emit func(Prepared), dead func(schemas.DeadLetter)) error {
	f.h.report(ctx)
	p := Prepared{Record: rec}
	err := rec.Validate()
	if err == nil {
		err = tokenizeInto(ctx, f.h, f.Opts.withDefaults().MaxLength, &p)
	}
	if err != nil {
		dead(deadLetter(ctx, stageTokenize, &p.Record, err))
		return nil
	}
	emit(p)
	return nil
}

// tokenizeInto fills p's ids and mask from its text.
func tokenizeInto(ctx context.Context, h *modelHandle, maxLength int, p *Prepared) error {
	text := p.Record.Text
	if text == "" {
		return nil
	}
	t := time.Now()
	enc, err := h.bundle.Tokenizer.Encode(text, tokenizer.EncodeOptions{MaxLength: maxLength})
	if err != nil {
		return fmt.Errorf("transforms: record %q: %w", p.Record.ID, err)
	}
	tokenizeLatecy.Update(ctx, micros(time.Since(t)))
	real := 0
	for _, m := range enc.AttentionMask {
		real += int(m)
	}
	if real <= 2 {
		// [CLS] [SEP] only: BertTokenizer gives exactly this for "" too, so
		// the text is treated as absent, like "" (see the package doc).
		return nil
	}
	p.InputIDs, p.AttentionMask = enc.IDs, enc.AttentionMask
	return nil
}

// noText explains, for a missing_input message, why p has no text.
func noText(p *Prepared) string {
	if p.Record.Text != "" {
		return fmt.Sprintf(" (its text %q has no tokens: whitespace, control or format characters only, which count as no text)", truncate(p.Record.Text, 40))
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	return strings.ToValidUTF8(s, "") + "…"
}
