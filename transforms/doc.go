// Package transforms holds the Beam DoFns and composite PTransforms that run
// FLAVA over image–text records: preprocessing, tokenisation, codebook/MIM
// labelling, embedding and scoring, with a per-worker model cache, a
// per-process batcher that coalesces work from concurrent bundles, a
// dead-letter output for every element that cannot be processed, and metrics
// named like Beam Python's RunInference.
//
// It imports model/*, schemas and the Beam Go SDK; it never imports io/* or
// pipelines.
//
// # Transforms
//
// Composites, each taking a PCollection of schemas.ImageText and returning
// (outputs, dead letters of schemas.DeadLetter): Embed (→ schemas.Embedding),
// ScorePairs (→ schemas.Score), ZeroShotClassify (→ schemas.Score with TopK)
// and LabelMIM (→ schemas.MIMLabel). Building blocks: Preprocess (ImageText
// → Prepared with pixel values and/or codebook pixel values), Tokenize
// (Prepared or ImageText → Prepared with token ids), EmbedImages,
// EmbedTexts, EmbedPairs, Score, ZeroShot (optionally with a PCollection of
// labels as side input) and LabelMIMPrepared. Every transform works under
// s.Scope("transforms.<Name>"). Options that fail Validate make the
// constructor panic, as beam.ParDo does for an invalid DoFn (a pipeline
// construction error); call Validate first to get an error instead.
//
// # Memory: one Bundle per worker process
//
// DoFns carry only Options (serialised into the pipeline; weights never
// are) and load the model in Setup through Shared, keyed by Options.ModelKey:
// every DoFn instance, stage and bundle of a process shares one
// pretrained.Bundle. Prism runs the job server and the SDK harness in one
// process, so a local pipeline holds one copy. Dataflow runs one SDK process
// per worker VM (Go), with many bundles on goroutines, so a VM needs the
// weights once (flava-full ≈ 1.4 GB float32, memory-mapped when read from
// safetensors) plus the activations of the batches running at once: one per
// (model, kind) batcher — image, text, image+text, image+text+multimodal,
// codebook — each at most BatchSize records (ViT-B/16 at 224×224: roughly
// 197×768×4 bytes × a few dozen live tensors per image, tens of MB per
// batch of 8). Threads sets the kernels' cores process-wide.
//
// # Batching
//
// One Batcher per (model, kind, batching options) per process, from Shared;
// any number of bundles submit to it and it runs one batch at a time of at
// most BatchSize records, a partial batch after MaxWait. Model DoFns look at
// each element's window:
//
//   - Global window (batch pipelines): records are buffered within the bundle
//     and submitted in chunks of BatchSize with SubmitAllFrom (so chunks from
//     concurrent bundles coalesce), the rest in FinishBundle, and emitted
//     with their saved event times (FinishBundle runs in the global window,
//     which is where these records are). A chunk runs in the background
//     while the bundle decodes and tokenises the next one; its results are
//     emitted at the next flush (at most one chunk in flight per DoFn
//     instance), so preprocessing overlaps the model.
//   - Any other window (streaming, or windowed batch input): each record is
//     submitted alone and emitted from its own ProcessElement, keeping window
//     and timestamp (Beam Go cannot emit into a non-global window from
//     FinishBundle). The batcher still coalesces records of concurrent
//     bundles, so batches are larger than the runner's tiny streaming
//     bundles.
//
// A partial batch waits at most MaxWait for company, and not at all once
// every bundle that is submitting to the batcher is blocked waiting for
// results (no further record can arrive then). Bundles are producers keyed
// by the harness's bundle (instruction) ID, entered on their first record
// and left in FinishBundle; the DoFns of one fused bundle share the key, as
// they share its goroutine. So a lone bundle (prism runs a windowed batch
// input serially) does not pay MaxWait per record, while concurrent bundles
// still share batches. A bundle that fails before FinishBundle stays
// entered, which only brings back the MaxWait wait.
//
// Records are validated, decoded and tokenised per element before batching;
// inputs of different shapes (images resized to different sizes when
// resizing is off) run in separate sub-batches. When a batch's model call
// fails (error or panic) its records are retried one by one, so only the bad
// record is dead-lettered (model_error) and the batch is counted in
// failed_batches_counter. Every output vector is checked for NaN/Inf
// (non_finite_output).
//
// # Dead letters
//
// Each DeadLetter has the record ID, the stage, a schemas.Reason* code, the
// error message and the original record encoded with schemas.CodecJSON
// (records that codec refuses — invalid UTF-8, no input at all — are
// marshalled as plain JSON, where invalid bytes become U+FFFD). Reasons:
// invalid_text (a field is not UTF-8), missing_input (no input at all, or
// not the modality the stage needs, e.g. no image for EmbedImages, no text
// for EmbedTexts), read_error (ImageURI unreadable), decode_error,
// image_too_large (declared width×height above MaxPixels, refused before
// decoding), model_error, non_finite_output.
//
// # Text without tokens
//
// A text that BertTokenizer turns into [CLS] [SEP] alone — whitespace,
// control and format characters only, e.g. "   " or "\t\n" — is treated
// exactly as "": the record has no text. transformers gives such a text and
// "" the same input_ids ([CLS] [SEP]), so the two cannot differ in HF
// either; flavabeam reads both as "no text" rather than embedding the empty
// sequence. So an image with such a text gets an image-only embedding, a
// text-only record is dead-lettered missing_input (the message says the
// text has no tokens), and pairs scoring dead-letters it missing_input. To
// reproduce a row in Python, pass text=None for such texts.
//
// # Metrics
//
// Namespace "flavabeam". Counters: num_inferences (records run through the
// model), failed_batches_counter, dead_letters and dead_letters_<reason>.
// Distributions: inference_batch_latency_micro_secs,
// inference_request_batch_size, inference_queue_wait_micro_secs (per
// record, submit → batch start), load_model_latency_milli_secs and
// model_byte_size (once per load, from the DoFn instance that loaded), and
// per-stage latencies decode_latency_micro_secs, resize_latency_micro_secs,
// tokenize_latency_micro_secs, encode_latency_micro_secs. A batch holds
// records of several bundles; its metrics are reported once, by the bundle
// that submitted its first record.
//
// Deliberately not done: Teardown does not close the shared Bundle (other
// DoFn instances of the process keep using it; Forget drops it), ImageURI
// schemes other than local paths need their Beam filesystem imported by the
// pipeline (e.g. beam/io/filesystem/gcs), and the batcher is hand-written
// rather than Beam's GroupIntoBatches because that needs keyed input and a
// shuffle, and batches per key rather than per worker process.
package transforms
