package pretrained

import (
	"context"
	"fmt"
	"strings"

	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/model/tokenizer"
)

// tinySeed fixes the built-in model's weights: every run, everywhere, gets
// the same tiny-random vectors.
const tinySeed = 20261127

// tinyWords seed the built-in vocabulary beyond single characters, so that
// common caption words are single tokens.
const tinyWords = `a an the of in on at to and or with for from by is are was be this that it its
photo picture image drawing painting sketch cat cats dog dogs bird birds horse car cars bus train
plane boat bike man woman men women person people child children boy girl baby player group
red green blue yellow black white brown gray orange pink purple small large big little old young
two three four some many one sitting standing walking running playing eating holding looking
riding flying lying next near front top side under over inside outside street road field grass
snow water beach sea river park room kitchen table chair bed window door wall tree trees sky
sun day night city house building food pizza cake fruit banana apple plate cup ball game`

// TinyConfig is the built-in model's architecture: FLAVA's structure at toy
// size (hidden 32, two layers per encoder, 64×64 images in 16×16 patches, a
// 4-group codebook over 32×32 images), with the text vocabulary sized to the
// generated word list.
func TinyConfig(vocabSize int) flava.Config {
	j := fmt.Sprintf(`{
  "model_type": "flava", "hidden_size": 32, "projection_dim": 16,
  "text_config": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 64, "vocab_size": %d, "max_position_embeddings": 80},
  "image_config": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 64, "image_size": 64, "patch_size": 16, "vocab_size": 64},
  "multimodal_config": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 64},
  "image_codebook_config": {"hidden_size": 16, "vocab_size": 64, "num_groups": 4,
    "num_blocks_per_group": 1}
}`, vocabSize)
	cfg, err := flava.ParseConfig([]byte(j))
	if err != nil {
		panic("pretrained: built-in tiny config does not parse: " + err.Error())
	}
	return cfg
}

// TinyVocab returns the built-in model's vocabulary: BERT's five special
// tokens, printable ASCII characters and their "##" continuations, and a few
// hundred caption words.
func TinyVocab() []string {
	v := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	seen := map[string]bool{}
	add := func(w string) {
		if !seen[w] {
			seen[w] = true
			v = append(v, w)
		}
	}
	for _, w := range v {
		seen[w] = true
	}
	for c := '!'; c <= '~'; c++ {
		if c >= 'A' && c <= 'Z' {
			continue // the tokenizer lowercases
		}
		add(string(c))
	}
	for c := '!'; c <= '~'; c++ {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			add("##" + string(c))
		}
	}
	for _, w := range strings.Fields(tinyWords) {
		add(w)
	}
	return v
}

// TinyImageConfig is the image processor of the built-in model: flava-full's
// pipeline at the tiny model's sizes (64×64 pixels, 32×32 codebook pixels,
// 4×4 masks with 6 patches masked in groups of at least 2).
func TinyImageConfig() imageproc.Config {
	groupMax := 6
	return imageproc.Config{
		Size: imageproc.Size{Height: 64, Width: 64}, CropSize: imageproc.Size{Height: 64, Width: 64},
		CodebookSize: imageproc.Size{Height: 32, Width: 32}, CodebookCropSize: imageproc.Size{Height: 32, Width: 32},
		InputSizePatches: 4, TotalMaskPatches: 6, MaskGroupMinPatches: 2, MaskGroupMaxPatches: &groupMax,
	}
}

func loadTiny(ctx context.Context, opts Options) (*Bundle, error) {
	vocab := TinyVocab()
	tok, err := tokenizer.New(vocab, tokenizer.Config{})
	if err != nil {
		return nil, fmt.Errorf("pretrained: built-in tokenizer: %w", err)
	}
	m, err := flava.NewRandomForPreTraining(TinyConfig(len(vocab)), tinySeed)
	if err != nil {
		return nil, fmt.Errorf("pretrained: built-in model: %w", err)
	}
	images, err := newImageProcessor(TinyImageConfig(), opts)
	if err != nil {
		return nil, err
	}
	b := &Bundle{ID: TinyRandom, Model: m, Images: images, Tokenizer: tok, Meaningless: true}
	if err := b.attachCodebook(ctx, opts); err != nil {
		return nil, err
	}
	b.finish()
	return b, nil
}
