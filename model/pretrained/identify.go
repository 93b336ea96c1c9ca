package pretrained

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/internal/modelfile"
)

// Kind is what a Hugging Face folder holds, named after the transformers
// class that saved it.
type Kind string

// Kinds Identify tells apart.
const (
	// KindForPreTraining is a FlavaForPreTraining save: the model, its
	// pretraining heads (ITM, MIM, MLM, MMM) and, in every default save, the
	// image codebook (image_codebook.*).
	KindForPreTraining Kind = "FlavaForPreTraining"
	// KindModel is a FlavaModel save: the three encoders and projections,
	// no heads and no codebook.
	KindModel Kind = "FlavaModel"
	// KindCodebook is a FlavaImageCodebook save (facebook/flava-image-codebook).
	KindCodebook Kind = "FlavaImageCodebook"
	// KindImageModel, KindTextModel and KindMultimodalModel are single
	// encoders saved on their own.
	KindImageModel      Kind = "FlavaImageModel"
	KindTextModel       Kind = "FlavaTextModel"
	KindMultimodalModel Kind = "FlavaMultimodalModel"
	// KindProcessor is a folder without config.json holding only processor
	// or tokenizer files (FlavaProcessor.save_pretrained).
	KindProcessor Kind = "FlavaProcessor"
)

// ErrNotFlava is wrapped by Identify's errors about folders that hold no
// FLAVA model, codebook or processor.
var ErrNotFlava = errors.New("pretrained: not a FLAVA folder")

