package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/flava"
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
	if st.IsDir() {
		inspectConfig(w, path)
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
	if st.IsDir() {
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

// inspectConfig summarises config.json (and codebook_config.json, as the
// fixtures and flava-image-codebook ship it) when present.
func inspectConfig(w io.Writer, dir string) {
	cfgPath := filepath.Join(dir, "config.json")
	if _, err := os.Stat(cfgPath); err != nil {
		fmt.Fprintln(w, "config: no config.json")
		return
	}
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		fmt.Fprintf(w, "config: %v\n", err)
		return
	}
	if strings.Contains(string(data), `"flava_image_codebook"`) {
		cb, err := flava.ParseCodebookConfig(data)
		if err != nil {
			fmt.Fprintf(w, "config: %v\n", err)
			return
		}
		fmt.Fprintln(w, "config: flava_image_codebook")
		writeCodebook(w, "codebook:", cb)
		return
	}
	c, err := flava.LoadConfig(cfgPath)
	if err != nil {
		fmt.Fprintf(w, "config: %v\n", err)
		return
	}
	c = c.WithDefaults()
	im, tx, mm := c.ImageConfig, c.TextConfig, c.MultimodalConfig
	fmt.Fprintln(w, "config: flava")
	fmt.Fprintf(w, "  image:      hidden %d, layers %d, heads %d, intermediate %d, act %s, image %d, patch %d (%d patches)\n",
		im.HiddenSize, im.NumHiddenLayers, im.NumAttentionHeads, im.IntermediateSize, im.HiddenAct, im.ImageSize, im.PatchSize, im.NumPatches())
	fmt.Fprintf(w, "  text:       hidden %d, layers %d, heads %d, intermediate %d, act %s, vocab %d, max positions %d\n",
		tx.HiddenSize, tx.NumHiddenLayers, tx.NumAttentionHeads, tx.IntermediateSize, tx.HiddenAct, tx.VocabSize, tx.MaxPositionEmbeddings)
	fmt.Fprintf(w, "  multimodal: hidden %d, layers %d, heads %d, intermediate %d, act %s\n",
		mm.HiddenSize, mm.NumHiddenLayers, mm.NumAttentionHeads, mm.IntermediateSize, mm.HiddenAct)
	fmt.Fprintf(w, "  projection dim %d, logit scale init %g\n", c.ProjectionDim, *c.LogitScaleInitValue)
	writeCodebook(w, "codebook:", c.ImageCodebookConfig)
	if cb := filepath.Join(dir, "codebook_config.json"); fileExists(cb) {
		if data, err := os.ReadFile(cb); err == nil {
			if cc, err := flava.ParseCodebookConfig(data); err == nil {
				writeCodebook(w, "codebook_config.json:", cc)
			}
		}
	}
}

func writeCodebook(w io.Writer, label string, cb flava.CodebookConfig) {
	cb = cb.WithDefaults()
	fmt.Fprintf(w, "  %-11s hidden %d, vocab %d, groups %d, blocks per group %d\n",
		label, cb.HiddenSize, cb.VocabSize, cb.NumGroups, cb.NumBlocksPerGroup)
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
