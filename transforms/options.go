package transforms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/hub"
	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/model/pretrained"
)

// ErrOptions is wrapped by every error Validate returns.
var ErrOptions = errors.New("transforms: bad options")

// Defaults of Options.
const (
	DefaultModel     = pretrained.TinyRandom
	DefaultBatchSize = 8
	DefaultMaxWait   = 50 * time.Millisecond
	DefaultMaxLength = 77
	DefaultTopK      = 5
)

// Options configure the model stages. They are serialised into the pipeline
// (every field is exported and JSON-friendly); the weights never are: each
// DoFn loads its Bundle in Setup, once per worker process, through Shared.
// The zero value works: the built-in tiny-random model, batches of 8.
type Options struct {
	// Model is the model source: a local Hugging Face model directory, a Hub
	// id (found in the Hub cache or downloaded) or "tiny-random". Default
	// DefaultModel ("tiny-random").
	Model string `json:"model,omitempty"`
	// CodebookSource is the image codebook LabelMIM uses: a directory or
	// Hub id. When set it replaces the checkpoint's own image_codebook.*
	// weights. Default "": the checkpoint's own codebook, else
	// facebook/flava-image-codebook (found in the Hub cache, or downloaded
	// into it once; an error when Offline and not cached).
	CodebookSource string `json:"codebook_source,omitempty"`
	// NeedCodebook makes the model load fail without an image codebook (see
	// CodebookSource for where one comes from). LabelMIM, LabelMIMPrepared
	// and Preprocess with PrepareOptions.Codebook set it themselves.
	// Default false.
	NeedCodebook bool `json:"need_codebook,omitempty"`
	// HubCacheDir is the Hugging Face hub cache root. Default "": from the
	// environment ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub).
	HubCacheDir string `json:"hub_cache_dir,omitempty"`
	// Offline forbids Hub downloads (the cache must hold the model). Default
	// false (or $HF_HUB_OFFLINE).
	Offline bool `json:"offline,omitempty"`
	// BatchSize is the largest number of records run through the model
	// together. Default DefaultBatchSize (8).
	BatchSize int `json:"batch_size,omitempty"`
	// MaxWait is how long the first record of a batch waits for company
	// before a partial batch runs; the wait ends early once every bundle
	// submitting to the batcher is blocked on results (see the package doc).
	// Default DefaultMaxWait (50ms); negative: never wait (a batch runs as
	// soon as the model is free).
	MaxWait time.Duration `json:"max_wait,omitempty"`
	// QueueSize bounds the records waiting for the model in one worker
	// process; submitters block while it is full. Default 4×BatchSize.
	QueueSize int `json:"queue_size,omitempty"`
	// Threads is how many cores the model kernels use in the worker process
	// (process-wide: the last stage set up wins). Default 0: all cores.
	Threads int `json:"threads,omitempty"`
	// MaxLength is the token length texts are truncated and padded to,
	// special tokens included. Default DefaultMaxLength (77), FLAVA's.
	MaxLength int `json:"max_length,omitempty"`
	// MaxPixels refuses images whose declared width×height exceeds it,
	// before decoding (dead letter image_too_large). Default
	// imageproc.DefaultMaxPixels (PIL's limit).
	MaxPixels int64 `json:"max_pixels,omitempty"`
	// MaxPixelsPerByte refuses images above 1 MP that declare more pixels
	// per byte of encoded data (a decompression bomb with an honest
	// header; dead letter image_too_large). Default
	// imageproc.DefaultMaxPixelsPerByte (4096); raise it for bilevel
	// document scans.
	MaxPixelsPerByte int64 `json:"max_pixels_per_byte,omitempty"`
	// MaxDecodeBytes refuses images whose decode would need more memory
	// than this, estimated from the header before decoding (dead letter
	// image_too_large): the bound on one decode's memory. Default
	// imageproc.DefaultMaxDecodeBytes (1 GiB).
	MaxDecodeBytes int64 `json:"max_decode_bytes,omitempty"`
	// IgnoreOrientation stops EXIF orientation from being applied. Default
	// false: applied, as transformers does for images it opens from files.
	IgnoreOrientation bool `json:"ignore_orientation,omitempty"`
	// ImageBackend is the Hugging Face image-processing stack whose pixels
	// are reproduced bit for bit: "torchvision" (transformers 5's
	// FlavaImageProcessor with torchvision installed), "pil"
	// (FlavaImageProcessorPil with Pillow 13) or "pil-legacy" (Pillow ≤ 12.3,
	// transformers 4.x). Default "" = torchvision. See model/imageproc.
	ImageBackend string `json:"image_backend,omitempty"`
	// ImageInput is what the Hugging Face call being matched is given:
	// "path" (a file path: EXIF applied, alpha dropped), "pil-rgb" (an
	// opened PIL image with do_convert_rgb=True: no EXIF, alpha composited
	// on white) or "pil" (an opened PIL image as is: no EXIF, non-RGB images
	// refused). Default "" = path.
	ImageInput string `json:"image_input,omitempty"`
	// Precision is the arithmetic of the model's Linear products: "f32" or
	// "bf16" (weights and activations rounded to bfloat16, float32
	// accumulation; see flava.Precision). A worker whose CPU lacks native
	// bf16 (AVX512_BF16) fails its setup with flava.ErrBF16Unsupported.
	// Default "" (f32).
	Precision string `json:"precision,omitempty"`
}

