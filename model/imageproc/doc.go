// Package imageproc turns encoded images into FLAVA's model inputs exactly as
// Hugging Face transformers' FLAVA image processor does: decoding to RGB,
// resizing, center cropping, rescaling, normalising, the codebook
// ("map_pixels") path, and BEiT block masks.
//
// # Three backends, one per Hugging Face stack
//
// transformers gives different pixels depending on what is installed, so
// Config.Backend (transforms.Options.ImageBackend, CLI --image-backend)
// names the stack to reproduce:
//
//   - "torchvision", the default: transformers 5's FlavaImageProcessor with
//     its torchvision backend, which FlavaProcessor.from_pretrained and
//     AutoImageProcessor pick whenever torchvision is installed. Resizing is
//     torch's uint8 antialiased interpolate (the CPU kernel derived from
//     Pillow-SIMD): PIL's filter taps and float64 weights, but quantised to
//     int16 with a per-axis precision (p grows from 0 while
//     int(0.5 + wmax·2^(p+1)) < 2^15, at most 22), and the horizontal pass
//     always first. Rescale and normalise are fused as TorchvisionBackend
//     does: (x − float32(mean·255)) / float32(std·255) in float32; the
//     codebook path is x/255, then x·0.8 + 0.1, in float32. Filters:
//     BILINEAR, BICUBIC, LANCZOS (torch has no antialiased NEAREST, BOX or
//     HAMMING; such configs are refused).
//   - "pil": transformers 5's FlavaImageProcessorPil with Pillow 13.
//     libImaging/Resample.c's 22-bit fixed-point passes, but Pillow 13 runs
//     the vertical pass first (over every column) when (in_h − out_h) > 0
//     and (in_h − out_h) > 2·(in_w − out_w); each pass rounds to uint8, so
//     the order shows (tens of levels on tall images). Float recipe: numpy's
//     float32(float64(x)·(1/255)), then (x − mean)/std in float32.
//   - "pil-legacy": the same with Pillow ≤ 12.3 (transformers 4.x stacks):
//     horizontal pass first (over only the rows the vertical pass reads).
//
// All three are bit-exact on every fixture folder (preprocess/,
// preprocess-pillow13/, preprocess-torchvision/; the backend is taken from
// each manifest), from decoded pixels to pixel_values and
// codebook_pixel_values. The torchvision int16 kernel differs from PIL's by
// at most 2 levels; the Pillow 13 order by up to 37.
//
// # Input kinds: EXIF and alpha
//
// transformers treats a path and an opened PIL image differently, so
// Config.Input (CLI --image-input) says which call a record stands for:
//
//   - "path" (default): transformers opens the file itself. EXIF
//     orientation is applied; alpha is dropped without compositing (PIL's
//     convert("RGB"), torchvision's decode_image(mode=RGB)). The
//     torchvision backend's decode_image reads JPEG, PNG, WebP and GIF
//     only: BMP is refused (ErrUnknownFormat), as transformers fails.
//   - "pil-rgb": an opened PIL image with do_convert_rgb=True. No EXIF
//     transpose. With the torchvision and pil backends (transformers 5.23)
//     every non-RGB image goes through convert("RGBA") and
//     Image.alpha_composite over opaque white, so RGBA, LA and transparent
//     palette pixels are blended onto white (libImaging's 7-bit
//     fixed-point formula, bit-exact); with pil-legacy alpha is dropped.
//   - "pil": an opened PIL image as is (FLAVA's default do_convert_rgb).
//     No EXIF transpose; an image PIL does not open as RGB (L, P, RGBA,
//     LA, CMYK, I) is refused with ErrMode, as transformers fails on it
//     ("mean must have N elements").
//
// DecodeOptions.IgnoreOrientation additionally skips EXIF for paths.
//
// # What is exact
//
//   - pixel_values and codebook_pixel_values are bit-identical float32 to
//     transformers' numpy (PIL backends) or torch (torchvision backend)
//     arithmetic whenever the uint8 image is (see pathSettings.pixel).
//   - Baseline JPEGs (Huffman sequential, SOF0/SOF1, 8-bit, gray or YCbCr
//     4:4:4, 4:2:2, 4:2:0, 4:4:0, restart intervals, 8- or 16-bit
//     quantisation tables: what cameras, phones and most encoders write)
//     decode byte-exact with libjpeg-turbo, i.e. with PIL and with
//     torchvision's decode_image: this package's baseline decoder
//     (jpegfast.go) keeps libjpeg's 16-bit coefficients, runs jidctint.c's
//     islow IDCT with jdmaster.c's range limit, then the chroma upsampling
//     and colour conversion below. Enforced on every fixture JPEG
//     (TestDecodeMatchesPIL) and on testdata/pil_decode's Pillow and
//     cjpeg/jpegtran files (TestDecodeModesMatchPIL,
//     TestBaselineJPEGCoverage). For blocks far outside what an encoder of
//     8-bit samples produces, libjpeg-turbo's SIMD IDCT (16-bit
//     intermediates) and its C IDCT disagree; this package follows the C
//     code there.
//   - Decoding of lossless formats (PNG, BMP, GIF first frame, lossless WebP)
//     is byte-exact with PIL's Image.open + convert("RGB") and with
//     torchvision's decode_image: alpha dropped
//     without compositing, gray replicated, palettes expanded with the
//     colours stored in the file (Go's image/gif blanks the transparent
//     entry; PIL does not), 16-bit samples reduced to the high byte except
//     16-bit gray without alpha, which PIL opens as mode "I" and clamps to
//     255 in convert("RGB").
//   - CMYK JPEGs use PIL's cmyk2rgb (nk = 255-K; R = nk - nk*C/255 rounded).
//   - NEAREST (PIL backends) goes through PIL's affine scaling path.
//
// # What is not exact, and by how much
//
// JPEG other than baseline (progressive, arithmetic-coded, CMYK, Adobe or
// RGB-labelled, 4:1:1 and other samplings, several scans) or irregular
// (corrupt Huffman data, data running out, unexpected markers) goes to Go's
// image/jpeg, whose IDCT differs from libjpeg-turbo's ISLOW IDCT by ±1 on
// some samples; upsampling and colour conversion are the exact ones above,
// so on the fixtures' progressive and CMYK files the largest per-byte
// difference from PIL's decode is 3, enforced by TestDecodeMatchesPIL. The
// baseline decoder never accepts a file image/jpeg refuses
// (TestBaselineJPEGDamaged, FuzzBaselineJPEG), so irregular files keep
// image/jpeg's verdict. Lossy WebP (VP8) goes through
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
// normalised), one core: about 330–350 images per CPU second with any
// backend (≈ 3 ms), against 218–228 for transformers 5.23's torchvision
// backend and 102–108 for its PIL backend in the same run (Zen 4, loaded
// machine; BENCHMARKS.md, "Preprocessing: decoder and kernels"). Decoding
// alone ≈ 480 images/cpu-s (libjpeg-turbo: ≈ 565 in PIL, ≈ 600 in
// torchvision), the two resizes from decoded pixels ≈ 1,090–1,320. The hot
// loops have AVX2 kernels chosen at run time (golang.org/x/sys/cpu), each
// with a pure-Go twin that tests force and compare bit for bit: the
// separable resampler (VPMADDWD over int16 taps; PIL's 22-bit taps split in
// halves), the islow IDCT, h2v2 and h2v1 fancy upsampling and the
// YCbCr→RGB conversion. With build tag purego, or on a CPU without AVX2,
// the Go twins run.
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
// before any pixel buffer is allocated. Decode also bounds its work by the
// input: an image above 1 MP may declare at most MaxPixelsPerByte (default
// 4096) pixels per encoded byte, and a JPEG at most 256 scans and 2³²
// scans × pixels; a GIF's frames after the first are not decoded. The
// memory one decode needs is estimated from the header (JPEG sampling and
// progressive mode, PNG bit depth and interlacing, plus the RGB result) and
// must stay under MaxDecodeBytes (default 1 GiB): a progressive JPEG keeps
// every coefficient as an int32 until its last scan, 18 bytes per pixel
// without chroma subsampling, 1.6 GB at PIL's pixel limit. The estimate
// is within a few per cent of what image/jpeg and image/png allocate. Errors
// wrap ErrEmpty, ErrUnknownFormat, ErrTooLarge, ErrCorrupt or ErrMode; no
// input panics, hangs or allocates without bound (FuzzDecodePreprocess runs
// under internal/fuzzguard's time and allocation watchdog).
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
// It imports model/tensor, the standard library, golang.org/x/image (bmp,
// webp decoders) and golang.org/x/sys/cpu (kernel selection), all already
// required by go.mod. It must not import Beam,
// Kafka, Parquet or model/flava. The resampler is hand-written rather than
// taken from a Go imaging library because none reproduces PIL's fixed-point
// arithmetic (nor torch's int16 variant), and a resampler "close" to PIL
// shifts every embedding. It does not decode animations beyond the first
// frame, TIFF, HEIF or AVIF.
package imageproc
