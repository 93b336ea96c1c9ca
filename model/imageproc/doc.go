// Package imageproc turns encoded images into FLAVA's model inputs exactly as
// Hugging Face transformers' FlavaImageProcessor (PIL backend, Pillow 9.4)
// does: decoding to RGB, resizing, center cropping, rescaling, normalising,
// the codebook ("map_pixels") path, and BEiT block masks.
//
// # What is exact
//
//   - Resampling (Resize, all six PIL filters) is a re-implementation of
//     libImaging/Resample.c: the same float64 filter weights, the same
//     PRECISION_BITS = 22 fixed-point rounding, the same pass order and row
//     box, and NEAREST through PIL's affine scaling path. It is bit-exact
//     with Image.resize(size, filter, reducing_gap=None) on every fixture and
//     on testdata/pil_filters.bin.
//   - pixel_values and codebook_pixel_values are bit-identical float32 to
//     transformers' numpy arithmetic (float32(float64(x)/255 ...), see
//     pathSettings.pixel) whenever the uint8 image is.
//   - Decoding of lossless formats (PNG, BMP, GIF first frame, lossless WebP)
//     is byte-exact with PIL's Image.open + convert("RGB"): alpha dropped
//     without compositing, gray replicated, palettes expanded with the
//     colours stored in the file (Go's image/gif blanks the transparent
//     entry; PIL does not), 16-bit samples reduced to the high byte except
//     16-bit gray without alpha, which PIL opens as mode "I" and clamps to
//     255 in convert("RGB").
//   - CMYK JPEGs use PIL's cmyk2rgb (nk = 255-K; R = nk - nk*C/255 rounded).
//
// # What is not exact, and by how much
//
// JPEG: Go's image/jpeg IDCT differs from libjpeg-turbo's ISLOW IDCT by ±1
// on some samples. Chroma upsampling (libjpeg-turbo's "fancy" h2v1/h2v2/h1v2
// filters) and the YCbCr→RGB conversion (jdcolor.c tables) are reproduced
// exactly here, so what remains is the IDCT: on the fixtures the largest
// per-byte difference from PIL's decode is 3 (about 4% of bytes differ at
// all), enforced by TestDecodeMatchesPIL. Lossy WebP (VP8) goes through
// Go's x/image/vp8 planes and the same libjpeg colour path, not libwebp's
// own upsampler and YUV conversion: on testdata/pil_decode/lossy.webp the
// largest difference from PIL is 21 (most bytes differ by 1-3), enforced by
// TestDecodeModesMatchPIL. Reproducing libwebp's UpsampleRgbLinePair and
// VP8YUVToR/G/B would make it exact (x/image/vp8 is a port of libwebp's
// decoder); not done yet.
//
// # Speed
//
// A 640×480 JPEG through Decode and both paths (224 bicubic + 112 Lanczos,
// normalised) costs about 15.8 ms of one core (≈ 63 images/s; PIL: 56.5),
// of which Go's JPEG decode is about 8 ms; from decoded pixels about 7 ms
// (≈ 140 images/s; PIL: 71.6). See BenchmarkPreprocessJPEG.
//
// # Orientation
//
// transformers applies ImageOps.exif_transpose only when it opens the image
// itself from a path or URL; a PIL image passed in is used as is. Decode
// applies the EXIF orientation by default (bytes from files or Kafka match
// the path case); DecodeOptions.IgnoreOrientation (Config.IgnoreOrientation)
// matches the PIL-image case. EXIF is read from JPEG APP1, PNG eXIf and WebP
// EXIF chunks.
//
// # Untrusted input
//
// Decode sniffs the format from magic bytes, reads the header with
// DecodeConfig and refuses images above the pixel limit (default PIL's
// MAX_IMAGE_PIXELS, 89,478,485; PIL itself only warns up to twice that)
// before any pixel buffer is allocated. Errors wrap ErrEmpty,
// ErrUnknownFormat, ErrTooLarge or ErrCorrupt; no input panics
// (FuzzDecodePreprocess).
//
// # Masks
//
// MaskGenerator is FlavaMaskingGenerator's algorithm driven by math/rand/v2
// PCG seeded with a uint64: deterministic on every platform, but it cannot
// reproduce Python's random stream, so tests check the algorithm's
// invariants rather than Python's masks.
//
// # Dependencies and non-goals
//
// It imports model/tensor, the standard library and golang.org/x/image (bmp,
// webp decoders; already required by go.mod). It must not import Beam,
// Kafka, Parquet or model/flava. The resampler is hand-written rather than
// taken from a Go imaging library because none reproduces PIL's fixed-point
// arithmetic, and a resampler "close" to PIL shifts every embedding. It does
// not decode animations beyond the first frame, TIFF, HEIF or AVIF, and does
// not composite alpha (transformers does not either).
package imageproc