// ProcessorFiles are the processor and tokenizer files a folder may hold,
// in the order Identify lists them.
var ProcessorFiles = []string{"processor_config.json", "preprocessor_config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}

// Folder is what Identify read from a folder.
type Folder struct {
	// Dir is the folder.
	Dir string
	// Kind is what the folder holds.
	Kind Kind
	// ModelType and Architectures are config.json's "model_type" and
	// "architectures" ("" and nil without config.json).
	ModelType     string
	Architectures []string
	// Config is config.json's content (nil without one).
	Config []byte
	// Weights is the weight file transformers would load ("" when none:
	// model.safetensors, its sharded index, pytorch_model.bin, its index).
	Weights string
	// CodebookWeights is true when the weights hold an image codebook
	// (blocks.* of a FlavaImageCodebook or image_codebook.* of a
	// FlavaForPreTraining).
	CodebookWeights bool
	// Processor lists the ProcessorFiles present.
	Processor []string
}

// archKinds maps config.json "architectures" entries onto kinds.
var archKinds = map[string]Kind{
	"FlavaForPreTraining":  KindForPreTraining,
	"FlavaModel":           KindModel,
	"FlavaImageCodebook":   KindCodebook,
	"FlavaImageModel":      KindImageModel,
	"FlavaTextModel":       KindTextModel,
	"FlavaMultimodalModel": KindMultimodalModel,
}

// typeKinds maps config.json "model_type" onto the kind a config of that
// type describes when "architectures" is absent (a FlavaConfig without
// architectures is read as FlavaModel, the class its model_type names).
var typeKinds = map[string]Kind{
	flava.ModelTypeFlava:      KindModel,
	flava.ModelTypeCodebook:   KindCodebook,
	flava.ModelTypeImage:      KindImageModel,
	flava.ModelTypeText:       KindTextModel,
	flava.ModelTypeMultimodal: KindMultimodalModel,
}

// Identify reads what dir holds from config.json's "model_type" and
// "architectures" (never from other keys: a FlavaForPreTraining config nests
// a codebook config whose model_type is flava_image_codebook), the weight
// files present and the processor files present. The architecture decides;
// model_type must agree with it when both are set. A folder without
// config.json is KindProcessor when it has processor or tokenizer files.
// Errors wrap ErrNotFlava, or the file system's error.
func Identify(dir string) (Folder, error) {
	f := Folder{Dir: dir}
	st, err := os.Stat(dir)
	if err != nil {
		return f, err
	}
	if !st.IsDir() {
		return f, fmt.Errorf("%w: %s is a file, not a folder", ErrNotFlava, dir)
	}
	for _, name := range ProcessorFiles {
		if fileExists(filepath.Join(dir, name)) {
			f.Processor = append(f.Processor, name)
		}
	}
	for _, name := range weightFiles {
		if fileExists(filepath.Join(dir, name)) {
			f.Weights = name
			break
		}
	}
	cfgPath := filepath.Join(dir, "config.json")
	if !fileExists(cfgPath) {
		if len(f.Processor) > 0 {
			f.Kind = KindProcessor
			return f, nil
		}
		return f, fmt.Errorf("%w: %s has no config.json (and no processor or tokenizer files)", ErrNotFlava, dir)
	}
	if f.Config, err = readSmall(dir, cfgPath, flava.MaxConfigBytes); err != nil {
		return f, err
	}
	var head struct {
		ModelType     string   `json:"model_type"`
		Architectures []string `json:"architectures"`
	}
	if err := json.Unmarshal(f.Config, &head); err != nil {
		return f, fmt.Errorf("%w: %s: %v", ErrNotFlava, cfgPath, err)
	}
	f.ModelType, f.Architectures = head.ModelType, head.Architectures
	for _, a := range head.Architectures {
		if k, ok := archKinds[a]; ok {
			f.Kind = k
			break
		}
	}
	byType, typeKnown := typeKinds[head.ModelType]
	switch {
	case f.Kind == "" && typeKnown:
		f.Kind = byType
	case f.Kind == "":
		return f, fmt.Errorf("%w: %s: model_type %q, architectures %q: neither names a FLAVA class", ErrNotFlava, cfgPath, head.ModelType, head.Architectures)
	case head.ModelType != "" && (!typeKnown || !sameFamily(f.Kind, byType)):
		return f, fmt.Errorf("%w: %s: model_type %q does not match architectures %q", ErrNotFlava, cfgPath, head.ModelType, head.Architectures)
	}
	if f.Weights != "" {
		if sd, err := checkpoint.Open(dir); err == nil {
			_, f.CodebookWeights = flava.CodebookPrefix(sd)
			sd.Close()
		}
	}
	return f, nil
}

// sameFamily reports whether an architecture's kind and a model_type's kind
// agree: FlavaForPreTraining and FlavaModel share model_type "flava".
func sameFamily(arch, byType Kind) bool {
	if arch == byType {
		return true
	}
	return byType == KindModel && arch == KindForPreTraining
}

// IsModel reports whether Load can run the folder: a FlavaForPreTraining or
// FlavaModel with weights.
func (f Folder) IsModel() bool {
	return (f.Kind == KindForPreTraining || f.Kind == KindModel) && f.Weights != ""
}

// CheckModel says, in one line, why Load cannot run the folder (nil when it
// can).
func (f Folder) CheckModel() error {
	switch {
	case f.Kind == KindCodebook:
		return fmt.Errorf("%w: %s is an image codebook (FlavaImageCodebook), not a FLAVA model; give it as the codebook instead", ErrSource, f.Dir)
	case f.Kind == KindProcessor:
		return fmt.Errorf("%w: %s holds only processor/tokenizer files (%s), no config.json or weights", ErrSource, f.Dir, joinNames(f.Processor))
	case f.Kind != KindForPreTraining && f.Kind != KindModel:
		return fmt.Errorf("%w: %s is a %s alone; a FlavaModel or FlavaForPreTraining folder is needed", ErrSource, f.Dir, f.Kind)
	case f.Weights == "":
		return fmt.Errorf("%w: %s has a %s config.json but no weights (%s)", ErrSource, f.Dir, f.Kind, joinNames(weightFiles))
	}
	return nil
}

// CheckCodebook says, in one line, why the folder cannot serve as an image
// codebook source (nil when it can: a FlavaImageCodebook, or a
// FlavaForPreTraining whose weights hold image_codebook.*).
func (f Folder) CheckCodebook() error {
	switch {
	case f.Kind != KindCodebook && f.Kind != KindForPreTraining:
		return fmt.Errorf("%w: codebook %s is a %s, not a FlavaImageCodebook", ErrSource, f.Dir, f.Kind)
	case f.Weights == "":
		return fmt.Errorf("%w: codebook %s has no weights (%s)", ErrSource, f.Dir, joinNames(weightFiles))
	case !f.CodebookWeights:
		return fmt.Errorf("%w: %s's weights hold no image codebook (blocks.* or image_codebook.*)", ErrSource, f.Dir)
	}
	return nil
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// readSmall reads a regular file of at most limit bytes that resolves
// inside dir (model/internal/modelfile).
func readSmall(dir, path string, limit int64) ([]byte, error) {
	return modelfile.Read(dir, path, limit, ErrNotFlava)
}
