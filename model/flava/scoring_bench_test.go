package flava

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// BenchmarkZeroShot1000Labels classifies one 224×224 image among 1000 labels
// whose vectors were computed beforehand, with the image encoder of
// flava-full's shape (ViT-B/16, 768 hidden, 12 layers; random weights). The
// text and multimodal encoders are tiny: they do not run here.
func BenchmarkZeroShot1000Labels(b *testing.B) {
	small := func(h int) (int, int, int, int) { return h, 1, 1, h }
	th, tl, ta, ti := small(32)
	mh, ml, ma, mi := small(32)
	cfg := Config{
		TextConfig:       TextConfig{HiddenSize: th, NumHiddenLayers: tl, NumAttentionHeads: ta, IntermediateSize: ti, VocabSize: 64, MaxPositionEmbeddings: 16},
		MultimodalConfig: MultimodalConfig{HiddenSize: mh, NumHiddenLayers: ml, NumAttentionHeads: ma, IntermediateSize: mi},
	}
	m, err := NewRandom(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	s := NewScorer(m)
	const labels = 1000
	rng := rand.New(rand.NewPCG(5, 6))
	names := make([]string, labels)
	vecs := make([][]float32, labels)
	for i := range vecs {
		names[i] = fmt.Sprintf("label %d", i)
		vecs[i] = make([]float32, s.ProjectionDim())
		for j := range vecs[i] {
			vecs[i][j] = float32(rng.NormFloat64())
		}
	}
	z, err := NewZeroShotClassifierFromVectors(names, vecs, s.LogitScale())
	if err != nil {
		b.Fatal(err)
	}
	px := tensor.New(1, 3, 224, 224)
	for i := range px.Data {
		px.Data[i] = float32(rng.NormFloat64())
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := z.Classify(s, ImageInput{PixelValues: px}, 5); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