// Validate names the first bad field.
func (o Options) Validate() error {
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("%w: Options.%s = %v: %s", ErrOptions, field, v, why)
	}
	switch {
	case o.BatchSize < 0:
		return bad("BatchSize", o.BatchSize, "must not be negative")
	case o.QueueSize < 0:
		return bad("QueueSize", o.QueueSize, "must not be negative")
	case o.Threads < 0:
		return bad("Threads", o.Threads, "must not be negative")
	case o.MaxLength < 0 || (o.MaxLength > 0 && o.MaxLength < 3):
		return bad("MaxLength", o.MaxLength, "must be 0 (default) or at least 3")
	case o.MaxPixels < 0:
		return bad("MaxPixels", o.MaxPixels, "must not be negative")
	case o.MaxPixelsPerByte < 0:
		return bad("MaxPixelsPerByte", o.MaxPixelsPerByte, "must not be negative")
	case o.MaxDecodeBytes < 0:
		return bad("MaxDecodeBytes", o.MaxDecodeBytes, "must not be negative")
	case strings.ContainsRune(o.Model, 0):
		return bad("Model", strconv.Quote(o.Model), "contains NUL")
	}
	if _, err := imageproc.ParseBackend(o.ImageBackend); err != nil {
		return bad("ImageBackend", strconv.Quote(o.ImageBackend), "want torchvision, pil or pil-legacy")
	}
	if _, err := imageproc.ParseInputKind(o.ImageInput); err != nil {
		return bad("ImageInput", strconv.Quote(o.ImageInput), "want path, pil-rgb or pil")
	}
	if _, err := flava.ParsePrecision(o.Precision); err != nil {
		return bad("Precision", strconv.Quote(o.Precision), "must be f32 or bf16")
	}
	return nil
}

