package flava_test

import (
	"fmt"
	"log"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// Retrieval, matching and zero-shot with facebook/flava-full. pixels come
// from model/imageproc (B×3×224×224), ids and masks from model/tokenizer.
func ExampleScorer() {
	m, err := flava.LoadForPreTraining("path/to/flava-full")
	if err != nil {
		log.Print(err)
		return
	}
	defer m.Close()
	s := flava.NewPretrainingScorer(m)

	var pixels *tensor.Tensor   // B×3×224×224
	var ids, mask *tensor.Int64 // B×L
	var tokenize func([]string) (flava.TextInput, error)

	// Unit-norm CLS projections: what the contrastive head compares (not
	// FlavaModel's image_embeddings, which are full sequences).
	imgs, _ := s.ImageVectors(flava.ImageInput{PixelValues: pixels})
	txts, _ := s.TextVectors(flava.TextInput{InputIDs: ids, AttentionMask: mask})
	sim, _ := flava.Similarity(imgs, txts) // cosine, N×M

	// P(image i matches text i).
	p, _ := s.MatchProbabilities(flava.ModelInput{PixelValues: pixels, InputIDs: ids, AttentionMask: mask})

	// Zero-shot: label prompts encoded once, reused for every image.
	z, err := flava.NewZeroShotClassifier([]string{"cat", "dog"}, s.TextVectorFunc(tokenize), s.LogitScale(), flava.ZeroShotConfig{})
	if err != nil {
		log.Print(err)
		return
	}
	top, _ := z.Classify(s, flava.ImageInput{PixelValues: pixels}, 1)
	fmt.Println(sim, p, top)
}
