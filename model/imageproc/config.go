package imageproc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/flavabeam/flavabeam/model/internal/modelfile"
)

// ErrConfig is wrapped by every configuration error (bad JSON, bad field).
var ErrConfig = errors.New("imageproc: invalid config")

// DefaultMaxPixels is PIL's Image.MAX_IMAGE_PIXELS: images with more pixels
// are refused before their pixels are decoded.
const DefaultMaxPixels = 89_478_485

// maxSide bounds configured output sizes (resize, crop): larger values are a
// configuration mistake, not an image size.
const maxSide = 1 << 14

// Size is a "size"-like entry of preprocessor_config.json. Either Height and
// Width (an exact output size, as flava-full uses) or ShortestEdge (resize
// the shorter side to it, keeping the aspect ratio as transformers'
// get_resize_output_image_size does). All zero means "the default".
type Size struct {
	Height       int `json:"height,omitempty"`
	Width        int `json:"width,omitempty"`
	ShortestEdge int `json:"shortest_edge,omitempty"`
}

// UnmarshalJSON accepts an object or a bare integer (a square size, as
// transformers' get_size_dict reads it).
func (s *Size) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '{' {
		var n int
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*s = Size{Height: n, Width: n}
		return nil
	}
	type plain Size
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Size(p)
	return nil
}

func (s Size) isZero() bool { return s == Size{} }

func (s Size) validate(field string, allowShortest bool) error {
	if s.isZero() {
		return nil
	}
	if s.ShortestEdge != 0 {
		if !allowShortest {
			return fmt.Errorf("%w: %s: shortest_edge is not allowed here (want height and width)", ErrConfig, field)
		}
		if s.Height != 0 || s.Width != 0 {
			return fmt.Errorf("%w: %s: give either shortest_edge or height and width", ErrConfig, field)
		}
		if s.ShortestEdge < 0 || s.ShortestEdge > maxSide {
			return fmt.Errorf("%w: %s.shortest_edge = %d, want 1..%d", ErrConfig, field, s.ShortestEdge, maxSide)
		}
		return nil
	}
	if s.Height <= 0 || s.Height > maxSide || s.Width <= 0 || s.Width > maxSide {
		return fmt.Errorf("%w: %s = %dx%d (height x width), want both in 1..%d", ErrConfig, field, s.Height, s.Width, maxSide)
	}
	return nil
}

