package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/imageproc"
	"github.com/flavabeam/flavabeam/model/pretrained"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var tensors bool
	fs := newFlagSet("inspect", stderr, false, "[--tensors=false] PATH\n\nPATH is a model directory (config.json beside the weights) or one checkpoint file\n(safetensors, pytorch_model.bin, *.index.json).")
	fs.BoolVar(&tensors, "tensors", true, "list every tensor's name, dtype and shape")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if err := inspect(stdout, fs.Arg(0), tensors); err != nil {
		fmt.Fprintf(stderr, "flavabeam inspect: %v\n", err)
		return 1
	}
	return 0
}

// inspect writes the summary of a model directory or checkpoint file.
func inspect(w io.Writer, path string, tensors bool) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "path: %s\n", path)
	var kind pretrained.Kind
	if st.IsDir() {
		kind = inspectConfig(w, path)
	}
	sd, err := checkpoint.Open(path)
	if err != nil {
		if st.IsDir() && errors.Is(err, checkpoint.ErrNotFound) {
			fmt.Fprintln(w, "weights: none found (model.safetensors, pytorch_model.bin or a sharded index)")
			return nil
		}
		return err
	}
	defer sd.Close()
	names := sd.Names()
	dtypes := map[checkpoint.DType]int{}
	var elements int64
	for _, n := range names {
		info, _ := sd.Info(n)
		dtypes[info.DType]++
		elements += numel(info.Shape)
	}
	var dt []string
	for d, n := range dtypes {
		dt = append(dt, fmt.Sprintf("%s×%d", d, n))
	}
	sort.Strings(dt)
	fmt.Fprintf(w, "tensors: %d (%s), %d elements stored\n", len(names), strings.Join(dt, ", "), elements)
	if kind == pretrained.KindForPreTraining {
		if m, err := flava.LoadForPreTraining(path); err == nil {
			fmt.Fprintf(w, "parameters: %d (FlavaForPreTraining: model, heads and codebook; tied tensors once)\n", m.NumParameters())
			m.Close()
		} else {
			fmt.Fprintf(w, "parameters: not a complete FlavaForPreTraining checkpoint (%v)\n", firstLine(err))
		}
	}
	if tensors {
		width := 0
		for _, n := range names {
			width = max(width, len(n))
		}
		for _, n := range names {
			info, _ := sd.Info(n)
			fmt.Fprintf(w, "  %-*s  %-4s  %v\n", width, n, info.DType, info.Shape)
		}
	}
	return nil
}

