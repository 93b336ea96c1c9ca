package schemas

import (
	"errors"
	"reflect"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fuzzguard"
)

// FuzzDecodeImageText feeds arbitrary bytes to both codecs. The binary codec
// reads the input as a value plus up to two headers carved out of it. Any
// record that decodes must re-encode and decode to the same record; every
// failure must wrap ErrMalformedPayload. Seeds live in testdata/fuzz.
func FuzzDecodeImageText(f *testing.F) {
	for _, c := range []Codec{CodecJSON, CodecBinary} {
		_, v, hs, err := c.EncodeImageText(sampleImageText())
		if err != nil {
			f.Fatal(err)
		}
		var h1, h2 string
		var v1, v2 []byte
		if len(hs) > 1 {
			h1, v1, h2, v2 = hs[1].Key, hs[1].Value, hs[2].Key, hs[2].Value
		}
		f.Add(uint8(c), []byte("k"), v, h1, v1, h2, v2)
	}
	f.Fuzz(func(t *testing.T, codec uint8, key, value []byte, h1 string, v1 []byte, h2 string, v2 []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			c := Codec(codec % 2)
			headers := []Header{{h1, v1}, {h2, v2}}
			rec, err := c.DecodeImageText(key, value, headers)
			if err != nil {
				if !errors.Is(err, ErrMalformedPayload) {
					t.Fatalf("error does not wrap ErrMalformedPayload: %v", err)
				}
				if ReasonOf(err) == ReasonUnknown {
					t.Fatalf("no reason for %v", err)
				}
				return
			}
			if err := rec.Validate(); err != nil {
				t.Fatalf("decoded record is invalid: %v", err)
			}
			for _, c2 := range []Codec{CodecJSON, CodecBinary} {
				k2, val2, hs2, err := c2.EncodeImageText(rec)
				if err != nil {
					t.Fatalf("re-encode %v: %v", c2, err)
				}
				back, err := c2.DecodeImageText(k2, val2, hs2)
				if err != nil {
					t.Fatalf("re-decode %v: %v", c2, err)
				}
				if !back.EventTime.Equal(rec.EventTime) {
					t.Fatalf("%v: event time %v != %v", c2, back.EventTime, rec.EventTime)
				}
				back.EventTime = rec.EventTime
				if !reflect.DeepEqual(back, rec) {
					t.Fatalf("%v: round trip\n got %#v\nwant %#v", c2, back, rec)
				}
			}
		})
	})
}

// FuzzDecodeOutputs checks the output decoders never panic and fail only with
// ErrMalformedPayload.
func FuzzDecodeOutputs(f *testing.F) {
	for _, seed := range []string{`{"schema_version":1,"id":"e","image_vector":[1,2]}`, `{"id":"s","top_k":[{"label":"a","probability":0.5}]}`, `{"schema_version":2}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			_, e1 := DecodeEmbedding(value)
			_, e2 := DecodeScore(value)
			_, e3 := DecodeMIMLabel(value)
			_, e4 := DecodeDeadLetter(value)
			for _, err := range []error{e1, e2, e3, e4} {
				if err != nil && !errors.Is(err, ErrMalformedPayload) {
					t.Fatalf("error does not wrap ErrMalformedPayload: %v", err)
				}
			}
		})
	})
}
