package flava

import "testing"

// TestPackedWeightBytesMatchDoc checks the packed-copy sizes the package doc
// quotes for flava-full (the default config). The zero-weight models are
// allocated but never touched, so this costs address space, not memory.
func TestPackedWeightBytesMatchDoc(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates flava-full-sized (untouched) weights")
	}
	fp, err := NewForPreTraining(Config{})
	if err != nil {
		t.Fatal(err)
	}
	mb := func(v any) int64 { return (packedWeightBytes(v) + 500_000) / 1_000_000 }
	for _, c := range []struct {
		name string
		v    any
		want int64
	}{
		{"image encoder", fp.Flava.ImageModel, 342},
		{"text encoder", fp.Flava.TextModel, 342},
		{"multimodal encoder", fp.Flava.MultimodalModel, 172},
		{"FlavaModel", fp.Flava, 866},
		{"FlavaForPreTraining", fp, 1116},
	} {
		if got := mb(c.v); got != c.want {
			t.Errorf("%s: packed copy %d MB, doc says %d MB", c.name, got, c.want)
		}
	}
}
