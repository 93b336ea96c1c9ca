package kafkaio

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/flavabeam/flavabeam/internal/fuzzguard"
)

func sampleRecords() []Record {
	return []Record{
		{},
		{Topic: "t", Partition: 3, Offset: 42, Key: []byte("k"), Value: []byte{}, Timestamp: time.UnixMilli(1700000000123)},
		{Topic: "images", Partition: -1, Offset: -1, Value: bytes.Repeat([]byte{0xff}, 5000),
			Headers: []Header{{Key: "content-type", Value: []byte("image/jpeg")}, {Key: "empty", Value: []byte{}}, {Key: "nil"}}},
		{Topic: "out", Key: []byte("id-7"), Value: []byte("{}"),
			Source: Position{Topic: "in", Partition: 2, Offset: 1 << 40, From: 1<<40 - 3, Base: 5}},
	}
}

func TestRecordCoderRoundTrip(t *testing.T) {
	for i, r := range sampleRecords() {
		got, err := DecodeRecord(AppendRecord(nil, r))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !got.Timestamp.Equal(r.Timestamp) {
			t.Errorf("record %d: timestamp %v, want %v", i, got.Timestamp, r.Timestamp)
		}
		got.Timestamp, r.Timestamp = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("record %d: got %#v, want %#v", i, got, r)
		}
	}
}

func TestDecodeRecordRejectsMalformed(t *testing.T) {
	good := AppendRecord(nil, sampleRecords()[2])
	for _, b := range [][]byte{
		nil,
		{3},                                   // unknown version
		good[:len(good)-1],                    // truncated
		append(good[:len(good):len(good)], 0), // trailing byte
		{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // huge topic length
	} {
		if _, err := DecodeRecord(b); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("DecodeRecord(% x) error = %v, want ErrCorruptRecord", b, err)
		}
	}
}

// FuzzDecodeRecord checks that arbitrary bytes never panic and that whatever
// decodes re-encodes to the same bytes. Seeds: testdata/fuzz/FuzzDecodeRecord.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(AppendRecord(nil, r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			r, err := DecodeRecord(b)
			if err != nil {
				if !errors.Is(err, ErrCorruptRecord) {
					t.Fatalf("error %v does not wrap ErrCorruptRecord", err)
				}
				return
			}
			again, err := DecodeRecord(AppendRecord(nil, r))
			if err != nil {
				t.Fatalf("re-decoding: %v", err)
			}
			if !reflect.DeepEqual(again, r) {
				t.Fatalf("round trip changed the record: %#v vs %#v", again, r)
			}
		})
	})
}
