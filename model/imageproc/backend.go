package imageproc

import (
	"fmt"
	"strings"
)

// Backend names the Hugging Face image-processing stack whose numbers a
// Processor reproduces bit for bit. The three differ in how they resize (pass
// order, coefficient precision), in the float recipe after resizing, and in
// how a PIL image with transparency becomes RGB; see the package doc.
type Backend string

// Backends. The zero value ("") means BackendTorchvision.
const (
	// BackendTorchvision is transformers 5's FlavaImageProcessor with its
	// torchvision backend — what FlavaProcessor.from_pretrained and
	// AutoImageProcessor give whenever torchvision is installed (most
	// PyTorch installs). The default.
	BackendTorchvision Backend = "torchvision"
	// BackendPIL is transformers 5's FlavaImageProcessorPil
	// (AutoImageProcessor.from_pretrained(..., backend="pil")) with Pillow
	// 13 or later.
	BackendPIL Backend = "pil"
	// BackendPILLegacy is the PIL backend with Pillow 12.3 or older, as in
	// transformers 4.x stacks (FlavaImageProcessor was PIL-only then).
	BackendPILLegacy Backend = "pil-legacy"
)

// Backends lists the valid backends, the default first.
var Backends = []Backend{BackendTorchvision, BackendPIL, BackendPILLegacy}

// ParseBackend accepts a backend name (case-insensitive; "" is the default).
// "pillow13" and "pillow12" are accepted as aliases of "pil" and
// "pil-legacy".
func ParseBackend(s string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "torchvision":
		return BackendTorchvision, nil
	case "pil", "pillow13", "pil13":
		return BackendPIL, nil
	case "pil-legacy", "pillow12", "pil12":
		return BackendPILLegacy, nil
	}
	return "", fmt.Errorf("%w: image backend %q, want one of torchvision (default), pil, pil-legacy", ErrConfig, s)
}

// orDefault resolves the zero value.
func (b Backend) orDefault() Backend {
	if b == "" {
		return BackendTorchvision
	}
	return b
}

// Valid reports whether b is "" or one of Backends.
func (b Backend) Valid() bool {
	switch b {
	case "", BackendTorchvision, BackendPIL, BackendPILLegacy:
		return true
	}
	return false
}

// String returns the backend's name, "torchvision" for the zero value.
func (b Backend) String() string { return string(b.orDefault()) }

// InputKind says what the Hugging Face user hands the processor, which
// decides whether EXIF orientation is applied and what happens to alpha.
type InputKind string

// Input kinds. The zero value ("") means InputPath.
const (
	// InputPath: a path or URL string. transformers opens it itself
	// (load_image; the torchvision backend decodes it with
	// torchvision.io.decode_image): EXIF orientation applied, alpha dropped
	// without compositing. The torchvision backend cannot decode BMP.
	InputPath InputKind = "path"
	// InputPILRGB: an opened PIL image with do_convert_rgb=True. No EXIF
	// transpose. transformers 5 (backends torchvision and pil) composites
	// RGBA, LA and transparent palette images onto white before RGB;
	// pil-legacy drops alpha (convert("RGB")).
	InputPILRGB InputKind = "pil-rgb"
	// InputPIL: an opened PIL image as is (do_convert_rgb unset, FLAVA's
	// default). No EXIF transpose; images PIL does not open as RGB (gray,
	// palette, RGBA, CMYK) are refused, as transformers fails on them
	// ("mean must have N elements").
	InputPIL InputKind = "pil"
)

// ParseInputKind accepts an input kind name ("" is the default, path).
func ParseInputKind(s string) (InputKind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "path":
		return InputPath, nil
	case "pil-rgb", "pil_rgb":
		return InputPILRGB, nil
	case "pil":
		return InputPIL, nil
	}
	return "", fmt.Errorf("%w: image input kind %q, want one of path (default), pil-rgb, pil", ErrConfig, s)
}

func (k InputKind) orDefault() InputKind {
	if k == "" {
		return InputPath
	}
	return k
}

// Valid reports whether k is "" or a known input kind.
func (k InputKind) Valid() bool {
	switch k {
	case "", InputPath, InputPILRGB, InputPIL:
		return true
	}
	return false
}

// String returns the kind's name, "path" for the zero value.
func (k InputKind) String() string { return string(k.orDefault()) }
