// Package schemas defines the records flavabeam reads and writes and the byte
// codecs that carry them in Kafka messages.
//
// The record types (ImageText in; Embedding, Score, MIMLabel and DeadLetter
// out) carry json tags for Kafka payloads and parquet tags for parquet-go, so
// the same struct is a Beam element, a Kafka message and a Parquet row.
// SchemaVersion is written into every encoded payload; decoders reject
// versions newer than they know.
//
// Two codecs carry ImageText in a Kafka record: CodecJSON (one JSON object,
// image bytes base64) and CodecBinary (value = the raw image bytes, every other
// field in "flavabeam-*" headers). Outputs are encoded as JSON only. Header is
// declared here, not taken from kafka-go, so this package stays independent of
// any client.
//
// This package imports the standard library only: io/*, transforms and
// pipelines import it, never the reverse, and it must not import Beam, Kafka or
// Parquet libraries. It deliberately does not resolve ImageURI, decode images,
// cap image sizes or tokenize text: those belong to the transforms that know
// the configured limits. Decoders check structure (valid JSON, known version,
// valid UTF-8, at least one input) and wrap ErrMalformedPayload so a caller can
// dead-letter the message with ReasonOf(err).
package schemas
