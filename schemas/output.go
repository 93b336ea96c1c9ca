package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNonFinite: an output record holds NaN or ±Inf, which JSON cannot carry.
var ErrNonFinite = errors.New("non-finite value")

// Wire layouts of the output payloads: the record's json fields plus
// "schema_version".
type (
	embeddingWire struct {
		SchemaVersion *int `json:"schema_version,omitempty"`
		Embedding
	}
	scoreWire struct {
		SchemaVersion *int `json:"schema_version,omitempty"`
		Score
	}
	mimLabelWire struct {
		SchemaVersion *int `json:"schema_version,omitempty"`
		MIMLabel
	}
	deadLetterWire struct {
		SchemaVersion *int `json:"schema_version,omitempty"`
		DeadLetter
	}
)

func encodeOutput(id string, w any) (key, value []byte, err error) {
	value, err = json.Marshal(w)
	if err != nil {
		var uv *json.UnsupportedValueError
		if errors.As(err, &uv) {
			return nil, nil, fmt.Errorf("schemas: encode %q: %w: %v", id, ErrNonFinite, err)
		}
		return nil, nil, fmt.Errorf("schemas: encode %q: %w", id, err)
	}
	if id != "" {
		key = []byte(id)
	}
	return key, value, nil
}

func version() *int { v := SchemaVersion; return &v }

// EncodeEmbedding returns the Kafka key (the ID) and JSON value of e. NaN or
// Inf in a vector gives an error wrapping ErrNonFinite.
func EncodeEmbedding(e Embedding) (key, value []byte, err error) {
	return encodeOutput(e.ID, embeddingWire{version(), e})
}

// EncodeScore returns the Kafka key (the ID) and JSON value of s.
func EncodeScore(s Score) (key, value []byte, err error) {
	return encodeOutput(s.ID, scoreWire{version(), s})
}

// EncodeMIMLabel returns the Kafka key (the ID) and JSON value of m.
func EncodeMIMLabel(m MIMLabel) (key, value []byte, err error) {
	return encodeOutput(m.ID, mimLabelWire{version(), m})
}

// EncodeDeadLetter returns the Kafka key (the ID) and JSON value of d; the
// payload bytes travel base64-encoded.
func EncodeDeadLetter(d DeadLetter) (key, value []byte, err error) {
	return encodeOutput(d.ID, deadLetterWire{version(), d})
}

// DecodeEmbedding parses a value written by EncodeEmbedding. Errors wrap
// ErrMalformedPayload (and ErrUnsupportedVersion for newer versions).
func DecodeEmbedding(value []byte) (Embedding, error) {
	var w embeddingWire
	if err := decodeVersionedJSON(value, &w, func() *int { return w.SchemaVersion }); err != nil {
		return Embedding{}, err
	}
	return w.Embedding, nil
}

// DecodeScore parses a value written by EncodeScore.
func DecodeScore(value []byte) (Score, error) {
	var w scoreWire
	if err := decodeVersionedJSON(value, &w, func() *int { return w.SchemaVersion }); err != nil {
		return Score{}, err
	}
	return w.Score, nil
}

// DecodeMIMLabel parses a value written by EncodeMIMLabel.
func DecodeMIMLabel(value []byte) (MIMLabel, error) {
	var w mimLabelWire
	if err := decodeVersionedJSON(value, &w, func() *int { return w.SchemaVersion }); err != nil {
		return MIMLabel{}, err
	}
	return w.MIMLabel, nil
}

// DecodeDeadLetter parses a value written by EncodeDeadLetter.
func DecodeDeadLetter(value []byte) (DeadLetter, error) {
	var w deadLetterWire
	if err := decodeVersionedJSON(value, &w, func() *int { return w.SchemaVersion }); err != nil {
		return DeadLetter{}, err
	}
	return w.DeadLetter, nil
}
