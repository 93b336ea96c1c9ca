package schemas

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleImageText() ImageText {
	return ImageText{
		ID:        "rec-1",
		Image:     []byte{0xff, 0xd8, 0xff, 0x00, 0x01, 0x80},
		ImageURI:  "gs://bucket/img.jpg",
		Text:      "a cat on a mat — ünïcödé",
		Labels:    []string{"cat", "dog, with comma"},
		Metadata:  map[string]string{"source": "test", "k": ""},
		EventTime: time.Date(2025, 3, 4, 5, 6, 7, 891234000, time.UTC),
	}
}

func TestImageTextRoundTripsThroughBothCodecs(t *testing.T) {
	cases := map[string]ImageText{
		"full":       sampleImageText(),
		"image only": {ID: "i", Image: []byte{1, 2, 3}},
		"text only":  {ID: "t", Text: "hello"},
		"uri only":   {ID: "u", ImageURI: "/tmp/x.png"},
		"no id":      {Text: "anonymous"},
	}
	for _, c := range []Codec{CodecJSON, CodecBinary} {
		for name, rec := range cases {
			t.Run(c.String()+"/"+name, func(t *testing.T) {
				key, value, headers, err := c.EncodeImageText(rec)
				if err != nil {
					t.Fatal(err)
				}
				if string(key) != rec.ID {
					t.Errorf("key = %q, want %q", key, rec.ID)
				}
				got, err := c.DecodeImageText(key, value, headers)
				if err != nil {
					t.Fatal(err)
				}
				if !got.EventTime.Equal(rec.EventTime) {
					t.Errorf("EventTime = %v, want %v", got.EventTime, rec.EventTime)
				}
				got.EventTime, rec.EventTime = time.Time{}, time.Time{}
				if !reflect.DeepEqual(got, rec) {
					t.Errorf("round trip:\n got %#v\nwant %#v", got, rec)
				}
			})
		}
	}
}

func TestBinaryCodecCarriesRawImageAndHeaders(t *testing.T) {
	rec := sampleImageText()
	key, value, headers, err := CodecBinary.EncodeImageText(rec)
	if err != nil {
		t.Fatal(err)
	}
	if string(value) != string(rec.Image) {
		t.Errorf("value is not the raw image")
	}
	if string(key) != "rec-1" {
		t.Errorf("key = %q", key)
	}
	want := map[string]string{
		HeaderSchemaVersion: "1",
		HeaderID:            "rec-1",
		HeaderText:          rec.Text,
		HeaderImageURI:      rec.ImageURI,
		HeaderLabels:        `["cat","dog, with comma"]`,
		HeaderMetadata:      `{"k":"","source":"test"}`,
		HeaderEventTime:     "2025-03-04T05:06:07.891234Z",
	}
	got := map[string]string{}
	for _, h := range headers {
		got[h.Key] = string(h.Value)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("headers:\n got %v\nwant %v", got, want)
	}
	// Foreign headers are ignored; the key is used when no id header exists.
	rest := []Header{{"traceparent", []byte{0xff}}, {"flavabeam-future-field", []byte("x")}}
	for _, h := range headers {
		if h.Key != HeaderID {
			rest = append(rest, h)
		}
	}
	dec, err := CodecBinary.DecodeImageText([]byte("from-key"), value, rest)
	if err != nil {
		t.Fatal(err)
	}
	if dec.ID != "from-key" {
		t.Errorf("ID = %q, want the key", dec.ID)
	}
}

