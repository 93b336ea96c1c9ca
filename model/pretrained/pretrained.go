package pretrained

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/hub"
	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/model/tokenizer"
)

// Well-known sources.
const (
	// TinyRandom is the built-in model: a tiny FLAVA with deterministic random
	// weights and a small generated vocabulary. Its outputs are meaningless;
	// it exists so that pipelines run with no download.
	TinyRandom = "tiny-random"
	// FlavaFull is Meta's released checkpoint on the Hub.
	FlavaFull = "facebook/flava-full"
	// FlavaCodebook is the standalone image codebook on the Hub.
	FlavaCodebook = "facebook/flava-image-codebook"
)

// ErrSource is wrapped by errors about an unusable model source.
var ErrSource = errors.New("pretrained: unusable model source")

// Options configure Load. The zero value works.
type Options struct {
	// Hub configures cache lookups and downloads (zero: from the
	// environment, see hub.Options).
	Hub hub.Options
	// NeedCodebook makes Load fail unless an image codebook is available:
	// CodebookSource when set, else the checkpoint's own (image_codebook.*),
	// else FlavaCodebook (from the Hub cache, downloaded into it once when
	// missing; with Hub.Offline a missing one is an error wrapping
	// hub.ErrOffline). Default false (the checkpoint's codebook is loaded
	// when present, none is fetched).
	NeedCodebook bool
	// CodebookSource is the image codebook to use: a directory or Hub id. It
	// replaces the checkpoint's own image_codebook.* weights when the
	// checkpoint has them (the caller named it explicitly; Bundle.CodebookID
	// and Bundle.CodebookReplaced say what happened). Default "": the
	// checkpoint's own, else FlavaCodebook when NeedCodebook.
	CodebookSource string
	// MaxPixels caps decoded image size (width×height). Default
	// imageproc.DefaultMaxPixels.
	MaxPixels int64
	// MaxPixelsPerByte caps declared pixels per byte of encoded image above
	// 1 MP (decompression bombs). Default imageproc.DefaultMaxPixelsPerByte.
	MaxPixelsPerByte int64
	// MaxDecodeBytes caps the memory one image decode may need, estimated
	// from its header. Default imageproc.DefaultMaxDecodeBytes.
	MaxDecodeBytes int64
	// IgnoreOrientation stops EXIF orientation from being applied (the
	// behaviour of transformers given an already-open PIL image). Default
	// false: applied, as transformers does for images it opens from files.
	IgnoreOrientation bool
	// ImageBackend is the Hugging Face image stack reproduced (see
	// imageproc.Backend). Default "": torchvision, transformers 5's default.
	ImageBackend imageproc.Backend
	// ImageInput is the kind of input the matched HF call is given (see
	// imageproc.InputKind). Default "": a path.
	ImageInput imageproc.InputKind
}

// Bundle is everything needed to run FLAVA on raw records.
type Bundle struct {
	// ID names the source in outputs ("facebook/flava-full", a path, "tiny-random").
	ID string
	// Dir is the local directory the files came from ("" for TinyRandom).
	Dir string
	// Model is FlavaForPreTraining. Its ITMHead is nil when the checkpoint
	// is a plain FlavaModel (then ITM scores are unavailable) and its
	// ImageCodebook is nil when no codebook was found.
	Model *flava.ForPreTraining
	// Scorer computes retrieval vectors, similarities, ITM and zero-shot.
	Scorer *flava.Scorer
	// Images decodes and preprocesses images as FlavaImageProcessor does.
	Images *imageproc.Processor
	// Tokenizer is the checkpoint's BERT tokenizer.
	Tokenizer *tokenizer.Tokenizer
	// CodebookID names where Model.ImageCodebook came from: ID for the
	// checkpoint's own, else the codebook source (a Hub id such as
	// FlavaCodebook, or a directory); "" without a codebook.
	CodebookID string
	// CodebookReplaced is true when Options.CodebookSource replaced an
	// image codebook the checkpoint itself holds.
	CodebookReplaced bool
	// Meaningless is true for TinyRandom: its vectors carry no information.
	Meaningless bool
	// Bytes is the size of the weights in memory (float32).
	Bytes int64
	// Warnings are things a user should see that did not stop the load:
	// image-settings keys that are not read, which settings file was
	// used. The CLI prints them.
	Warnings []string

	closers []func() error
}

// Codebook returns the image codebook, or nil.
func (b *Bundle) Codebook() *flava.ImageCodebook { return b.Model.ImageCodebook }

// Close releases memory-mapped checkpoints.
func (b *Bundle) Close() error {
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c())
	}
	b.closers = nil
	return errors.Join(errs...)
}

