package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Header is one Kafka record header. It mirrors kafka-go's and franz-go's
// header types so this package does not depend on either client.
type Header struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// Header keys of the binary ImageText codec. Each may appear at most once.
// Headers with other keys are ignored, so producers may add their own.
const (
	// HeaderSchemaVersion: decimal SchemaVersion; absent means 1.
	HeaderSchemaVersion = "flavabeam-schema-version"
	// HeaderID: ImageText.ID; absent means the Kafka key.
	HeaderID = "flavabeam-id"
	// HeaderText: ImageText.Text, UTF-8.
	HeaderText = "flavabeam-text"
	// HeaderImageURI: ImageText.ImageURI.
	HeaderImageURI = "flavabeam-image-uri"
	// HeaderLabels: ImageText.Labels as a JSON array of strings.
	HeaderLabels = "flavabeam-labels"
	// HeaderMetadata: ImageText.Metadata as a JSON object of strings.
	HeaderMetadata = "flavabeam-metadata"
	// HeaderEventTime: ImageText.EventTime in RFC 3339 with nanoseconds.
	HeaderEventTime = "flavabeam-event-time"
)

// Codec selects how an ImageText is laid out in a Kafka record. The zero
// value is CodecJSON.
type Codec int

const (
	// CodecJSON: the value is one JSON object with the ImageText json fields
	// plus "schema_version"; the image is base64 in "image".
	CodecJSON Codec = iota
	// CodecBinary: the value is the raw image bytes (possibly empty); the
	// other fields travel in the Header* headers. Cheaper for large images
	// and readable by consumers that only want the image.
	CodecBinary
)

// String returns "json" or "binary".
func (c Codec) String() string {
	switch c {
	case CodecJSON:
		return "json"
	case CodecBinary:
		return "binary"
	}
	return "Codec(" + strconv.Itoa(int(c)) + ")"
}

// ParseCodec parses "json" or "binary" (case-insensitive).
func ParseCodec(s string) (Codec, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "json":
		return CodecJSON, nil
	case "binary":
		return CodecBinary, nil
	}
	return 0, fmt.Errorf("schemas: unknown codec %q (want json or binary)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (c Codec) MarshalText() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Codec) UnmarshalText(b []byte) error {
	v, err := ParseCodec(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Validate reports whether c is one of the defined codecs.
func (c Codec) Validate() error {
	if c != CodecJSON && c != CodecBinary {
		return fmt.Errorf("schemas: Codec: unknown value %d", int(c))
	}
	return nil
}

// imageTextWire is the JSON layout of an ImageText payload.
type imageTextWire struct {
	SchemaVersion *int `json:"schema_version,omitempty"`
	ImageText
}

// EncodeImageText lays rec out as a Kafka record: key is rec.ID (nil when
// empty). The record must pass Validate, so that every encoded payload
// decodes.
func (c Codec) EncodeImageText(rec ImageText) (key, value []byte, headers []Header, err error) {
	if err := c.Validate(); err != nil {
		return nil, nil, nil, err
	}
	if err := rec.Validate(); err != nil {
		return nil, nil, nil, fmt.Errorf("schemas: encode: %w", err)
	}
	if rec.ID != "" {
		key = []byte(rec.ID)
	}
	if c == CodecJSON {
		v := SchemaVersion
		value, err = json.Marshal(imageTextWire{SchemaVersion: &v, ImageText: rec})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("schemas: encode %q: %w", rec.ID, err)
		}
		return key, value, nil, nil
	}
	headers = append(headers, Header{HeaderSchemaVersion, []byte(strconv.Itoa(SchemaVersion))})
	if rec.ID != "" {
		headers = append(headers, Header{HeaderID, []byte(rec.ID)})
	}
	if rec.Text != "" {
		headers = append(headers, Header{HeaderText, []byte(rec.Text)})
	}
	if rec.ImageURI != "" {
		headers = append(headers, Header{HeaderImageURI, []byte(rec.ImageURI)})
	}
	if len(rec.Labels) > 0 {
		b, err := json.Marshal(rec.Labels)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("schemas: encode %q labels: %w", rec.ID, err)
		}
		headers = append(headers, Header{HeaderLabels, b})
	}
	if len(rec.Metadata) > 0 {
		b, err := json.Marshal(rec.Metadata)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("schemas: encode %q metadata: %w", rec.ID, err)
		}
		headers = append(headers, Header{HeaderMetadata, b})
	}
	if !rec.EventTime.IsZero() {
		headers = append(headers, Header{HeaderEventTime, []byte(rec.EventTime.UTC().Format(time.RFC3339Nano))})
	}
	return key, rec.Image, headers, nil
}

