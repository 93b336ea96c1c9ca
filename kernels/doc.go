// Package kernels holds the float32 compute primitives the FLAVA model needs:
// matrix multiplication (Sgemm, Linear), layer normalisation (LayerNorm,
// AddLayerNorm), softmax, activations (GELU and AddBiasGELU fast paths),
// multi-head Attention, 2-D convolution, max pooling and bicubic
// interpolation, all on plain []float32 in row-major order.
//
// Every routine has a plain-Go reference implementation (sgemmRef, geluRef,
// layerNormRowRef, softmaxRowRef, attentionRef); the fast paths are tested
// against them on odd sizes with guard bands. Sgemm is a packed, cache-blocked
// GotoBLAS/BLIS-style loop nest (kc 256, mc 240, nc 1536) around a 6×16
// register-blocked micro-kernel written in Go assembly for amd64 (AVX2+FMA and
// AVX-512);
// GELU's erfc and Softmax's exp are vectorised in the same file family. The
// assembly is hand-written rather than generated (avo) to keep the module free
// of a generator dependency; it is a few hundred lines with one macro per
// inner step.
//
// The float32 micro-kernel has four paths with bit-identical results on the
// three SIMD ones: "avx512" (6×16 on ZMM, chosen wherever the CPU has
// AVX-512), "avx512-12x16" (two 6×16 tiles stacked: twelve accumulators,
// chosen instead where a ZMM FMA measures ≥ 1.5× a YMM one's flop rate, i.e.
// two 512-bit FMA units), "avx2" and "go"; GEMMPaths lists them,
// SetGEMMPath forces one (defaultGEMMPath gives the measured rule). When a
// product's threads split C by columns, A is packed once and shared instead
// of once per thread. BenchmarkFMAPeak measures the ceiling of each
// ISA present: YMM and ZMM FMA, and VDPBF16PS on YMM and ZMM.
//
// bfloat16 products: PackWeightsBF16 rounds a Linear weight to bf16 (round
// to nearest even) and packs it once; SgemmPackedBF16 and LinearPackedBF16
// round the activations to bf16 on entry (VCVTNE2PS2BF16) and run a 12×32
// VDPBF16PS micro-kernel with float32 accumulation. Go's assembler has no
// AVX512_BF16 mnemonics, so bf16_gen.go writes those instructions as EVEX
// bytes (checked against GNU as). Every element is accumulated in one fixed
// order, the one VDPBF16PS defines, which the plain-Go twin bf16KernelGo
// reproduces bit for bit; on CPUs without AVX512_BF16 that twin runs instead,
// about 100× slower than the native kernel (BF16Native reports which).
//
// An AMX path exists but is opt-in and unverified: kernAMXBF16 (TDPBF16PS on
// 16×16 tiles, 32×32 blocks of C, the same packed weights; its tile
// instructions are bytes from bf16_gen.go, checked against GNU as and, as a
// whole, against objdump) has never run, because no machine this project ran
// on has AMX. Its plain-Go twin amxKernelGo (TDPBF16PS as the SDM's
// pseudo-code defines it) drives the AMX loop nest in tests on any CPU.
// BF16Paths lists "go", "avx512bf16" and, where the CPU has AMX-BF16 and
// Linux grants the tile state (arch_prctl, amxEnable), "amx"; SetBF16Path or
// the environment variable FLAVABEAM_BF16_PATH (read once at start-up;
// BF16PathEnv says if it was ignored) selects one. The default stays
// "avx512bf16" (else "go") and never "amx" until an AMX machine has run
//
//	go test ./kernels -run 'AMX|BF16' -v   # TestAMXCeilingLoop, TestAMXKernelMatchesGo,
//	                                       # TestSgemmPackedBF16AMX must PASS, not SKIP
//	go test ./kernels -run XXX -bench 'FMAPeak|SgemmBF16' -benchtime 10x -count 2
//	FLAVABEAM_BF16_PATH=amx go test ./model/flava -run BF16 -v
//	FLAVABEAM_BF16_PATH=amx go test ./model/flava -run XXX -bench 'EncoderBF16|ModelBF16' -benchtime 5x
//
// (the last against the same command without the variable). If the tests
// pass and "amx" beats "bf16" in BenchmarkSgemmBF16, the switch is
// defaultBF16Path in bf16_path.go (prefer "amx" when amxAvailable), with
// the "unverified" notes here, on kernAMXBF16 and in BENCHMARKS.kernels.md
// replaced by the measurements. The AMX nest takes only weights whose
// even-padded input dimension is a multiple of 32 (FLAVA's 768 and 3072
// are); others, and Conv2DNHWCBF16, keep the VDPBF16PS kernel. Its results
// differ from the VDPBF16PS path in rounding (TDPBF16PS sums even and odd
// products separately), within the float32 accumulation error.
//
// Conv2DNHWCBF16 runs a stride-1 NHWC convolution through the same bf16
// loop nest: weights rounded and packed once (PackConvWeightsBF16), the
// input rounded once per call, im2col rows built per block of pixels.
//
// With AVX-512, GELU/AddBiasGELU and the Conv2DNHWC micro-kernel also run on
// ZMM registers, bit-identical to their AVX2 versions (tests force both).
//
// Weights that never change are packed once, not per call: PackWeights lays a
// PyTorch Linear weight out as Sgemm's B panels (SgemmPacked, LinearPacked:
// bit-identical to Sgemm with transB), and PackConvWeights lays a convolution
// weight out for Conv2DNHWC, a direct stride-1 NHWC convolution whose 6-pixel
// × 16-channel micro-kernel reads the pixels straight from a zero-padded copy
// of the input (no im2col). The packed copies cost as much memory as the
// weights themselves; the model package says how much per model.
//
// Pure Go is always available: the build tag purego, any non-amd64
// architecture, or a CPU without AVX2/FMA (detected at run time with
// golang.org/x/sys/cpu) selects the portable micro-kernel and the float64
// references. No cgo: Dataflow rebuilds workers with CGO_ENABLED=0 and its
// container has no BLAS, so a BLAS binding would not survive deployment.
//
// Work is spread over one per-process pool of Threads()-1 worker goroutines
// (SetThreads): a chunk goes to a worker only if one is idle, else it runs on
// the caller, so concurrent callers — for example several Beam bundles in one
// worker process — share the cores instead of oversubscribing them. Idle
// workers, and callers waiting for their chunks, spin for 200 µs before
// blocking (SetSpin; 0 turns it off), so that the back-to-back parallel
// sections of a forward pass find the other cores awake. The fast kernels
// use pooled scratch and closure-free dispatch: in steady state they do not
// allocate. Products that take a bias (LinearPackedEpilogue and its bf16
// twin) apply it, with a GELU or as a residual, inside the same parallel
// section.
//
// This package imports only the standard library and golang.org/x/sys/cpu. It
// does not know about tensors, shapes beyond what each call takes, or models.
// Shape mismatches are programmer errors and panic.
package kernels
