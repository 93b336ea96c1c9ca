package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/flavabeam/flavabeam/model/internal/modelfile"
)

// Checkpoint file names looked for in a model directory, in order of
// preference (the order transformers' from_pretrained uses).
var checkpointNames = []string{
	"model.safetensors",
	"model.safetensors.index.json",
	"pytorch_model.bin",
	"pytorch_model.bin.index.json",
}

// MaxIndexSize caps a sharded checkpoint's *.index.json.
const MaxIndexSize = 64 << 20

// ErrOutside: a checkpoint file found inside a model directory (the chosen
// checkpoint of a directory, or a shard named by an index) resolves, through
// symbolic links, to a file outside that directory. It is the error of
// model/internal/modelfile, shared by every loader in model/.
var ErrOutside = modelfile.ErrOutside

// confine returns the real path of p, a file named from inside directory
// root, after checking that it resolves inside root (modelfile.Confine).
func confine(root, p string) (string, error) { return modelfile.Confine(root, p) }

// Open reads a checkpoint from path, which may be
//   - a directory holding model.safetensors, model.safetensors.index.json,
//     pytorch_model.bin or pytorch_model.bin.index.json (the first found wins;
//     it must resolve inside the directory, see ErrOutside);
//   - an *.index.json of a sharded checkpoint (see OpenSharded);
//   - a safetensors file or a torch.save zip (.bin, .pt, .pth), told apart by
//     their content.
//
// A directory with none of these yields an error wrapping ErrNotFound.
func Open(path string) (*StateDict, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return nil, err
	}
	if st.IsDir() {
		for _, name := range checkpointNames {
			p := filepath.Join(path, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				if _, err := confine(path, p); err != nil {
					return nil, err
				}
				return Open(p)
			}
		}
		return nil, fmt.Errorf("%w: no checkpoint in %s (looked for %s)", ErrNotFound, path, strings.Join(checkpointNames, ", "))
	}
	if strings.HasSuffix(path, ".index.json") {
		return OpenSharded(path)
	}
	switch format, err := sniff(path); {
	case err != nil:
		return nil, err
	case format == "pytorch":
		return OpenPyTorch(path)
	case format == "safetensors":
		return OpenSafetensors(path)
	case format == "legacy":
		return nil, fmt.Errorf("%w: %s is in the legacy (pre-1.6, non-zip) torch.save format", ErrUnsupported, path)
	}
	return nil, fmt.Errorf("%w: %s is neither a safetensors file nor a torch.save zip", ErrUnsupported, path)
}

// sniff tells the checkpoint formats apart by their first bytes: a zip local
// header, a bare pickle, or a safetensors header length followed by '{'.
func sniff(path string) (string, error) {
	f, err := modelfile.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var head [9]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", err
	}
	b := head[:n]
	switch {
	case n >= 4 && string(b[:4]) == "PK\x03\x04":
		return "pytorch", nil
	case isLegacyTorch(b):
		return "legacy", nil
	case n == 9 && b[8] == '{' && binary.LittleEndian.Uint64(b) <= MaxSafetensorsHeader:
		return "safetensors", nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".safetensors":
		return "safetensors", nil // let the parser say what is wrong
	case ".bin", ".pt", ".pth", ".ckpt":
		return "pytorch", nil
	}
	return "", nil
}

// OpenSharded reads a sharded checkpoint from its index
// (model.safetensors.index.json or pytorch_model.bin.index.json): a JSON
// object whose "weight_map" maps each tensor name to the shard file, relative
// to the index's directory, that holds it. Shard names must be relative
// paths inside that directory (no "..", no absolute path: ErrMalformed) that
// also resolve inside it through symbolic links (ErrOutside; a Hugging Face
// cache snapshot's links into its repo's blobs/ are inside), and every mapped
// name must be in its shard. Tensors a shard holds
// beyond its mapped names (tied aliases in .bin shards) are kept unless
// another shard maps them.
func OpenSharded(indexPath string) (*StateDict, error) {
	f, err := modelfile.Open(indexPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxIndexSize+1))
	f.Close()
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxIndexSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrMalformed, indexPath, MaxIndexSize)
	}
	var index struct {
		Metadata  map[string]any    `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("%w: %s has no weight_map", ErrMalformed, indexPath)
	}
	dir := filepath.Dir(indexPath)
	byShard := map[string][]string{}
	for name, shard := range index.WeightMap {
		if shard == "" || !filepath.IsLocal(shard) || strings.ContainsAny(shard, `\:`) {
			return nil, fmt.Errorf("%w: %s maps %q to shard %q outside its directory", ErrMalformed, indexPath, name, shard)
		}
		byShard[shard] = append(byShard[shard], name)
	}
	shards := make([]string, 0, len(byShard))
	for s := range byShard {
		shards = append(shards, s)
	}
	sort.Strings(shards)

	out := newStateDict()
	fail := func(err error) (*StateDict, error) {
		out.Close()
		return nil, err
	}
	for _, shard := range shards {
		p, err := confine(dir, filepath.Join(dir, shard))
		if err != nil {
			return fail(fmt.Errorf("shard %s of %s: %w", shard, indexPath, err))
		}
		var sd *StateDict
		switch format, serr := sniff(p); {
		case errors.Is(serr, fs.ErrNotExist):
			return fail(fmt.Errorf("%w: shard %s of %s: %v", ErrNotFound, shard, indexPath, serr))
		case serr != nil:
			return fail(serr)
		case format == "pytorch":
			sd, err = OpenPyTorch(p)
		case format == "safetensors":
			sd, err = OpenSafetensors(p)
		default:
			err = fmt.Errorf("%w: shard %s is neither safetensors nor a torch.save zip", ErrUnsupported, p)
		}
		if err != nil {
			return fail(err)
		}
		out.closers = append(out.closers, sd.closers...)
		sd.closers = nil
		for _, name := range byShard[shard] {
			e, ok := sd.entries[name]
			if !ok {
				return fail(fmt.Errorf("%w: %s maps %q to %s, which does not hold it", ErrMalformed, indexPath, name, shard))
			}
			out.entries[name] = e
		}
		for name, e := range sd.entries {
			if _, mapped := index.WeightMap[name]; !mapped {
				if _, seen := out.entries[name]; !seen {
					out.entries[name] = e
				}
			}
		}
		for k, v := range sd.Metadata {
			out.Metadata[k] = v
		}
	}
	return out, nil
}