// precision is o.Precision parsed (Validate has checked it).
func (o Options) precision() flava.Precision {
	p, _ := flava.ParsePrecision(o.Precision)
	return p
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Model == "" {
		o.Model = DefaultModel
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.QueueSize == 0 {
		o.QueueSize = 4 * o.BatchSize
	}
	if o.MaxLength == 0 {
		o.MaxLength = DefaultMaxLength
	}
	return o
}

// ModelKey is the Shared cache key of the Bundle these options load: the
// source and every option that changes what is loaded. Stages with the same
// key share one Bundle per process (tests use it with SharedLoads).
// NeedCodebook is not part of it: a stage that needs a codebook the shared
// Bundle lacks attaches one to it, once (see setupModel).
func (o Options) ModelKey() string {
	o = o.withDefaults()
	backend, _ := imageproc.ParseBackend(o.ImageBackend)
	input, _ := imageproc.ParseInputKind(o.ImageInput)
	return fmt.Sprintf("bundle|%s|codebook=%s|cache=%s|offline=%t|maxpix=%d|pixperbyte=%d|decodebytes=%d|noorient=%t|backend=%s|input=%s|precision=%s",
		o.Model, o.CodebookSource, o.HubCacheDir, o.Offline, o.MaxPixels, o.MaxPixelsPerByte, o.MaxDecodeBytes, o.IgnoreOrientation, backend, input, o.precision())
}

// loadOptions maps o onto pretrained.Options.
func (o Options) loadOptions() pretrained.Options {
	return pretrained.Options{
		Hub:               hub.Options{CacheDir: o.HubCacheDir, Offline: o.Offline},
		CodebookSource:    o.CodebookSource,
		NeedCodebook:      o.NeedCodebook,
		MaxPixels:         o.MaxPixels,
		MaxPixelsPerByte:  o.MaxPixelsPerByte,
		MaxDecodeBytes:    o.MaxDecodeBytes,
		IgnoreOrientation: o.IgnoreOrientation,
		ImageBackend:      imageproc.Backend(o.ImageBackend),
		ImageInput:        imageproc.InputKind(o.ImageInput),
	}
}

// batcherOptions maps o onto the batcher's options.
func (o Options) batcherOptions() BatcherOptions {
	o = o.withDefaults()
	return BatcherOptions{MaxBatchSize: o.BatchSize, MaxWait: o.MaxWait, QueueSize: o.QueueSize}
}

// EmbedOptions configure Embed. With Image, Text and Multimodal all false
// (the zero value) every vector the record's modalities allow is computed:
// image for an image, text for a text, all three for a pair. Setting any of
// them asks for exactly those vectors, and a record lacking a modality they
// need is dead-lettered (missing_input).
type EmbedOptions struct {
	Options
	// Image asks for the image retrieval vector (unit-norm projected CLS).
	// Default false (see above).
	Image bool `json:"image,omitempty"`
	// Text asks for the text retrieval vector. Default false (see above).
	Text bool `json:"text,omitempty"`
	// Multimodal asks for the multimodal encoder's CLS vector (needs image
	// and text). Default false (see above).
	Multimodal bool `json:"multimodal,omitempty"`
}

// Validate names the first bad field.
func (o EmbedOptions) Validate() error { return o.Options.Validate() }

// ZeroShotOptions configure ZeroShotClassify.
type ZeroShotOptions struct {
	Options
	// Labels are the candidate labels. A record's own Labels, when set,
	// override them. Default none: then every record must carry labels or
	// is dead-lettered (missing_input).
	Labels []string `json:"labels,omitempty"`
	// Template turns a label into a prompt; it must contain "{}" once.
	// Default flava.DefaultZeroShotTemplate ("a photo of a {}").
	Template string `json:"template,omitempty"`
	// TopK is how many labels each Score keeps, most probable first.
	// Default DefaultTopK (5); negative: all labels.
	TopK int `json:"top_k,omitempty"`
}

// Validate names the first bad field.
func (o ZeroShotOptions) Validate() error {
	if err := o.Options.Validate(); err != nil {
		return err
	}
	if o.Template != "" && strings.Count(o.Template, "{}") != 1 {
		return fmt.Errorf("%w: ZeroShotOptions.Template = %q: must contain \"{}\" exactly once", ErrOptions, o.Template)
	}
	for i, l := range o.Labels {
		if strings.TrimSpace(l) == "" {
			return fmt.Errorf("%w: ZeroShotOptions.Labels[%d] is empty", ErrOptions, i)
		}
	}
	return nil
}

func (o ZeroShotOptions) withDefaults() ZeroShotOptions {
	o.Options = o.Options.withDefaults()
	if o.Template == "" {
		o.Template = flava.DefaultZeroShotTemplate
	}
	if o.TopK == 0 {
		o.TopK = DefaultTopK
	}
	return o
}
