package flava_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// tinyFixture is the shared "tiny" FLAVA checkpoint directory (config.json +
// model.safetensors), found like internal/fixtures does.
func tinyFixture() string {
	if root := os.Getenv("FLAVABEAM_FIXTURES"); root != "" {
		return filepath.Join(root, "tiny")
	}
	return filepath.Join("..", "..", "..", "shared", "fixtures", "tiny")
}

// unitRow returns row 0 of a B×S×D tensor's token 0, L2-normalised: the
// vector FLAVA's contrastive head compares.
func unitRow(t *tensor.Tensor) []float64 {
	d := t.Shape[2]
	v := make([]float64, d)
	var n float64
	for i := range v {
		v[i] = float64(t.Data[i])
		n += v[i] * v[i]
	}
	for i := range v {
		v[i] /= math.Sqrt(n)
	}
	return v
}

// Load a checkpoint directory, run the image and text encoders, and get the
// projected vectors used for image-text retrieval.
func Example() {
	dir := tinyFixture()
	model, err := flava.LoadModel(dir) // a directory with config.json and model.safetensors or pytorch_model.bin
	if err != nil {
		fmt.Println(err)
		return
	}
	defer model.Source.Close()

	// Pixel values come from the image processor (B×3×S×S, normalised); here
	// they are read from the fixture's inputs.
	inputs, err := checkpoint.OpenSafetensors(filepath.Join(dir, "inputs.safetensors"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer inputs.Close()
	pixels, _ := inputs.Float32("pixel_values")
	first := tensor.FromData(pixels.Row(0), append([]int{1}, pixels.Shape[1:]...)...)

	// "[CLS] a photo of a cat . [SEP]" as BERT ids (the tokenizer produces these).
	ids := &tensor.Int64{Shape: []int{1, 8}, Data: []int64{101, 1037, 6302, 1997, 1037, 4937, 1012, 102}}

	img, err := model.ImageModel.Forward(flava.ImageInput{PixelValues: first})
	if err != nil {
		fmt.Println(err)
		return
	}
	txt, err := model.TextModel.Forward(flava.TextInput{InputIDs: ids})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("image tokens:", img.LastHiddenState.Shape, "pooled:", img.PooledOutput.Shape)
	fmt.Println("text tokens:", txt.LastHiddenState.Shape)

	// Retrieval vectors: projections of every token; token 0 is the embedding.
	imageFeatures, _ := model.GetImageFeatures(flava.ImageInput{PixelValues: first})
	textFeatures, _ := model.GetTextFeatures(flava.TextInput{InputIDs: ids})
	iv, tv := unitRow(imageFeatures), unitRow(textFeatures)
	var cos float64
	for i := range iv {
		cos += iv[i] * tv[i]
	}
	fmt.Println("features:", imageFeatures.Shape, textFeatures.Shape)
	fmt.Printf("cosine similarity in [-1, 1]: %t\n", cos >= -1 && cos <= 1)
	// Output:
	// image tokens: [1 17 32] pooled: [1 32]
	// text tokens: [1 8 32]
	// features: [1 17 16] [1 8 16]
	// cosine similarity in [-1, 1]: true
}