// Load resolves source and loads its bundle. A source that names an existing
// directory is read from disk; "tiny-random" builds the built-in model; any
// other "org/name" is looked up in the Hugging Face cache and downloaded when
// missing (unless offline).
func Load(ctx context.Context, source string, opts Options) (*Bundle, error) {
	switch {
	case source == "":
		return nil, fmt.Errorf("%w: empty model source", ErrSource)
	case source == TinyRandom:
		return loadTiny(ctx, opts)
	}
	if st, err := os.Stat(source); err == nil {
		if !st.IsDir() {
			return nil, fmt.Errorf("%w: %s is a file; give the model directory (config.json beside the weights)", ErrSource, source)
		}
		return loadDir(ctx, source, source, opts)
	}
	if !hub.ValidRepoID(source) {
		return nil, fmt.Errorf("%w: %q is neither a directory nor a Hub id (org/name) nor %q", ErrSource, source, TinyRandom)
	}
	dir, err := DownloadModel(ctx, source, opts.Hub)
	if err != nil {
		return nil, err
	}
	return loadDir(ctx, source, dir, opts)
}

// weightFiles are the names tried in order, as transformers does.
var weightFiles = []string{"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"}

// DownloadModel makes sure the files a FLAVA model needs (config, weights,
// tokenizer and preprocessor files the repository has) are in the Hugging
// Face cache and returns the snapshot directory.
func DownloadModel(ctx context.Context, repoID string, opts hub.Options) (string, error) {
	opts = opts.FromEnv()
	if opts.Offline {
		snap, ok := opts.CachedSnapshot(repoID, "config.json")
		if !ok {
			return "", fmt.Errorf("%w: %s (cache %s)", hub.ErrOffline, repoID, opts.CacheDir)
		}
		return snap, nil
	}
	info, err := hub.Info(ctx, repoID, opts)
	if err != nil {
		return "", err
	}
	have := map[string]bool{}
	for _, f := range info.Files {
		have[f.Name] = true
	}
	want := []string{"config.json"}
	for _, f := range []string{"processor_config.json", "preprocessor_config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"} {
		if have[f] {
			want = append(want, f)
		}
	}
	weights := ""
	for _, f := range weightFiles {
		if have[f] {
			weights = f
			break
		}
	}
	if weights == "" {
		return "", fmt.Errorf("%w: %s has none of %v", ErrSource, repoID, weightFiles)
	}
	want = append(want, weights)
	if strings.HasSuffix(weights, ".index.json") {
		prefix := strings.TrimSuffix(weights, ".index.json")
		stem := strings.TrimSuffix(prefix, filepath.Ext(prefix))
		for _, f := range info.Files {
			if strings.HasPrefix(f.Name, stem+"-") && strings.HasSuffix(f.Name, filepath.Ext(prefix)) {
				want = append(want, f.Name)
			}
		}
	}
	return hub.Download(ctx, repoID, want, opts)
}