func TestJSONCodecLayout(t *testing.T) {
	_, value, headers, err := CodecJSON.EncodeImageText(ImageText{ID: "x", Image: []byte("hi"), Text: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if headers != nil {
		t.Errorf("JSON codec wrote headers %v", headers)
	}
	want := `{"schema_version":1,"id":"x","image":"aGk=","text":"t"}`
	if string(value) != want {
		t.Errorf("value = %s, want %s", value, want)
	}
	// A producer that omits schema_version is read as version 1.
	rec, err := CodecJSON.DecodeImageText(nil, []byte(`{"id":"y","text":"t","event_time":"2024-01-02T03:04:05+02:00"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != "y" || rec.EventTime.Location() != time.UTC || rec.EventTime.Hour() != 1 {
		t.Errorf("decoded %+v", rec)
	}
}

func TestDecodeRejectsMalformedPayloads(t *testing.T) {
	type tc struct {
		codec   Codec
		value   string
		headers []Header
		reason  string
		also    error
	}
	cases := map[string]tc{
		"json empty":          {CodecJSON, "", nil, ReasonPayload, nil},
		"json truncated":      {CodecJSON, `{"id":"a","text":"b"`, nil, ReasonPayload, nil},
		"json trailing":       {CodecJSON, `{"id":"a","text":"b"} x`, nil, ReasonPayload, nil},
		"json wrong type":     {CodecJSON, `{"id":5,"text":"b"}`, nil, ReasonPayload, nil},
		"json bad base64":     {CodecJSON, `{"id":"a","image":"!!!"}`, nil, ReasonPayload, nil},
		"json array":          {CodecJSON, `[1,2]`, nil, ReasonPayload, nil},
		"json null":           {CodecJSON, `null`, nil, ReasonMissingInput, ErrMissingInput},
		"json no input":       {CodecJSON, `{"id":"a"}`, nil, ReasonMissingInput, ErrMissingInput},
		"json future":         {CodecJSON, `{"schema_version":2,"id":"a","text":"b"}`, nil, ReasonUnsupportedVersion, ErrUnsupportedVersion},
		"json future layout":  {CodecJSON, `{"schema_version":9,"id":{"new":"layout"}}`, nil, ReasonUnsupportedVersion, ErrUnsupportedVersion},
		"json version zero":   {CodecJSON, `{"schema_version":0,"id":"a","text":"b"}`, nil, ReasonPayload, nil},
		"json non-utf8 text":  {CodecJSON, "{\"id\":\"a\",\"text\":\"\xff\xfe\"}", nil, ReasonInvalidText, ErrInvalidText},
		"binary no input":     {CodecBinary, "", []Header{{HeaderID, []byte("a")}}, ReasonMissingInput, ErrMissingInput},
		"binary future":       {CodecBinary, "img", []Header{{HeaderSchemaVersion, []byte("2")}}, ReasonUnsupportedVersion, ErrUnsupportedVersion},
		"binary bad version":  {CodecBinary, "img", []Header{{HeaderSchemaVersion, []byte("one")}}, ReasonPayload, nil},
		"binary non-utf8":     {CodecBinary, "", []Header{{HeaderText, []byte{0xc3, 0x28}}}, ReasonInvalidText, ErrInvalidText},
		"binary dup header":   {CodecBinary, "img", []Header{{HeaderText, []byte("a")}, {HeaderText, []byte("b")}}, ReasonPayload, nil},
		"binary bad labels":   {CodecBinary, "img", []Header{{HeaderLabels, []byte(`["a",`)}}, ReasonPayload, nil},
		"binary label type":   {CodecBinary, "img", []Header{{HeaderLabels, []byte(`[1]`)}}, ReasonPayload, nil},
		"binary bad metadata": {CodecBinary, "img", []Header{{HeaderMetadata, []byte(`{"a":1}`)}}, ReasonPayload, nil},
		"binary bad time":     {CodecBinary, "img", []Header{{HeaderEventTime, []byte("yesterday")}}, ReasonPayload, nil},
		"binary utf8 label":   {CodecBinary, "img", []Header{{HeaderLabels, []byte("[\"\xff\"]")}}, ReasonInvalidText, ErrInvalidText},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.codec.DecodeImageText(nil, []byte(c.value), c.headers)
			if err == nil {
				t.Fatal("decoded without error")
			}
			if !errors.Is(err, ErrMalformedPayload) {
				t.Errorf("error %v does not wrap ErrMalformedPayload", err)
			}
			if c.also != nil && !errors.Is(err, c.also) {
				t.Errorf("error %v does not wrap %v", err, c.also)
			}
			if got := ReasonOf(err); got != c.reason {
				t.Errorf("ReasonOf = %q, want %q (err %v)", got, c.reason, err)
			}
		})
	}
}

func TestEncodeRejectsInvalidRecords(t *testing.T) {
	for _, c := range []Codec{CodecJSON, CodecBinary} {
		if _, _, _, err := c.EncodeImageText(ImageText{ID: "a", Text: "\xff"}); !errors.Is(err, ErrInvalidText) {
			t.Errorf("%v: non-UTF-8 text: err = %v", c, err)
		}
		if _, _, _, err := c.EncodeImageText(ImageText{ID: "a"}); !errors.Is(err, ErrMissingInput) {
			t.Errorf("%v: empty record: err = %v", c, err)
		}
	}
	if _, _, _, err := Codec(7).EncodeImageText(ImageText{Text: "a"}); err == nil {
		t.Error("unknown codec accepted")
	}
	if _, err := Codec(7).DecodeImageText(nil, []byte("{}"), nil); err == nil {
		t.Error("unknown codec accepted")
	}
}

func TestParseCodec(t *testing.T) {
	for _, c := range []Codec{CodecJSON, CodecBinary} {
		got, err := ParseCodec(strings.ToUpper(c.String()))
		if err != nil || got != c {
			t.Errorf("ParseCodec(%q) = %v, %v", c, got, err)
		}
		b, err := c.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Codec
		if err := back.UnmarshalText(b); err != nil || back != c {
			t.Errorf("text round trip of %v: %v, %v", c, back, err)
		}
	}
	if _, err := ParseCodec("avro"); err == nil {
		t.Error("ParseCodec(avro) succeeded")
	}
	if _, err := Codec(3).MarshalText(); err == nil {
		t.Error("MarshalText of Codec(3) succeeded")
	}
}

func TestOutputRecordsRoundTrip(t *testing.T) {
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	e := Embedding{ID: "e", ModelID: "facebook/flava-full", ImageVector: []float32{0.5, -1.25}, TextVector: []float32{3}, EventTime: ts}
	s := Score{ID: "s", ModelID: "m", ContrastiveSimilarity: Float(0.25), ContrastiveLogit: Float(25), ITMProbability: Float(0.75),
		TopK: []LabelScore{{"cat", 0.875}, {"dog", 0.125}}, EventTime: ts}
	m := MIMLabel{ID: "m", ModelID: "cb", GridH: 2, GridW: 2, CodebookIDs: []int32{1, 8191, 0, 5}, MaskedPositions: []int32{0, 3}, MaskSeed: math.MaxUint64}
	d := DeadLetter{ID: "d", Stage: "preprocess", Reason: ReasonDecode, Message: "bad jpeg", Payload: []byte{0, 1, 0xff}, Time: ts}

	check := func(name string, key, value []byte, err error, id string, decode func([]byte) (any, error), want any) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(key) != id {
			t.Errorf("%s: key %q", name, key)
		}
		if !strings.HasPrefix(string(value), `{"schema_version":1,`) {
			t.Errorf("%s: value %s lacks schema_version", name, value)
		}
		got, err := decode(value)
		if err != nil {
			t.Fatalf("%s decode: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", name, got, want)
		}
	}
	k, v, err := EncodeEmbedding(e)
	check("embedding", k, v, err, "e", func(b []byte) (any, error) { return DecodeEmbedding(b) }, e)
	k, v, err = EncodeScore(s)
	check("score", k, v, err, "s", func(b []byte) (any, error) { return DecodeScore(b) }, s)
	k, v, err = EncodeMIMLabel(m)
	check("mim", k, v, err, "m", func(b []byte) (any, error) { return DecodeMIMLabel(b) }, m)
	k, v, err = EncodeDeadLetter(d)
	check("deadletter", k, v, err, "d", func(b []byte) (any, error) { return DecodeDeadLetter(b) }, d)

	if _, err := DecodeScore([]byte(`{"schema_version":3,"id":"s"}`)); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("future Score version: %v", err)
	}
	if _, err := DecodeEmbedding([]byte(`{"id":`)); !errors.Is(err, ErrMalformedPayload) {
		t.Errorf("truncated Embedding: %v", err)
	}
}

func TestNonFiniteOutputIsReported(t *testing.T) {
	_, _, err := EncodeEmbedding(Embedding{ID: "n", ImageVector: []float32{float32(math.NaN())}})
	if !errors.Is(err, ErrNonFinite) || ReasonOf(err) != ReasonNonFinite {
		t.Errorf("NaN: err = %v, reason %q", err, ReasonOf(err))
	}
	_, _, err = EncodeScore(Score{ID: "n", ContrastiveLogit: Float(float32(math.Inf(1)))})
	if !errors.Is(err, ErrNonFinite) {
		t.Errorf("Inf: err = %v", err)
	}
}

func TestReasonOf(t *testing.T) {
	if ReasonOf(nil) != "" {
		t.Error("ReasonOf(nil) not empty")
	}
	if ReasonOf(errors.New("x")) != ReasonUnknown {
		t.Error("foreign error not ReasonUnknown")
	}
}

// A zero-shot Score computes no pair scores: they are JSON null, not 0, and
// decode back to nil.
func TestUncomputedScoresAreNull(t *testing.T) {
	zs := Score{ID: "z", ModelID: "m", TopK: []LabelScore{{"cat", 1}}}
	_, v, err := EncodeScore(zs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{`"contrastive_similarity":null`, `"contrastive_logit":null`, `"itm_probability":null`} {
		if !strings.Contains(string(v), f) {
			t.Errorf("zero-shot payload lacks %s: %s", f, v)
		}
	}
	got, err := DecodeScore(v)
	if err != nil || got.ContrastiveSimilarity != nil || got.ContrastiveLogit != nil || got.ITMProbability != nil {
		t.Errorf("decoded %+v, %v; want nil scores", got, err)
	}
	// A payload written before the fields could be null still decodes.
	old, err := DecodeScore([]byte(`{"schema_version":1,"id":"o","model_id":"m","contrastive_similarity":0.5,"contrastive_logit":0,"itm_probability":0}`))
	if err != nil || old.ContrastiveSimilarity == nil || *old.ContrastiveSimilarity != 0.5 {
		t.Errorf("older payload: %+v, %v", old, err)
	}
}
