package tokenizer

import "testing"

// benchCaptions are COCO-style captions (mixed case, punctuation, a few
// accents), the FLAVA pretraining text distribution.
var benchCaptions = []string{
	"A man riding a wave on top of a surfboard.",
	"Two dogs playing in the snow near an old red barn",
	"A plate of food with broccoli, rice and grilled chicken.",
	"A group of people standing around a kitchen counter while a woman cuts a cake.",
	"The Eiffel Tower at night, lit up against a dark blue sky",
	"a close-up of a cat's face with green eyes",
	"A RED DOUBLE-DECKER BUS DRIVES DOWN THE STREET",
	"Café terrace in Paris with people drinking coffee and reading newspapers.",
	"A child in a yellow raincoat jumps into a puddle on a rainy day.",
	"An airplane is flying over the mountains; snow covers the peaks.",
}

// BenchmarkEncodeCaptions measures FLAVA's text preprocessing: one caption
// to 77 ids + type ids + attention mask + tokens, on one goroutine.
func BenchmarkEncodeCaptions(b *testing.B) {
	tk := bertUncased(b)
	tokens := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := tk.Encode(benchCaptions[i%len(benchCaptions)], EncodeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range e.AttentionMask {
			tokens += int(m)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/s, "captions/s")
	b.ReportMetric(float64(tokens)/s, "tokens/s")
}

// BenchmarkAppendIDs is the allocation-free core: ids only, reused buffer.
func BenchmarkAppendIDs(b *testing.B) {
	tk := bertUncased(b)
	var ids []int32
	tokens := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		ids, err = tk.AppendIDs(ids[:0], benchCaptions[i%len(benchCaptions)])
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(ids)
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/s, "captions/s")
	b.ReportMetric(float64(tokens)/s, "tokens/s")
}
