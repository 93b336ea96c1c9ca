package schemas

import "errors"

// Dead-letter reason codes, the values of DeadLetter.Reason. They are stable
// strings: dashboards and replay tools match on them.
const (
	// ReasonPayload: a Kafka message or row is not a well-formed record.
	ReasonPayload = "malformed_payload"
	// ReasonUnsupportedVersion: the payload's schema_version is newer than this build.
	ReasonUnsupportedVersion = "unsupported_schema_version"
	// ReasonMissingInput: the record has no image, image URI or text.
	ReasonMissingInput = "missing_input"
	// ReasonRead: a file or URI could not be read.
	ReasonRead = "read_error"
	// ReasonDecode: the image bytes could not be decoded.
	ReasonDecode = "decode_error"
	// ReasonTooLarge: the image exceeds the configured size limits.
	ReasonTooLarge = "image_too_large"
	// ReasonEmptyText: text is required by the stage but empty. The
	// transforms no longer write it (a text without tokens counts as no
	// text: missing_input where text is needed); it stays for readers of
	// older dead letters.
	ReasonEmptyText = "empty_text"
	// ReasonInvalidText: text is not valid UTF-8 or cannot be tokenized.
	ReasonInvalidText = "invalid_text"
	// ReasonModel: the model failed on this input.
	ReasonModel = "model_error"
	// ReasonNonFinite: the model produced NaN or Inf.
	ReasonNonFinite = "non_finite_output"
	// ReasonWrite: the output record could not be encoded or written.
	ReasonWrite = "write_error"
	// ReasonUnknown: an error this package has no code for.
	ReasonUnknown = "unknown"
)

// Sentinel errors. Decoders wrap ErrMalformedPayload around every failure, and
// additionally the more specific sentinel where one applies, so both
// errors.Is(err, ErrMalformedPayload) and errors.Is(err, ErrInvalidText) hold
// for a payload with non-UTF-8 text.
var (
	// ErrMalformedPayload: the bytes are not a well-formed record.
	ErrMalformedPayload = errors.New("malformed payload")
	// ErrUnsupportedVersion: the payload's schema version is newer than SchemaVersion.
	ErrUnsupportedVersion = errors.New("unsupported schema version")
	// ErrInvalidText: a text field is not valid UTF-8.
	ErrInvalidText = errors.New("invalid text")
	// ErrMissingInput: the record has no image, image URI or text.
	ErrMissingInput = errors.New("missing input")
)

// ReasonOf maps an error from this package to a dead-letter reason code:
// the most specific sentinel wins. Errors it does not know give ReasonUnknown;
// nil gives "".
func ReasonOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrUnsupportedVersion):
		return ReasonUnsupportedVersion
	case errors.Is(err, ErrInvalidText):
		return ReasonInvalidText
	case errors.Is(err, ErrMissingInput):
		return ReasonMissingInput
	case errors.Is(err, ErrNonFinite):
		return ReasonNonFinite
	case errors.Is(err, ErrMalformedPayload):
		return ReasonPayload
	}
	return ReasonUnknown
}
