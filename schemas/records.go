package schemas

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// SchemaVersion is the version of the record layouts in this package. It is
// written as "schema_version" into every JSON payload and as the
// HeaderSchemaVersion header of binary payloads. Decoders accept payloads of
// this version or older (a missing version is read as 1) and reject newer ones
// with ErrUnsupportedVersion.
const SchemaVersion = 1

// ImageText is one input record: an image, a text, or an image–text pair.
// At least one of Image, ImageURI and Text must be set (see Validate).
//
// In Parquet every column but id is optional, so files written by other tools
// (pyarrow and DuckDB write optional columns by default) map onto it.
type ImageText struct {
	// ID identifies the record; outputs and dead letters carry it unchanged.
	ID string `json:"id" parquet:"id"`
	// Image holds the encoded image file bytes (JPEG, PNG, WebP, ...); optional.
	Image []byte `json:"image,omitempty" parquet:"image,optional"`
	// ImageURI names the image when Image is empty: a file path or URI. This
	// package does not resolve it; optional.
	ImageURI string `json:"image_uri,omitempty" parquet:"image_uri,optional"`
	// Text is the caption or query text, UTF-8; optional.
	Text string `json:"text,omitempty" parquet:"text,optional"`
	// Labels are the candidate labels for zero-shot classification; optional.
	Labels []string `json:"labels,omitempty" parquet:"labels,optional,list"`
	// Metadata is passed through untouched; optional. Parquet: MAP<STRING,STRING>.
	Metadata map[string]string `json:"metadata,omitempty" parquet:"metadata,optional"`
	// EventTime is when the record happened (zero: unknown). Parquet:
	// TIMESTAMP(MICROS, UTC), null when zero.
	EventTime time.Time `json:"event_time,omitzero" parquet:"event_time,optional,timestamp(microsecond)"`
	// Source is where the record was read from when that is a Kafka
	// partition; not part of any payload (see SourcePosition).
	Source SourcePosition `json:"-" parquet:"-"`
}

// Validate checks what every consumer of an ImageText relies on: ID, Text,
// ImageURI, Labels and Metadata are valid UTF-8 (ErrInvalidText) and at least one of Image, ImageURI and Text
// is present (ErrMissingInput). It does not decode the image.
func (r ImageText) Validate() error {
	if !utf8.ValidString(r.ID) {
		return fmt.Errorf("schemas: id is not valid UTF-8: %w", ErrInvalidText)
	}
	if !utf8.ValidString(r.Text) {
		return fmt.Errorf("schemas: record %q: text is not valid UTF-8: %w", r.ID, ErrInvalidText)
	}
	if !utf8.ValidString(r.ImageURI) {
		return fmt.Errorf("schemas: record %q: image_uri is not valid UTF-8: %w", r.ID, ErrInvalidText)
	}
	for i, l := range r.Labels {
		if !utf8.ValidString(l) {
			return fmt.Errorf("schemas: record %q: label %d is not valid UTF-8: %w", r.ID, i, ErrInvalidText)
		}
	}
	for k, v := range r.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("schemas: record %q: metadata %q is not valid UTF-8: %w", r.ID, k, ErrInvalidText)
		}
	}
	if len(r.Image) == 0 && r.ImageURI == "" && r.Text == "" {
		return fmt.Errorf("schemas: record %q has no image, image_uri or text: %w", r.ID, ErrMissingInput)
	}
	return nil
}

// Embedding is the output of the embedding stage for one record. Each vector
// is present only when that modality was embedded; its length is the
// embedding dimension. Parquet: LIST<FLOAT>, null when absent.
type Embedding struct {
	// ID is the input record's ID.
	ID string `json:"id" parquet:"id"`
	// ModelID names the checkpoint that produced the vectors, e.g. "facebook/flava-full".
	ModelID string `json:"model_id" parquet:"model_id"`
	// ImageVector is the image embedding (the pipeline configuration says
	// whether it is the projected, L2-normalised CLS vector); optional.
	ImageVector []float32 `json:"image_vector,omitempty" parquet:"image_vector,optional,list"`
	// TextVector is the text embedding; optional.
	TextVector []float32 `json:"text_vector,omitempty" parquet:"text_vector,optional,list"`
	// MultimodalVector is the multimodal encoder's CLS vector; optional.
	MultimodalVector []float32 `json:"multimodal_vector,omitempty" parquet:"multimodal_vector,optional,list"`
	// EventTime is copied from the input record (zero: unknown).
	EventTime time.Time `json:"event_time,omitzero" parquet:"event_time,optional,timestamp(microsecond)"`
	// Source is where the input record was read from when that is a Kafka
	// partition; not part of any payload (see SourcePosition).
	Source SourcePosition `json:"-" parquet:"-"`
}

// Float returns a pointer to v, for Score's optional fields.
func Float(v float32) *float32 { return &v }

// LabelScore is one zero-shot label and its probability.
type LabelScore struct {
	// Label is the candidate label text.
	Label string `json:"label" parquet:"label"`
	// Probability is the softmax probability of Label among the candidates.
	Probability float32 `json:"probability" parquet:"probability"`
}

