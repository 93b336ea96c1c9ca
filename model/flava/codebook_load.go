package flava

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/flavabeam/flavabeam/model/checkpoint"
)

// Codebook state-dict prefixes: a standalone facebook/flava-image-codebook
// checkpoint names its tensors "blocks.…"; FlavaForPreTraining stores the
// same tensors under "image_codebook.".
const (
	CodebookPrefixStandalone  = ""
	CodebookPrefixPretraining = "image_codebook."
)

// NewImageCodebookFromStateDict builds a codebook of the shape cfg describes
// and binds its weights from sd under prefix (CodebookPrefixStandalone or
// CodebookPrefixPretraining). The codebook uses sd's memory: keep sd open
// while it is in use.
func NewImageCodebookFromStateDict(sd *checkpoint.StateDict, prefix string, cfg CodebookConfig) (*ImageCodebook, error) {
	cb, err := NewImageCodebook(cfg)
	if err != nil {
		return nil, err
	}
	if err := BindImageCodebook(sd, prefix, cb); err != nil {
		return nil, err
	}
	return cb, nil
}

// CodebookPrefix reports under which prefix sd holds an image codebook:
// CodebookPrefixStandalone, CodebookPrefixPretraining, or ok = false when it
// holds none.
func CodebookPrefix(sd *checkpoint.StateDict) (prefix string, ok bool) {
	for _, p := range []string{CodebookPrefixStandalone, CodebookPrefixPretraining} {
		if sd.Has(p + "blocks.input.weight") {
			return p, true
		}
	}
	return "", false
}

// LoadImageCodebook loads a codebook from a directory holding config.json
// and a checkpoint (model.safetensors, pytorch_model.bin or a sharded index),
// as transformers' FlavaImageCodebook.from_pretrained does: either
// facebook/flava-image-codebook itself (standalone config, "blocks.*" names)
// or a FlavaForPreTraining directory such as facebook/flava-full (the
// image_codebook_config of its config, "image_codebook.blocks.*" names).
// Close the codebook to release the checkpoint.
func LoadImageCodebook(dir string) (*ImageCodebook, error) {
	return loadImageCodebook(dir, dir, filepath.Join(dir, "config.json"))
}

// LoadImageCodebookFiles is LoadImageCodebook with the checkpoint (a file or
// a directory, see checkpoint.Open) and the config file named separately. The
// config may be a FlavaImageCodebookConfig or a full FlavaConfig.
func LoadImageCodebookFiles(weights, config string) (*ImageCodebook, error) {
	return loadImageCodebook("", weights, config)
}

// loadImageCodebook: dir is the model directory config was found in (""
// when the caller named it), to which it is confined.
func loadImageCodebook(dir, weights, config string) (*ImageCodebook, error) {
	cfg, err := readCodebookConfig(dir, config)
	if err != nil {
		return nil, err
	}
	sd, err := checkpoint.Open(weights)
	if err != nil {
		return nil, err
	}
	prefix, ok := CodebookPrefix(sd)
	if !ok {
		sd.Close()
		return nil, fmt.Errorf("%w: %s holds no image codebook (neither blocks.input.weight nor image_codebook.blocks.input.weight)", checkpoint.ErrNotFound, weights)
	}
	cb, err := NewImageCodebookFromStateDict(sd, prefix, cfg)
	if err != nil {
		sd.Close()
		return nil, fmt.Errorf("%s: %w", weights, err)
	}
	cb.closer = sd
	return cb, nil
}

// Close releases the checkpoint a Load function opened; the codebook must not
// be used afterwards. It is a no-op for codebooks built from a caller's
// StateDict.
func (cb *ImageCodebook) Close() error {
	if cb.closer == nil {
		return nil
	}
	err := cb.closer.Close()
	cb.closer = nil
	return err
}

// readCodebookConfig reads a codebook config (standalone or inside a
// FlavaConfig) with the package's size cap; dir as for readConfigFile.
func readCodebookConfig(dir, path string) (CodebookConfig, error) {
	data, err := readConfigFile(dir, path)
	if err != nil {
		if !errors.Is(err, ErrConfig) {
			err = fmt.Errorf("%w: %v", ErrConfig, err)
		}
		return CodebookConfig{}, err
	}
	cfg, err := ParseCodebookConfig(data)
	if err != nil {
		return CodebookConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
