package pretrained_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/model/tokenizer"
)

// From image bytes and a caption to retrieval vectors and their similarity.
// Replace pretrained.TinyRandom with "facebook/flava-full" (downloaded into
// the Hugging Face cache on first use) or a local model directory.
func Example() {
	ctx := context.Background()
	b, err := pretrained.Load(ctx, pretrained.TinyRandom, pretrained.Options{})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	// Any JPEG/PNG/GIF/BMP/WebP bytes; here a generated gradient.
	img := image.NewRGBA(image.Rect(0, 0, 96, 80))
	for y := 0; y < 80; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.RGBA{uint8(2 * x), uint8(3 * y), 128, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)

	rgb, err := b.Images.Decode(buf.Bytes()) // EXIF orientation applied, pixel limit enforced
	if err != nil {
		panic(err)
	}
	c, h, w := b.Images.PixelShape(rgb.W, rgb.H)
	pixels := tensor.FromData(b.Images.PixelValues(rgb), 1, c, h, w)
	imageVecs, err := b.Scorer.ImageVectors(flava.ImageInput{PixelValues: pixels})
	if err != nil {
		panic(err)
	}

	enc, err := b.Tokenizer.Encode("a photo of a cat", tokenizer.EncodeOptions{})
	if err != nil {
		panic(err)
	}
	ids, mask := tensor.NewInt64(1, enc.Len()), tensor.NewInt64(1, enc.Len())
	for i := range enc.IDs {
		ids.Data[i], mask.Data[i] = int64(enc.IDs[i]), int64(enc.AttentionMask[i])
	}
	textVecs, err := b.Scorer.TextVectors(flava.TextInput{InputIDs: ids, AttentionMask: mask})
	if err != nil {
		panic(err)
	}
	sim, _ := flava.Similarity(imageVecs, textVecs)
	fmt.Println("dims:", len(imageVecs[0]), len(textVecs[0]))
	fmt.Println("cosine in [-1, 1]:", sim[0][0] >= -1 && sim[0][0] <= 1)
	// Output:
	// dims: 16 16
	// cosine in [-1, 1]: true
}