func loadDir(ctx context.Context, id, dir string, opts Options) (*Bundle, error) {
	b := &Bundle{ID: id, Dir: dir}
	m, err := flava.LoadForPreTraining(dir)
	if err == nil {
		b.closers = append(b.closers, m.Close)
	} else if errors.Is(err, checkpoint.ErrBind) {
		// A FlavaModel checkpoint (no pretraining heads): keep what we can.
		var base *flava.Model
		if base, err = flava.LoadModel(dir); err == nil {
			m = &flava.ForPreTraining{Flava: base, Config: base.Config}
			b.closers = append(b.closers, base.Source.Close)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pretrained: loading %s: %w", dir, err)
	}
	b.Model = m
	if err := b.attachCodebook(ctx, opts); err != nil {
		b.Close()
		return nil, err
	}
	if b.Images, b.Warnings, err = imageProcessor(dir, opts); err != nil {
		b.Close()
		return nil, err
	}
	if b.Tokenizer, err = tokenizer.LoadDir(dir); err != nil {
		b.Close()
		return nil, fmt.Errorf("pretrained: tokenizer of %s: %w", dir, err)
	}
	b.finish()
	return b, nil
}

// AttachCodebook gives b the image codebook opts asks for when b lacks one:
// with opts.NeedCodebook, CodebookSource or else FlavaCodebook, found as
// Load finds it. It does nothing when b has a codebook. It must not run
// while b's codebook is in use (callers serialise it with their loads).
func (b *Bundle) AttachCodebook(ctx context.Context, opts Options) error {
	if b.Model.ImageCodebook != nil || !opts.NeedCodebook {
		return nil
	}
	return b.attachCodebook(ctx, opts)
}

// attachCodebook applies Options.CodebookSource and NeedCodebook to b's
// model and sets CodebookID and CodebookReplaced.
func (b *Bundle) attachCodebook(ctx context.Context, opts Options) error {
	m := b.Model
	if m.ImageCodebook != nil && b.CodebookID == "" {
		b.CodebookID = b.ID
	}
	if opts.CodebookSource == "" && (m.ImageCodebook != nil || !opts.NeedCodebook) {
		return nil
	}
	if opts.CodebookSource != "" && b.CodebookID == opts.CodebookSource {
		return nil // already replaced
	}
	src := opts.CodebookSource
	if src == "" {
		src = FlavaCodebook
	}
	cb, err := loadCodebook(ctx, src, opts.Hub)
	if err != nil {
		return err
	}
	b.closers = append(b.closers, cb.Close)
	b.CodebookReplaced = m.ImageCodebook != nil
	m.ImageCodebook, b.CodebookID = cb, src
	return nil
}

// loadCodebook loads the image codebook of src, a directory or Hub id; a Hub
// id is taken from the cache, or downloaded into it (config and weights only)
// unless offline.
func loadCodebook(ctx context.Context, src string, h hub.Options) (*flava.ImageCodebook, error) {
	dir := src
	if _, err := os.Stat(src); err != nil {
		if !hub.ValidRepoID(src) {
			return nil, fmt.Errorf("%w: codebook source %q is neither a directory nor a Hub id", ErrSource, src)
		}
		var err error
		if dir, err = DownloadCodebook(ctx, src, h); err != nil {
			return nil, err
		}
	}
	cb, err := flava.LoadImageCodebook(dir)
	if err != nil {
		return nil, fmt.Errorf("pretrained: codebook %s: %w", src, err)
	}
	return cb, nil
}

// DownloadCodebook makes sure the image codebook repoID (config.json and its
// weights) is in the Hugging Face cache and returns the snapshot directory.
// A cached snapshot is used as it is; otherwise, unless offline, the files
// are downloaded once. Offline and not cached, the error wraps
// hub.ErrOffline and names the cache.
func DownloadCodebook(ctx context.Context, repoID string, opts hub.Options) (string, error) {
	h := opts.FromEnv()
	if snap, ok := CachedCodebook(repoID, h); ok {
		return snap, nil
	}
	if h.Offline {
		return "", fmt.Errorf("%w: image codebook %s is not in the hub cache %s (download it first, e.g. flavabeam download %s, or give a codebook directory)", hub.ErrOffline, repoID, h.CacheDir, repoID)
	}
	info, err := hub.Info(ctx, repoID, h)
	if err != nil {
		return "", fmt.Errorf("pretrained: codebook %s: %w", repoID, err)
	}
	weights := ""
	for _, w := range weightFiles {
		for _, f := range info.Files {
			if weights == "" && f.Name == w && !strings.HasSuffix(w, ".index.json") {
				weights = w
			}
		}
	}
	if weights == "" {
		return "", fmt.Errorf("%w: codebook %s has no single-file weights (model.safetensors or pytorch_model.bin)", ErrSource, repoID)
	}
	dir, err := hub.Download(ctx, repoID, []string{"config.json", weights}, h)
	if err != nil {
		return "", fmt.Errorf("pretrained: codebook %s: %w", repoID, err)
	}
	return dir, nil
}

// CachedCodebook returns the cached snapshot of the image codebook repoID
// when it holds config.json and single-file weights.
func CachedCodebook(repoID string, opts hub.Options) (string, bool) {
	for _, w := range weightFiles {
		if strings.HasSuffix(w, ".index.json") {
			continue
		}
		if snap, ok := opts.CachedSnapshot(repoID, "config.json", w); ok {
			return snap, true
		}
	}
	return "", false
}

// imageProcessor reads the folder's image settings (imageproc.LoadDir:
// transformers 5's processor_config.json, else preprocessor_config.json;
// neither: flava-full's defaults) and reports keys it does not read.
func imageProcessor(dir string, opts Options) (*imageproc.Processor, []string, error) {
	var warnings []string
	cfg, file, err := imageproc.LoadDir(dir)
	switch {
	case errors.Is(err, imageproc.ErrNoConfig):
		cfg = imageproc.Config{}
		warnings = append(warnings, fmt.Sprintf("%s has no %s or %s: using facebook/flava-full's image settings", dir, imageproc.ProcessorConfigFile, imageproc.PreprocessorConfigFile))
	case err != nil:
		return nil, nil, fmt.Errorf("pretrained: %w", err)
	case len(cfg.UnknownKeys) > 0:
		warnings = append(warnings, fmt.Sprintf("%s: image settings not read by flavabeam (ignored): %s", file, strings.Join(cfg.UnknownKeys, ", ")))
	}
	p, err := newImageProcessor(cfg, opts)
	return p, warnings, err
}

func newImageProcessor(cfg imageproc.Config, opts Options) (*imageproc.Processor, error) {
	if opts.MaxPixels > 0 {
		cfg.MaxPixels = opts.MaxPixels
	}
	if opts.MaxPixelsPerByte > 0 {
		cfg.MaxPixelsPerByte = opts.MaxPixelsPerByte
	}
	if opts.MaxDecodeBytes > 0 {
		cfg.MaxDecodeBytes = opts.MaxDecodeBytes
	}
	if opts.IgnoreOrientation {
		cfg.IgnoreOrientation = true
	}
	cfg.Backend = opts.ImageBackend
	cfg.Input = opts.ImageInput
	p, err := imageproc.NewProcessor(cfg)
	if err != nil {
		return nil, fmt.Errorf("pretrained: image processor: %w", err)
	}
	return p, nil
}

// finish derives the scorer and the weight size.
func (b *Bundle) finish() {
	if b.Model.ITMHead != nil {
		b.Scorer = flava.NewPretrainingScorer(b.Model)
	} else {
		b.Scorer = flava.NewScorer(b.Model.Flava)
	}
	b.Bytes = 4 * b.Model.NumParameters()
}
