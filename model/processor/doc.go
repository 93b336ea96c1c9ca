// Package processor is FLAVA's FlavaProcessor: encoded (or decoded) images
// and texts in, exactly the tensors FlavaModel / FlavaForPreTraining take out
// (pixel_values, codebook_pixel_values, bool_masked_pos, input_ids,
// attention_mask, token_type_ids), plus a seedable masked-language-model
// collator with transformers' DataCollatorForLanguageModeling semantics
// (input_ids_masked, mlm_labels) for pretraining.
//
// It imports model/tokenizer, model/imageproc and model/tensor (and the
// standard library); it must not import Beam, Kafka, Parquet or model/flava.
//
// Deliberately not done: reproducing torch's random streams. The MLM
// collator draws from a PCG generator (math/rand/v2), so a seed gives the same
// masks on every platform and Go version but not the masks PyTorch would
// draw; the tests check the collator's distribution and invariants instead.
// Texts are padded to max_length 77 by default (FLAVA's pretraining call),
// not left unpadded as a bare FlavaProcessor call would.
package processor