// inspectConfig says what the folder holds, read from config.json's
// model_type and architectures (pretrained.Identify), and summarises each
// part: the text, image and multimodal encoders and the projection for a
// FlavaModel or FlavaForPreTraining, the codebook config (the nested one of
// a FlavaForPreTraining, config.json of a FlavaImageCodebook, and a
// codebook_config.json beside them, as the fixtures ship it), and the
// processor settings as the image-processor config loader returns them.
// It returns the folder's kind ("" when it could not be identified).
func inspectConfig(w io.Writer, dir string) pretrained.Kind {
	f, err := pretrained.Identify(dir)
	if err != nil {
		fmt.Fprintf(w, "kind: unknown (%v)\n", err)
		return ""
	}
	fmt.Fprintf(w, "kind: %s", f.Kind)
	if f.Config != nil {
		fmt.Fprintf(w, " (config.json: model_type %q, architectures %q)", f.ModelType, f.Architectures)
	}
	fmt.Fprintln(w)
	switch f.Kind {
	case pretrained.KindForPreTraining, pretrained.KindModel:
		c, err := flava.ParseConfig(f.Config)
		if err != nil {
			fmt.Fprintf(w, "config: %v\n", err)
			break
		}
		c = c.WithDefaults()
		im, tx, mm := c.ImageConfig, c.TextConfig, c.MultimodalConfig
		fmt.Fprintln(w, "config:")
		fmt.Fprintf(w, "  image:      hidden %d, layers %d, heads %d, intermediate %d, act %s, image %d, patch %d (%d patches)\n",
			im.HiddenSize, im.NumHiddenLayers, im.NumAttentionHeads, im.IntermediateSize, im.HiddenAct, im.ImageSize, im.PatchSize, im.NumPatches())
		fmt.Fprintf(w, "  text:       hidden %d, layers %d, heads %d, intermediate %d, act %s, vocab %d, max positions %d\n",
			tx.HiddenSize, tx.NumHiddenLayers, tx.NumAttentionHeads, tx.IntermediateSize, tx.HiddenAct, tx.VocabSize, tx.MaxPositionEmbeddings)
		fmt.Fprintf(w, "  multimodal: hidden %d, layers %d, heads %d, intermediate %d, act %s\n",
			mm.HiddenSize, mm.NumHiddenLayers, mm.NumAttentionHeads, mm.IntermediateSize, mm.HiddenAct)
		fmt.Fprintf(w, "  projection dim %d, logit scale init %g\n", c.ProjectionDim, *c.LogitScaleInitValue)
		switch {
		case f.Kind == pretrained.KindModel:
			fmt.Fprintln(w, "  codebook:   none (FlavaModel has no image codebook)")
		case !*c.InitCodebook:
			fmt.Fprintln(w, "  codebook:   none (init_codebook false)")
		default:
			weights := "its weights hold image_codebook.*"
			if !f.CodebookWeights {
				weights = "no image_codebook.* weights found"
			}
			writeCodebook(w, "codebook:", c.ImageCodebookConfig, weights)
		}
	case pretrained.KindCodebook:
		cb, err := flava.ParseCodebookConfig(f.Config)
		if err != nil {
			fmt.Fprintf(w, "config: %v\n", err)
			break
		}
		fmt.Fprintln(w, "config:")
		weights := "its weights hold the codebook"
		if !f.CodebookWeights {
			weights = "no codebook weights found"
		}
		writeCodebook(w, "codebook:", cb, weights)
	case pretrained.KindImageModel, pretrained.KindTextModel, pretrained.KindMultimodalModel:
		fmt.Fprintf(w, "config: a %s alone (flavabeam runs FlavaModel and FlavaForPreTraining folders)\n", f.Kind)
	}
	if cb := filepath.Join(dir, "codebook_config.json"); fileExists(cb) {
		if data, err := os.ReadFile(cb); err == nil {
			if cc, err := flava.ParseCodebookConfig(data); err == nil {
				writeCodebook(w, "codebook_config.json:", cc, "")
			} else {
				fmt.Fprintf(w, "  codebook_config.json: %v\n", err)
			}
		}
	}
	inspectProcessor(w, dir, f.Processor)
	return f.Kind
}

// inspectProcessor prints the processor and tokenizer files present and the
// image settings the image-processor config loader reads from them.
func inspectProcessor(w io.Writer, dir string, files []string) {
	if len(files) == 0 {
		fmt.Fprintln(w, "processor: none (no processor_config.json, preprocessor_config.json or tokenizer files)")
		return
	}
	fmt.Fprintf(w, "processor: %s\n", strings.Join(files, ", "))
	cfg, file, err := imageproc.LoadDir(dir)
	switch {
	case errors.Is(err, imageproc.ErrNoConfig):
		fmt.Fprintln(w, "  image settings: none in the folder (facebook/flava-full's defaults apply)")
		return
	case err != nil:
		fmt.Fprintf(w, "  image settings: %v\n", err)
		return
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		fmt.Fprintf(w, "  %s: %v\n", filepath.Base(file), err)
		return
	}
	fmt.Fprintf(w, "  image settings (from %s): %s\n", filepath.Base(file), data)
	if len(cfg.UnknownKeys) > 0 {
		fmt.Fprintf(w, "  not read by flavabeam: %s\n", strings.Join(cfg.UnknownKeys, ", "))
	}
}

func writeCodebook(w io.Writer, label string, cb flava.CodebookConfig, note string) {
	cb = cb.WithDefaults()
	fmt.Fprintf(w, "  %-11s hidden %d, vocab %d, groups %d, blocks per group %d",
		label, cb.HiddenSize, cb.VocabSize, cb.NumGroups, cb.NumBlocksPerGroup)
	if note != "" {
		fmt.Fprintf(w, " (%s)", note)
	}
	fmt.Fprintln(w)
}

func numel(shape []int) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
	}
	return n
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
