package flava

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flavabeam/flavabeam/model/checkpoint"
)

// LoadInfo says where a loaded model's weights came from.
type LoadInfo struct {
	// Path is the checkpoint path given to the loader.
	Path string
	// Prefix is the state-dict prefix the model was bound under: "flava."
	// or "flava.image_model." in a FlavaForPreTraining checkpoint, "" or
	// "image_model." in a FlavaModel checkpoint, "" in a standalone one.
	Prefix string
	// Unused lists tensors under Prefix that no field took (other than the
	// non-persistent buffers old checkpoints may hold). Tensors outside the
	// prefix, such as pretraining heads, are not listed: they belong to other
	// models. transformers only warns about these; so do we, by listing them.
	Unused []string

	sd *checkpoint.StateDict
}

// Close releases the checkpoint mapping. The model's weights alias it, so the
// model must not be used afterwards.
func (l *LoadInfo) Close() error {
	if l.sd == nil {
		return nil
	}
	err := l.sd.Close()
	l.sd = nil
	return err
}

// configPath finds config.json for a model path: the path itself when it is
// a .json file, path/config.json for a directory, else the config.json beside
// a weights file. dir is the model directory the config was found in ("" when
// path names the config itself), to which it is confined.
func configPath(path string) (dir, config string) {
	if strings.HasSuffix(path, ".json") && !strings.HasSuffix(path, ".index.json") {
		return "", path
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return path, filepath.Join(path, "config.json")
	}
	return filepath.Dir(path), filepath.Join(filepath.Dir(path), "config.json")
}

// weightsPath is the checkpoint to open for a model path: a config.json
// stands for its directory.
func weightsPath(path string) string {
	if filepath.Base(path) == "config.json" {
		return filepath.Dir(path)
	}
	return path
}

// isBuffer reports names of non-persistent buffers older transformers saved.
func isBuffer(name string) bool {
	return strings.HasSuffix(name, "embeddings.position_ids") || strings.HasSuffix(name, "embeddings.token_type_ids")
}

// pickPrefix returns the first candidate prefix under which sd holds probe.
func pickPrefix(sd *checkpoint.StateDict, probe string, candidates ...string) (string, error) {
	for _, p := range candidates {
		if sd.Has(p + probe) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no %q under any of the prefixes %q", checkpoint.ErrNotFound, probe, candidates)
}

// bindInto binds target from sd under prefix and fills info.
func bindInto(sd *checkpoint.StateDict, path, prefix string, target any, info *LoadInfo) error {
	res, err := checkpoint.Bind(sd, prefix, target, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	*info = LoadInfo{Path: path, Prefix: prefix, sd: sd}
	for _, n := range res.Unused {
		if !isBuffer(n) {
			info.Unused = append(info.Unused, n)
		}
	}
	return nil
}

// openWithConfig reads the config bytes and opens the checkpoint.
func openWithConfig(path string) ([]byte, *checkpoint.StateDict, error) {
	data, err := readConfigFile(configPath(path))
	if err != nil {
		return nil, nil, fmt.Errorf("flava: reading config for %s: %w", path, err)
	}
	sd, err := checkpoint.Open(weightsPath(path))
	if err != nil {
		return nil, nil, err
	}
	return data, sd, nil
}

// load opens path's config and checkpoint and builds a model with build,
// closing the checkpoint when build fails.
func load[M any](path string, build func(data []byte, sd *checkpoint.StateDict) (M, error)) (M, error) {
	var zero M
	data, sd, err := openWithConfig(path)
	if err != nil {
		return zero, err
	}
	m, err := build(data, sd)
	if err != nil {
		sd.Close()
		return zero, err
	}
	return m, nil
}

// bindEncoder binds an encoder found under the first of prefixes that holds
// probe, dropping its pooler (via dropPooler) when the checkpoint has none.
func bindEncoder(sd *checkpoint.StateDict, path, probe string, prefixes []string, target any, info *LoadInfo, dropPooler func()) error {
	prefix, err := pickPrefix(sd, probe, prefixes...)
	if err != nil {
		return err
	}
	if !sd.Has(prefix + "pooler.dense.weight") {
		dropPooler()
	}
	return bindInto(sd, path, prefix, target, info)
}

// LoadModel loads a FlavaModel from a directory (config.json plus
// model.safetensors, pytorch_model.bin or a sharded index), or from a weights
// file with config.json beside it. FlavaForPreTraining checkpoints (names
// under "flava.", as facebook/flava-full ships) and FlavaModel checkpoints
// (no prefix) both work.
func LoadModel(path string) (*Model, error) {
	return load(path, func(data []byte, sd *checkpoint.StateDict) (*Model, error) {
		cfg, err := ParseConfig(data)
		if err != nil {
			return nil, err
		}
		m, err := NewModel(cfg)
		if err != nil {
			return nil, err
		}
		prefix, err := pickPrefix(sd, "logit_scale", "flava.", "")
		if err != nil {
			return nil, err
		}
		return m, bindInto(sd, path, prefix, m, &m.Source)
	})
}

// LoadImageModel loads a FlavaImageModel from a FlavaForPreTraining
// checkpoint (prefix "flava.image_model."), a FlavaModel checkpoint
// ("image_model.") or a standalone FlavaImageModel checkpoint (no prefix),
// with config.json either a FlavaConfig or a FlavaImageConfig. A checkpoint
// without pooler weights (add_pooling_layer=False) gives a model whose Pooler
// is nil.
func LoadImageModel(path string) (*ImageModel, error) {
	return load(path, func(data []byte, sd *checkpoint.StateDict) (*ImageModel, error) {
		cfg, err := ParseImageConfig(data)
		if err != nil {
			return nil, err
		}
		m, err := NewImageModel(cfg)
		if err != nil {
			return nil, err
		}
		return m, bindEncoder(sd, path, "embeddings.patch_embeddings.projection.weight",
			[]string{"flava.image_model.", "image_model.", ""}, m, &m.Source, func() { m.Pooler = nil })
	})
}

// LoadTextModel loads a FlavaTextModel the way LoadImageModel loads the image
// encoder (prefixes "flava.text_model.", "text_model.", "").
func LoadTextModel(path string) (*TextModel, error) {
	return load(path, func(data []byte, sd *checkpoint.StateDict) (*TextModel, error) {
		cfg, err := ParseTextConfig(data)
		if err != nil {
			return nil, err
		}
		m, err := NewTextModel(cfg)
		if err != nil {
			return nil, err
		}
		return m, bindEncoder(sd, path, "embeddings.word_embeddings.weight",
			[]string{"flava.text_model.", "text_model.", ""}, m, &m.Source, func() { m.Pooler = nil })
	})
}

// LoadMultimodalModel loads a FlavaMultimodalModel (prefixes
// "flava.multimodal_model.", "multimodal_model.", "").
func LoadMultimodalModel(path string) (*MultimodalModel, error) {
	return load(path, func(data []byte, sd *checkpoint.StateDict) (*MultimodalModel, error) {
		cfg, err := ParseMultimodalConfig(data)
		if err != nil {
			return nil, err
		}
		m, err := NewMultimodalModel(cfg)
		if err != nil {
			return nil, err
		}
		return m, bindEncoder(sd, path, "layernorm.weight",
			[]string{"flava.multimodal_model.", "multimodal_model.", ""}, m, &m.Source, func() { m.Pooler = nil })
	})
}