// Score is the output of the scoring stage for one record. A score the job
// does not compute is nil: JSON null, Parquet null. Pairs mode
// (image–text pairs) sets ContrastiveSimilarity and ContrastiveLogit, and
// ITMProbability when the checkpoint has FlavaForPreTraining's itm_head;
// zero-shot sets only TopK. (Until these fields were pointers, an absent
// score was written as 0; JSON readers of either layout accept both.)
type Score struct {
	// ID is the input record's ID.
	ID string `json:"id" parquet:"id"`
	// ModelID names the checkpoint that produced the scores.
	ModelID string `json:"model_id" parquet:"model_id"`
	// ContrastiveSimilarity is the cosine similarity of the normalised
	// projected image and text CLS vectors, in [-1, 1]; nil when not
	// computed.
	ContrastiveSimilarity *float32 `json:"contrastive_similarity" parquet:"contrastive_similarity,optional"`
	// ContrastiveLogit is ContrastiveSimilarity scaled by the model's
	// logit scale (exp(logit_scale)), as in FlavaModel's logits_per_image;
	// nil when not computed.
	ContrastiveLogit *float32 `json:"contrastive_logit" parquet:"contrastive_logit,optional"`
	// ITMProbability is the image–text matching head's probability that the
	// pair matches (softmax of the two ITM logits, class 1); nil when not
	// computed (zero-shot, or a checkpoint without itm_head).
	ITMProbability *float32 `json:"itm_probability" parquet:"itm_probability,optional"`
	// TopK holds the best zero-shot labels, most probable first; optional.
	TopK []LabelScore `json:"top_k,omitempty" parquet:"top_k,optional,list"`
	// EventTime is copied from the input record (zero: unknown).
	EventTime time.Time `json:"event_time,omitzero" parquet:"event_time,optional,timestamp(microsecond)"`
	// Source is where the input record was read from when that is a Kafka
	// partition; not part of any payload (see SourcePosition).
	Source SourcePosition `json:"-" parquet:"-"`
}

// MIMLabel holds the masked-image-modelling targets for one image: the
// image codebook's token per patch and the positions the mask covers.
type MIMLabel struct {
	// ID is the input record's ID.
	ID string `json:"id" parquet:"id"`
	// ModelID names the codebook checkpoint, e.g. "facebook/flava-image-codebook".
	ModelID string `json:"model_id" parquet:"model_id"`
	// GridH and GridW are the patch grid size (14×14 for flava-full).
	GridH int32 `json:"grid_h" parquet:"grid_h"`
	GridW int32 `json:"grid_w" parquet:"grid_w"`
	// CodebookIDs is the codebook token (0..vocab-1) of each patch, row-major
	// over the GridH×GridW grid.
	CodebookIDs []int32 `json:"codebook_ids" parquet:"codebook_ids,list"`
	// MaskedPositions are the row-major indices of the masked patches, ascending.
	MaskedPositions []int32 `json:"masked_positions" parquet:"masked_positions,list"`
	// MaskSeed is the seed the mask generator used, so the mask can be
	// regenerated. Parquet: INT64 annotated unsigned.
	MaskSeed uint64 `json:"mask_seed" parquet:"mask_seed"`
	// EventTime is copied from the input record (zero: unknown).
	EventTime time.Time `json:"event_time,omitzero" parquet:"event_time,optional,timestamp(microsecond)"`
	// Source is where the input record was read from when that is a Kafka
	// partition; not part of any payload (see SourcePosition).
	Source SourcePosition `json:"-" parquet:"-"`
}

// DeadLetter records an input that could not be processed, and why.
type DeadLetter struct {
	// ID is the input record's ID when it was known.
	ID string `json:"id,omitempty" parquet:"id,optional"`
	// Stage names the step that failed, e.g. "pipelines.DecodeKafka",
	// "transforms.Preprocess".
	Stage string `json:"stage" parquet:"stage"`
	// Reason is one of the Reason* codes.
	Reason string `json:"reason" parquet:"reason"`
	// Message is the human-readable error text.
	Message string `json:"message" parquet:"message"`
	// Payload holds the original bytes (Kafka value, or the offending row
	// re-encoded) when available; optional.
	Payload []byte `json:"payload,omitempty" parquet:"payload,optional"`
	// Time is when the failure was recorded.
	Time time.Time `json:"time,omitzero" parquet:"time,optional,timestamp(microsecond)"`
	// PayloadTruncated is true when Payload was cut to fit the dead-letter
	// topic's message size limit; PayloadBytes is then the original size.
	// Kafka sinks only (Parquet has no such limit and omits both).
	PayloadTruncated bool  `json:"payload_truncated,omitempty" parquet:"-"`
	PayloadBytes     int64 `json:"payload_bytes,omitempty" parquet:"-"`
	// Headers are the Kafka headers of the input record, so that a dead
	// letter of a Kafka record can be replayed to its topic as it was.
	// Kafka sinks only (Parquet omits them).
	Headers []Header `json:"headers,omitempty" parquet:"-"`
	// Source is where the input record was read from when that is a Kafka
	// partition; not part of any payload (see SourcePosition).
	Source SourcePosition `json:"-" parquet:"-"`
}

// SourcePosition is where an input record was read from when its source is
// a Kafka partition. Pipelines carry it from the input record to the output
// or dead letter written for it, so that offsets are committed only once
// those writes are acknowledged (see io/kafkaio's Commit). It is never part
// of a payload: JSON and Parquet skip it. Zero (Topic ""): no position.
//
// Offsets [From, Offset] of the partition hold no other record of the read;
// Base is the offset the read of the partition started at.
type SourcePosition struct {
	Topic     string
	Partition int32
	Offset    int64
	From      int64
	Base      int64
}
