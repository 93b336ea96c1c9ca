// Package pretrained resolves a model source — a local Hugging Face model
// directory, a Hub id such as facebook/flava-full (found in the local Hugging
// Face cache or downloaded into it), or the built-in "tiny-random" model — into
// a Bundle: the FLAVA weights with their heads, the image codebook, the image
// processor and the tokenizer configured as that checkpoint's files say.
//
// It sits at the top of model/ (it imports model/flava, model/imageproc,
// model/tokenizer, model/hub and model/checkpoint) and must not import Beam,
// Kafka, Parquet or anything above model/. It does not cache bundles per
// process; transforms does that.
package pretrained