// Config mirrors transformers' FlavaImageProcessor options as stored in
// preprocessor_config.json, plus decoding options of this package. The zero
// value is facebook/flava-full's configuration; every field documents its
// default. Pointer fields distinguish "unset" (nil: the default) from an
// explicit false or 0. Unknown JSON keys are ignored.
type Config struct {
	// DoResize resizes to Size with Resample. Default true.
	DoResize *bool `json:"do_resize,omitempty"`
	// Size is the resize target. Default 224×224 (exact, aspect not kept).
	Size Size `json:"size"`
	// Resample is the resize filter (PIL numbering). Default Bicubic (3).
	Resample *Filter `json:"resample,omitempty"`
	// DoCenterCrop center-crops to CropSize (zero-padding a smaller image).
	// Default true.
	DoCenterCrop *bool `json:"do_center_crop,omitempty"`
	// CropSize is the center-crop size. Default 224×224.
	CropSize Size `json:"crop_size"`
	// DoRescale multiplies by RescaleFactor. Default true.
	DoRescale *bool `json:"do_rescale,omitempty"`
	// RescaleFactor, default 1/255 (also when 0).
	RescaleFactor float64 `json:"rescale_factor,omitempty"`
	// DoNormalize subtracts ImageMean and divides by ImageStd. Default true.
	DoNormalize *bool `json:"do_normalize,omitempty"`
	// ImageMean per channel; default CLIP's [0.48145466, 0.4578275, 0.40821073].
	ImageMean []float64 `json:"image_mean,omitempty"`
	// ImageStd per channel; default CLIP's [0.26862954, 0.26130258, 0.27577711].
	ImageStd []float64 `json:"image_std,omitempty"`

	// ReturnCodebookPixels makes ProcessBytes also return
	// codebook_pixel_values. Default false (as flava-full's config).
	ReturnCodebookPixels bool `json:"return_codebook_pixels,omitempty"`
	// CodebookDoResize, default true.
	CodebookDoResize *bool `json:"codebook_do_resize,omitempty"`
	// CodebookSize, default 112×112.
	CodebookSize Size `json:"codebook_size"`
	// CodebookResample, default Lanczos (1).
	CodebookResample *Filter `json:"codebook_resample,omitempty"`
	// CodebookDoCenterCrop, default true.
	CodebookDoCenterCrop *bool `json:"codebook_do_center_crop,omitempty"`
	// CodebookCropSize, default 112×112.
	CodebookCropSize Size `json:"codebook_crop_size"`
	// CodebookDoRescale, default true.
	CodebookDoRescale *bool `json:"codebook_do_rescale,omitempty"`
	// CodebookRescaleFactor, default 1/255 (also when 0).
	CodebookRescaleFactor float64 `json:"codebook_rescale_factor,omitempty"`
	// CodebookDoMapPixels maps x to x*0.8 + 0.1 after normalising
	// (LOGIT_LAPLACE_EPS = 0.1). Default true.
	CodebookDoMapPixels *bool `json:"codebook_do_map_pixels,omitempty"`
	// CodebookDoNormalize, default true.
	CodebookDoNormalize *bool `json:"codebook_do_normalize,omitempty"`
	// CodebookImageMean, default [0, 0, 0].
	CodebookImageMean []float64 `json:"codebook_image_mean,omitempty"`
	// CodebookImageStd, default [1, 1, 1].
	CodebookImageStd []float64 `json:"codebook_image_std,omitempty"`

	// ReturnImageMask makes ProcessBytes also return bool_masked_pos.
	// Default false (as flava-full's config).
	ReturnImageMask bool `json:"return_image_mask,omitempty"`
	// InputSizePatches is the mask side in patches. Default 14.
	InputSizePatches int `json:"input_size_patches,omitempty"`
	// TotalMaskPatches is the mask budget. Default 75.
	TotalMaskPatches int `json:"total_mask_patches,omitempty"`
	// MaskGroupMinPatches is the smallest block target area. Default 16.
	MaskGroupMinPatches int `json:"mask_group_min_patches,omitempty"`
	// MaskGroupMaxPatches caps one block's area; default (nil) TotalMaskPatches.
	MaskGroupMaxPatches *int `json:"mask_group_max_patches,omitempty"`
	// MaskGroupMinAspectRatio, default 0.3 (also when 0).
	MaskGroupMinAspectRatio float64 `json:"mask_group_min_aspect_ratio,omitempty"`
	// MaskGroupMaxAspectRatio, default (nil or 0) 1/MaskGroupMinAspectRatio.
	MaskGroupMaxAspectRatio *float64 `json:"mask_group_max_aspect_ratio,omitempty"`

	// MaxPixels refuses images whose declared width×height exceeds it,
	// before decoding pixels. Default (0) DefaultMaxPixels; not an HF key.
	MaxPixels int64 `json:"-"`
	// MaxPixelsPerByte refuses images above 1 MP that declare more pixels
	// per byte of encoded data than this, before decoding (a decompression
	// bomb with an honest header; see DecodeOptions). Default (0)
	// DefaultMaxPixelsPerByte; raise it for bilevel document scans, which
	// can compress further. Not an HF key.
	MaxPixelsPerByte int64 `json:"-"`
	// MaxDecodeBytes refuses images whose decode would need more memory
	// than this, estimated from the header before decoding. Default (0)
	// DefaultMaxDecodeBytes (1 GiB). Not an HF key.
	MaxDecodeBytes int64 `json:"-"`
	// IgnoreOrientation skips the EXIF orientation transpose. Default false:
	// orientation is applied, as transformers does for an image it loads from
	// a path or URL. Set it to match transformers given an already opened
	// PIL image (no transpose); Input pil and pil-rgb imply it. Not an HF key.
	IgnoreOrientation bool `json:"-"`
	// Backend is the Hugging Face stack reproduced bit for bit. Default
	// (zero) BackendTorchvision, what transformers 5 gives when torchvision
	// is installed. Not stored by transformers: set it from the stack the
	// numbers must match (CLI --image-backend).
	Backend Backend `json:"-"`
	// Input is what the Hugging Face user hands the processor (a path, or
	// an opened PIL image with or without do_convert_rgb), which decides
	// EXIF and alpha handling. Default (zero) InputPath. Not an HF key.
	Input InputKind `json:"-"`

	// UnknownKeys lists the JSON keys of the loaded file that this package
	// does not read, sorted (informational keys such as
	// image_processor_type are not listed). Callers report them; set by
	// ParseConfig and LoadDir, ignored otherwise.
	UnknownKeys []string `json:"-"`
}

