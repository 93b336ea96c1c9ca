// Package flava is a float32, inference-only Go port of Hugging Face
// transformers' FLAVA encoders (modeling_flava.py, configuration_flava.py):
// FlavaImageModel, FlavaTextModel, FlavaMultimodalModel and FlavaModel, with
// their configurations, loaded from the same checkpoint files
// (model.safetensors or pytorch_model.bin of facebook/flava-full and of
// FlavaModel / sub-model checkpoints) and giving the same numbers within
// float32 rounding.
//
// The code mirrors the reference one type per HF module: ImageEmbeddings
// (FlavaImageEmbeddings), PatchEmbeddings, TextEmbeddings, SelfAttention,
// Attention, Intermediate, Output, Layer, Encoder, Pooler, ImageModel,
// TextModel, MultimodalModel and Model. Struct fields carry `st` tags with the
// state-dict names, bound once by checkpoint.Bind, and each Forward reads top to
// bottom like its Python twin, so the two files can be compared side by side.
//
// Usage (the runnable version is Example in example_test.go):
//
//	m, err := flava.LoadModel("path/to/flava-full") // config.json + model.safetensors or pytorch_model.bin
//	if err != nil { ... }
//	defer m.Source.Close()
//	img, err := m.ImageModel.Forward(flava.ImageInput{PixelValues: pixels}) // pixels: B×3×224×224
//	txt, err := m.TextModel.Forward(flava.TextInput{InputIDs: ids, AttentionMask: mask})
//	// img.LastHiddenState (B×197×768), img.PooledOutput (B×768), txt.LastHiddenState (B×L×768)
//	iv, err := m.GetImageFeatures(flava.ImageInput{PixelValues: pixels}) // B×197×768 projections
//	tv, err := m.GetTextFeatures(flava.TextInput{InputIDs: ids, AttentionMask: mask})
//	// token 0 of iv and tv, L2-normalised, are the retrieval embeddings
//	out, err := m.Forward(flava.ModelInput{PixelValues: pixels, InputIDs: ids, AttentionMask: mask})
//	// out.MultimodalEmbeddings: B×(1+197+L)×768
//
// LoadImageModel, LoadTextModel and LoadMultimodalModel load one encoder from
// a FlavaForPreTraining, FlavaModel or standalone checkpoint; NewRandom builds
// any architecture with deterministic random weights.
//
// Weights bound from a memory-mapped file are read-only; no Forward writes to
// weights or to the caller's input tensors, and a loaded model may be used by
// many goroutines at once.
//
// Speed and memory: the models run a fused, in-place path (layers.go, the
// unexported forward methods): the residual stream is updated in place, the
// residual additions are accumulated by the GEMMs themselves (beta = 1), a
// packed Linear's bias (and the intermediate's exact GELU) is applied inside
// the product call by each thread to its own block (kernels.Epilogue: one
// parallel section per Linear instead of two),
// attention reads Q, K and V in nn.Linear's layout (kernels.Attention, no
// permute copies), and the image patch Conv2d is a matrix product of a patch
// matrix written straight into the token rows. Scratch memory lives in a
// Workspace. ForwardInto(ws, out, in) methods reuse a caller's Workspace and
// output tensors and allocate nothing in steady state (the benchmarks report
// 0 allocs/op); the Forward methods borrow a Workspace from a package free
// list and allocate only the output tensors they return. The exported
// per-module Forward methods (Layer.Forward, Encoder.Forward, ...) remain the
// plain, allocating, one-module-one-call mirror of modeling_flava.py, against
// which the fused path is tested.
//
// Packed weights: every Linear made by this package (encoder attention
// query/key/value and output, intermediate and output dense layers, poolers,
// projections, pretraining heads) packs its weight once, on its first
// product, into the panel layout the GEMM micro-kernel reads
// (kernels.PackedWeights), instead of repacking it on every call; that
// packing was ~13 % of the text encoder's time at 8×16 tokens. The results
// are bit-identical to the unpacked path. The packed copy is as large as the
// Linear weights it copies and stays for the model's lifetime: for
// flava-full 342 MB per used encoder for the image and text encoders, 172 MB
// for the multimodal one, 866 MB with all three and the four projections,
// 1116 MB for FlavaForPreTraining with its heads (counted by
// packedWeightBytes); only the Linears a workload runs are packed, since
// packing is lazy. SetPackedWeights(false) on a model turns it off (products
// pack on every call again, no extra memory) and drops the copies. Packing
// is safe under concurrent forwards (the first caller packs, others wait). A
// Weight replaced by another tensor is packed again on its next product, but
// a weight modified in place keeps serving the old packed copy: call
// SetPackedWeights(false) then SetPackedWeights(true) after editing weights
// in place.
//
// Precision: SetPrecision(PrecisionBF16) on a model runs every Linear
// product (the Q, K, V, output, MLP, pooler, projection and head layers,
// about 96 % of an encoder's flops at 197 tokens) in bfloat16: each weight is
// rounded to bf16 (round to nearest even) and packed once, on its first
// product, into kernels.PackedWeightsBF16 (half the size of the float32
// packed copy, which is dropped); the activations entering the product are
// rounded to bf16 on the fly; accumulation is float32. Everything else stays
// float32: LayerNorm, softmax, GELU, the attention products Q·Kᵀ and P·V, the
// patch embedding and the image codebook, which has its own
// ImageCodebook.SetPrecision: at bf16 its convolutions run as bf16 GEMMs
// (kernels.Conv2DNHWCBF16; weights rounded and packed once, feature maps
// rounded on entry to each convolution; bias, residual sums, pooling and the
// argmax stay float32), and TestCodebookBF16AgreesWithF32 bounds how many
// token ids change. The default is PrecisionF32, with
// the parity fixtures' exact results; SetPrecision(PrecisionF32) restores
// them bit for bit. bf16 needs native VDPBF16PS (AVX512_BF16: AMD Zen 4,
// Intel Cooper Lake and Sapphire Rapids and later); elsewhere SetPrecision
// returns ErrBF16Unsupported rather than run the plain-Go emulation, which is
// about a hundred times slower than float32. TestBF16MatchesF32 bounds the
// error on every fixture; BENCHMARKS.md has the measured errors and speed.
//
// Imports: the standard library, kernels, model/tensor and model/checkpoint.
// It must not import Beam, Kafka, Parquet or anything above model/ in the
// dependency order. All arithmetic goes through package kernels.
//
// Deliberately not done: training (no dropout, no gradients), output
// attentions, relative position embeddings (HF's FlavaTextEmbeddings ignores
// position_embedding_type too), the image encoder's raw attention_mask
// argument (FlavaModel's image_attention_mask; no FLAVA processor produces
// one), and half-precision storage (F16/BF16 checkpoints are widened to
// float32 when loaded; bf16 compute is the Precision option above). The pretraining heads and the image codebook live in
// other files of this package, written separately.
package flava