// DecodeImageText parses a Kafka record written by EncodeImageText with the
// same codec (or by any producer following the same layout). The ID comes
// from the payload, else from the key. EventTime is returned in UTC; empty
// Image, Labels and Metadata are returned nil. Every failure wraps
// ErrMalformedPayload, and also ErrUnsupportedVersion, ErrInvalidText or
// ErrMissingInput where that is the cause; pass the error to ReasonOf for a
// dead-letter code. value is not retained: Image is a copy.
func (c Codec) DecodeImageText(key, value []byte, headers []Header) (ImageText, error) {
	if err := c.Validate(); err != nil {
		return ImageText{}, err
	}
	var rec ImageText
	var err error
	if c == CodecJSON {
		rec, err = decodeJSONImageText(value)
	} else {
		rec, err = decodeBinaryImageText(value, headers)
	}
	if err != nil {
		return ImageText{}, err
	}
	if rec.ID == "" && len(key) > 0 {
		rec.ID = string(key)
	}
	if !rec.EventTime.IsZero() {
		rec.EventTime = rec.EventTime.UTC()
	}
	if len(rec.Image) == 0 {
		rec.Image = nil
	}
	if len(rec.Labels) == 0 {
		rec.Labels = nil
	}
	if len(rec.Metadata) == 0 {
		rec.Metadata = nil
	}
	if err := rec.Validate(); err != nil {
		return ImageText{}, malformed(err)
	}
	return rec, nil
}

// malformed wraps err so that it matches ErrMalformedPayload too.
func malformed(err error) error {
	if errors.Is(err, ErrMalformedPayload) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrMalformedPayload, err)
}

func checkVersion(v int) error {
	if v > SchemaVersion {
		return malformed(fmt.Errorf("schemas: schema_version %d is newer than supported %d: %w", v, SchemaVersion, ErrUnsupportedVersion))
	}
	if v < 1 {
		return fmt.Errorf("schemas: schema_version %d: %w", v, ErrMalformedPayload)
	}
	return nil
}

// decodeVersionedJSON unmarshals value into dst (a wire struct whose
// SchemaVersion field is read through version) and checks the version. When
// the full decode fails it still reports a newer version as such, since a
// future layout may legitimately not fit today's types.
func decodeVersionedJSON(value []byte, dst any, version func() *int) error {
	if len(value) == 0 {
		return fmt.Errorf("schemas: empty payload: %w", ErrMalformedPayload)
	}
	if !utf8.Valid(value) {
		// encoding/json would silently replace bad bytes with U+FFFD.
		return malformed(fmt.Errorf("schemas: JSON payload is not valid UTF-8: %w", ErrInvalidText))
	}
	if err := json.Unmarshal(value, dst); err != nil {
		var peek struct {
			SchemaVersion int `json:"schema_version"`
		}
		if json.Unmarshal(value, &peek) == nil && peek.SchemaVersion > SchemaVersion {
			return checkVersion(peek.SchemaVersion)
		}
		return fmt.Errorf("schemas: JSON payload: %w: %v", ErrMalformedPayload, err)
	}
	if v := version(); v != nil {
		return checkVersion(*v)
	}
	return nil
}

func decodeJSONImageText(value []byte) (ImageText, error) {
	var w imageTextWire
	if err := decodeVersionedJSON(value, &w, func() *int { return w.SchemaVersion }); err != nil {
		return ImageText{}, err
	}
	return w.ImageText, nil
}

func decodeBinaryImageText(value []byte, headers []Header) (ImageText, error) {
	var rec ImageText
	seen := make(map[string]bool, 8)
	for _, h := range headers {
		if !strings.HasPrefix(h.Key, "flavabeam-") {
			continue
		}
		switch h.Key {
		case HeaderSchemaVersion, HeaderID, HeaderText, HeaderImageURI, HeaderLabels, HeaderMetadata, HeaderEventTime:
		default:
			continue // a header of a later minor revision; ignored
		}
		if seen[h.Key] {
			return ImageText{}, fmt.Errorf("schemas: header %q repeated: %w", h.Key, ErrMalformedPayload)
		}
		seen[h.Key] = true
		switch h.Key {
		case HeaderSchemaVersion:
			v, err := strconv.Atoi(string(h.Value))
			if err != nil {
				return ImageText{}, fmt.Errorf("schemas: header %q = %q: %w", h.Key, h.Value, ErrMalformedPayload)
			}
			if err := checkVersion(v); err != nil {
				return ImageText{}, err
			}
		case HeaderID, HeaderText, HeaderImageURI:
			if !utf8.Valid(h.Value) {
				return ImageText{}, malformed(fmt.Errorf("schemas: header %q is not valid UTF-8: %w", h.Key, ErrInvalidText))
			}
			switch h.Key {
			case HeaderID:
				rec.ID = string(h.Value)
			case HeaderText:
				rec.Text = string(h.Value)
			default:
				rec.ImageURI = string(h.Value)
			}
		case HeaderLabels:
			if err := unmarshalHeaderJSON(h, &rec.Labels); err != nil {
				return ImageText{}, err
			}
		case HeaderMetadata:
			if err := unmarshalHeaderJSON(h, &rec.Metadata); err != nil {
				return ImageText{}, err
			}
		case HeaderEventTime:
			t, err := time.Parse(time.RFC3339Nano, string(h.Value))
			if err != nil {
				return ImageText{}, fmt.Errorf("schemas: header %q: %w: %v", h.Key, ErrMalformedPayload, err)
			}
			rec.EventTime = t
		}
	}
	if len(value) > 0 {
		rec.Image = append([]byte(nil), value...)
	}
	return rec, nil
}

func unmarshalHeaderJSON(h Header, dst any) error {
	if !utf8.Valid(h.Value) {
		return malformed(fmt.Errorf("schemas: header %q is not valid UTF-8: %w", h.Key, ErrInvalidText))
	}
	if err := json.Unmarshal(h.Value, dst); err != nil {
		return fmt.Errorf("schemas: header %q: %w: %v", h.Key, ErrMalformedPayload, err)
	}
	return nil
}