// informationalKeys are keys transformers writes that carry no setting.
var informationalKeys = map[string]bool{
	"image_processor_type": true, "processor_class": true, "feature_extractor_type": true,
	"_processor_class": true, "auto_map": true, "transformers_version": true,
	// do_convert_rgb is what InputKind pil-rgb expresses per record.
	"do_convert_rgb": true,
}

// knownKeys are the JSON names of Config's fields.
var knownKeys = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
}()

// unknownKeys returns the keys of a JSON object that neither Config nor
// informationalKeys name, sorted.
func unknownKeys(data []byte) []string {
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return nil
	}
	var out []string
	for k := range raw {
		if !knownKeys[k] && !informationalKeys[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// ParseConfig decodes the image settings of a preprocessor_config.json
// (transformers 4) or a processor_config.json (transformers 5, settings
// nested under "image_processor") and validates them. Keys it does not read
// are listed in UnknownKeys.
func ParseConfig(data []byte) (Config, error) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(data, &outer); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if nested, ok := outer["image_processor"]; ok {
		data = nested
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c.UnknownKeys = unknownKeys(data)
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Files a model folder may keep its image settings in, in the order LoadDir
// prefers them.
const (
	// ProcessorConfigFile is what transformers 5's
	// FlavaProcessor.save_pretrained writes: every sub-processor's
	// settings in one file, the image ones under "image_processor".
	ProcessorConfigFile = "processor_config.json"
	// PreprocessorConfigFile is transformers 4's (and
	// ImageProcessor.save_pretrained's) flat file.
	PreprocessorConfigFile = "preprocessor_config.json"
)

// ErrNoConfig is wrapped by LoadDir when a folder has neither file.
var ErrNoConfig = errors.New("imageproc: no image processor settings")

// LoadDir reads the image settings of a Hugging Face model folder. When
// processor_config.json holds an "image_processor" object it wins: that is
// the file a transformers 5 save writes, and a preprocessor_config.json
// beside it is left from an older save. Otherwise preprocessor_config.json
// is read. It returns the file it used; with neither file the error wraps
// ErrNoConfig (callers choose the default Config).
func LoadDir(dir string) (Config, string, error) {
	p5 := filepath.Join(dir, ProcessorConfigFile)
	if b, err := readInDir(dir, ProcessorConfigFile); err == nil {
		var outer map[string]json.RawMessage
		if json.Unmarshal(b, &outer) == nil && outer["image_processor"] != nil {
			c, err := ParseConfig(b)
			if err != nil {
				return Config{}, p5, fmt.Errorf("%s: %w", p5, err)
			}
			return c, p5, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Config{}, p5, err
	}
	p4 := filepath.Join(dir, PreprocessorConfigFile)
	if _, err := os.Stat(p4); errors.Is(err, fs.ErrNotExist) {
		return Config{}, "", fmt.Errorf("%w in %s (neither %s with an image_processor entry nor %s)", ErrNoConfig, dir, ProcessorConfigFile, PreprocessorConfigFile)
	}
	b, err := readInDir(dir, PreprocessorConfigFile)
	if err != nil {
		return Config{}, p4, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, p4, fmt.Errorf("%s: %w", p4, err)
	}
	return c, p4, nil
}

// MaxConfigBytes caps an image processor settings file (they are about
// 1 kB; transformers 5's processor_config.json also holds the tokenizer's
// settings, still a few kB).
const MaxConfigBytes = 4 << 20

// readInDir reads name inside a model directory: it must resolve inside dir
// through symbolic links and be a regular file of at most MaxConfigBytes
// (model/internal/modelfile).
func readInDir(dir, name string) ([]byte, error) {
	return readConfigFile(dir, filepath.Join(dir, name))
}

// readConfigFile: modelfile.Read with MaxConfigBytes and ErrConfig.
func readConfigFile(dir, path string) ([]byte, error) {
	b, err := modelfile.Read(dir, path, MaxConfigBytes, ErrConfig)
	if err != nil && !errors.Is(err, ErrConfig) {
		return nil, fmt.Errorf("imageproc: %w", err)
	}
	return b, err
}

// LoadConfig reads and parses a preprocessor_config.json file (a regular
// file of at most MaxConfigBytes).
func LoadConfig(path string) (Config, error) {
	b, err := readConfigFile("", path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate reports the first bad field, by its JSON name.
func (c Config) Validate() error {
	for _, s := range []struct {
		name     string
		v        Size
		shortest bool
	}{{"size", c.Size, true}, {"crop_size", c.CropSize, false}, {"codebook_size", c.CodebookSize, true}, {"codebook_crop_size", c.CodebookCropSize, false}} {
		if err := s.v.validate(s.name, s.shortest); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		v    *Filter
	}{{"resample", c.Resample}, {"codebook_resample", c.CodebookResample}} {
		if f.v != nil && !f.v.Valid() {
			return fmt.Errorf("%w: %s = %d, want a PIL filter 0..5", ErrConfig, f.name, int(*f.v))
		}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"rescale_factor", c.RescaleFactor}, {"codebook_rescale_factor", c.CodebookRescaleFactor}} {
		if r.v < 0 || math.IsNaN(r.v) || math.IsInf(r.v, 0) {
			return fmt.Errorf("%w: %s = %v, want a finite positive number", ErrConfig, r.name, r.v)
		}
	}
	for _, m := range []struct {
		name string
		v    []float64
		std  bool
	}{{"image_mean", c.ImageMean, false}, {"image_std", c.ImageStd, true}, {"codebook_image_mean", c.CodebookImageMean, false}, {"codebook_image_std", c.CodebookImageStd, true}} {
		if m.v == nil {
			continue
		}
		if len(m.v) != 3 {
			return fmt.Errorf("%w: %s has %d values, want 3 (RGB)", ErrConfig, m.name, len(m.v))
		}
		for _, x := range m.v {
			if math.IsNaN(x) || math.IsInf(x, 0) || (m.std && float32(x) == 0) {
				return fmt.Errorf("%w: %s contains %v", ErrConfig, m.name, x)
			}
		}
	}
	if c.MaxDecodeBytes < 0 {
		return fmt.Errorf("%w: MaxDecodeBytes = %d, want >= 0 (0: %d)", ErrConfig, c.MaxDecodeBytes, DefaultMaxDecodeBytes)
	}
	if c.MaxPixelsPerByte < 0 {
		return fmt.Errorf("%w: MaxPixelsPerByte = %d, want >= 0 (0: %d)", ErrConfig, c.MaxPixelsPerByte, DefaultMaxPixelsPerByte)
	}
	if c.InputSizePatches < 0 || c.InputSizePatches > 1024 {
		return fmt.Errorf("%w: input_size_patches = %d, want 1..1024", ErrConfig, c.InputSizePatches)
	}
	s := c.settings()
	n := s.mask.side * s.mask.side
	if c.TotalMaskPatches < 0 || s.mask.total > n {
		return fmt.Errorf("%w: total_mask_patches = %d, want 1..%d", ErrConfig, c.TotalMaskPatches, n)
	}
	if c.MaskGroupMinPatches < 0 {
		return fmt.Errorf("%w: mask_group_min_patches = %d, want >= 1", ErrConfig, c.MaskGroupMinPatches)
	}
	if c.MaskGroupMaxPatches != nil && *c.MaskGroupMaxPatches < 1 {
		return fmt.Errorf("%w: mask_group_max_patches = %d, want >= 1", ErrConfig, *c.MaskGroupMaxPatches)
	}
	if r := c.MaskGroupMinAspectRatio; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return fmt.Errorf("%w: mask_group_min_aspect_ratio = %v, want > 0", ErrConfig, r)
	}
	if r := c.MaskGroupMaxAspectRatio; r != nil && (*r < 0 || math.IsNaN(*r) || math.IsInf(*r, 0)) {
		return fmt.Errorf("%w: mask_group_max_aspect_ratio = %v, want > 0", ErrConfig, *r)
	}
	if !c.Backend.Valid() {
		return fmt.Errorf("%w: Backend = %q, want torchvision, pil or pil-legacy", ErrConfig, string(c.Backend))
	}
	if !c.Input.Valid() {
		return fmt.Errorf("%w: Input = %q, want path, pil-rgb or pil", ErrConfig, string(c.Input))
	}
	for _, f := range []struct {
		name string
		v    Filter
	}{{"resample", s.pixel.filter}, {"codebook_resample", s.codebook.filter}} {
		if !c.Backend.SupportsFilter(f.v) {
			return fmt.Errorf("%w: %s = %s is not reproduced for the %s backend (torch's antialiased kernel has BILINEAR, BICUBIC and LANCZOS only); use the pil backend", ErrConfig, f.name, f.v, c.Backend)
		}
	}
	if c.MaxPixels < 0 {
		return fmt.Errorf("%w: MaxPixels = %d, want >= 0 (0: %d)", ErrConfig, c.MaxPixels, DefaultMaxPixels)
	}
	return nil
}

// pathSettings is one resolved preprocessing path (pixel_values or
// codebook_pixel_values).
type pathSettings struct {
	resize    bool
	size      Size
	filter    Filter
	crop      bool
	cropSize  Size
	rescale   bool
	factor    float64
	normalize bool
	mean, std [3]float32
	mapPixels bool
	// torch: the torchvision backend's float recipe (see pixel).
	torch bool
}

type maskSettings struct {
	side, total, minPatches, maxPatches int
	logAspectMin, logAspectMax          float64
}

type settings struct {
	pixel, codebook pathSettings
	mask            maskSettings
	maxPixels       int64
	backend         Backend
}

func orBool(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func orFilter(p *Filter, def Filter) Filter {
	if p == nil {
		return def
	}
	return *p
}

func orSize(s, def Size) Size {
	if s.isZero() {
		return def
	}
	return s
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func orVec(v []float64, def [3]float32) [3]float32 {
	if len(v) != 3 {
		return def
	}
	return [3]float32{float32(v[0]), float32(v[1]), float32(v[2])}
}

// settings resolves defaults (the receiver must have passed Validate for the
// result to be meaningful).
func (c Config) settings() settings {
	const rescale = 1.0 / 255
	var s settings
	s.pixel = pathSettings{
		resize:    orBool(c.DoResize, true),
		size:      orSize(c.Size, Size{Height: 224, Width: 224}),
		filter:    orFilter(c.Resample, Bicubic),
		crop:      orBool(c.DoCenterCrop, true),
		cropSize:  orSize(c.CropSize, Size{Height: 224, Width: 224}),
		rescale:   orBool(c.DoRescale, true),
		factor:    orFloat(c.RescaleFactor, rescale),
		normalize: orBool(c.DoNormalize, true),
		mean:      orVec(c.ImageMean, [3]float32{0.48145466, 0.4578275, 0.40821073}),
		std:       orVec(c.ImageStd, [3]float32{0.26862954, 0.26130258, 0.27577711}),
	}
	s.codebook = pathSettings{
		resize:    orBool(c.CodebookDoResize, true),
		size:      orSize(c.CodebookSize, Size{Height: 112, Width: 112}),
		filter:    orFilter(c.CodebookResample, Lanczos),
		crop:      orBool(c.CodebookDoCenterCrop, true),
		cropSize:  orSize(c.CodebookCropSize, Size{Height: 112, Width: 112}),
		rescale:   orBool(c.CodebookDoRescale, true),
		factor:    orFloat(c.CodebookRescaleFactor, rescale),
		normalize: orBool(c.CodebookDoNormalize, true),
		mean:      orVec(c.CodebookImageMean, [3]float32{0, 0, 0}),
		std:       orVec(c.CodebookImageStd, [3]float32{1, 1, 1}),
		mapPixels: orBool(c.CodebookDoMapPixels, true),
	}
	m := maskSettings{side: c.InputSizePatches, total: c.TotalMaskPatches, minPatches: c.MaskGroupMinPatches}
	if m.side == 0 {
		m.side = 14
	}
	if m.total == 0 {
		m.total = 75
	}
	if m.minPatches == 0 {
		m.minPatches = 16
	}
	m.maxPatches = m.total
	if c.MaskGroupMaxPatches != nil {
		m.maxPatches = *c.MaskGroupMaxPatches
	}
	minAR := orFloat(c.MaskGroupMinAspectRatio, 0.3)
	maxAR := 1 / minAR
	if c.MaskGroupMaxAspectRatio != nil && *c.MaskGroupMaxAspectRatio != 0 {
		maxAR = *c.MaskGroupMaxAspectRatio
	}
	m.logAspectMin, m.logAspectMax = math.Log(minAR), math.Log(maxAR)
	s.mask = m
	s.backend = c.Backend.orDefault()
	s.pixel.torch = s.backend == BackendTorchvision
	s.codebook.torch = s.pixel.torch
	s.maxPixels = c.MaxPixels
	if s.maxPixels == 0 {
		s.maxPixels = DefaultMaxPixels
	}
	return s
}
