package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // --input globs on local paths
	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/model/hub"
	"github.com/flavabeam/flavabeam/model/pretrained"
)

// Exit codes of every subcommand.
const (
	exitOK = 0
	// exitFailed: the run (or download, inspect) failed.
	exitFailed = 1
	// exitUsage: bad flags or a configuration the pre-flight checks refuse;
	// nothing ran.
	exitUsage = 2
	// exitAllDead: the job ran, read at least one record and dead-lettered
	// every one; outputs and dead letters were written.
	exitAllDead = 3
)

// exitCodesHelp is the exit-status paragraph of the usage texts.
const exitCodesHelp = `exit status: 0 done; 1 the run failed; 2 usage or configuration error (found
before anything ran); 3 the job read records but dead-lettered every one of
them (the dead letters are written; see their reasons)`

// preflight is what the checks found that the run should say.
type preflight struct {
	notes []string // lines for stderr
}

func (p *preflight) note(format string, args ...any) {
	p.notes = append(p.notes, fmt.Sprintf(format, args...))
}

// validate checks, before the pipeline is launched, everything a job needs
// that can be checked from here: the model and codebook sources, the input
// glob, the output directories and, for zero-shot, where labels come from.
// The error is one line naming the flag and what is wrong with it.
// needCodebook is true for label-mim; labels is the number of
// --candidate-labels for zero-shot (-1 for other jobs).
func (j *jobFlags) validate(ctx context.Context, needCodebook bool, labels int) (*preflight, error) {
	pf := &preflight{}
	// Local checks first, so that a typo is reported before anything is
	// fetched from the Hub.
	if j.input != "" {
		files, err := matchInput(ctx, j.input)
		if err != nil {
			return nil, err
		}
		if labels == 0 {
			if err := checkLabelColumn(j.input, files); err != nil {
				return nil, err
			}
		}
	} else if labels == 0 {
		pf.note("flavabeam: no --candidate-labels: every Kafka record must carry its own labels (records without are dead-lettered)")
	}
	for _, o := range []struct{ flag, dir string }{{"--output", j.output}, {"--dead-letters", j.deadLetters}} {
		if err := checkWritableDir(o.flag, o.dir); err != nil {
			return nil, err
		}
	}
	if j.codebook != "" && !needCodebook {
		return nil, fmt.Errorf("--codebook is used by label-mim only")
	}
	h := hub.Options{CacheDir: j.hubCache, Offline: j.offline}.FromEnv()
	model, err := checkModel(ctx, j.model, h)
	if err != nil {
		return nil, err
	}
	if needCodebook {
		if err := j.checkCodebook(ctx, model, h, pf); err != nil {
			return nil, err
		}
	}
	return pf, nil
}

// modelInfo is what checkModel found out about --model.
type modelInfo struct {
	builtIn bool               // tiny-random
	folder  *pretrained.Folder // nil when not on this machine yet (a Hub id to download)
}

// hasCodebook reports whether the model holds its own image codebook, and
// whether that is known.
func (m modelInfo) hasCodebook() (has, known bool) {
	switch {
	case m.builtIn:
		return true, true
	case m.folder == nil:
		return false, false
	}
	return m.folder.Kind == pretrained.KindForPreTraining && m.folder.CodebookWeights && initCodebook(m.folder.Config), true
}

// initCodebook reads config.json's init_codebook (default true): a
// FlavaForPreTraining saved with init_codebook=false builds no codebook even
// if stray image_codebook.* tensors are present.
func initCodebook(config []byte) bool {
	var c struct {
		InitCodebook *bool `json:"init_codebook"`
	}
	return json.Unmarshal(config, &c) != nil || c.InitCodebook == nil || *c.InitCodebook
}

// checkModel resolves --model: the built-in model, a local folder (which
// must be a FlavaForPreTraining or FlavaModel with weights), or a Hub id
// (cached: checked as a folder; offline and not cached: an error; otherwise
// it must exist on the Hub).
func checkModel(ctx context.Context, src string, h hub.Options) (modelInfo, error) {
	if src == pretrained.TinyRandom {
		return modelInfo{builtIn: true}, nil
	}
	dir, err := localOrCached(ctx, "--model", src, h, func(id string) (string, bool) { return h.CachedSnapshot(id, "config.json") })
	if err != nil || dir == "" {
		return modelInfo{}, err
	}
	f, err := pretrained.Identify(dir)
	if err == nil {
		err = f.CheckModel()
	}
	if err != nil && dir != src && f.Weights == "" && (f.Kind == pretrained.KindForPreTraining || f.Kind == pretrained.KindModel) && !h.Offline {
		// A cached snapshot without its weights yet: the load downloads them.
		return modelInfo{}, nil
	}
	if err != nil {
		return modelInfo{}, fmt.Errorf("--model %s: %v", src, trimPrefix(err))
	}
	return modelInfo{folder: &f}, nil
}

// checkCodebook resolves label-mim's codebook: --codebook (replacing the
// model's own, said in a note), else the model's own, else
// facebook/flava-image-codebook, fetched into the hub cache now (once)
// unless offline.
func (j *jobFlags) checkCodebook(ctx context.Context, model modelInfo, h hub.Options, pf *preflight) error {
	own, known := model.hasCodebook()
	if j.codebook != "" {
		dir, err := localOrCached(ctx, "--codebook", j.codebook, h, func(id string) (string, bool) { return pretrained.CachedCodebook(id, h) })
		if err != nil {
			return err
		}
		if dir != "" {
			f, err := pretrained.Identify(dir)
			if err == nil {
				err = f.CheckCodebook()
			}
			if err != nil {
				return fmt.Errorf("--codebook %s: %v", j.codebook, trimPrefix(err))
			}
		}
		if own {
			pf.note("flavabeam: --codebook %s replaces the model's own image codebook (image_codebook.* of %s)", j.codebook, j.model)
		}
		return nil
	}
	if own || !known {
		return nil
	}
	if snap, ok := pretrained.CachedCodebook(pretrained.FlavaCodebook, h); ok {
		pf.note("flavabeam: model %s has no image codebook; using %s from the hub cache (%s)", j.model, pretrained.FlavaCodebook, snap)
		return nil
	}
	if h.Offline {
		return fmt.Errorf("--model %s has no image codebook and %s is not in the hub cache %s; offline mode is on: run 'flavabeam download %s' first, or pass --codebook DIR",
			j.model, pretrained.FlavaCodebook, h.CacheDir, pretrained.FlavaCodebook)
	}
	snap, err := pretrained.DownloadCodebook(ctx, pretrained.FlavaCodebook, h)
	if err != nil {
		return fmt.Errorf("--model %s has no image codebook and %s could not be downloaded: %v", j.model, pretrained.FlavaCodebook, trimPrefix(err))
	}
	pf.note("flavabeam: model %s has no image codebook; using %s, downloaded into the hub cache (%s)", j.model, pretrained.FlavaCodebook, snap)
	return nil
}

// localOrCached resolves a model or codebook source to a local folder: an
// existing path (a file is an error), else a Hub id found by cached, else ""
// for a Hub id that exists on the Hub (online only). Anything else is an
// error naming flag.
func localOrCached(ctx context.Context, flag, src string, h hub.Options, cached func(string) (string, bool)) (string, error) {
	if st, err := os.Stat(src); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("%s %s is a file; give the folder holding config.json and the weights", flag, src)
		}
		return src, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s %s: %v", flag, src, err)
	}
	if !strings.Contains(src, "/") || strings.HasPrefix(src, "/") || strings.HasPrefix(src, ".") || strings.HasPrefix(src, "~") ||
		strings.Count(src, "/") > 1 || !hub.ValidRepoID(src) {
		return "", fmt.Errorf("%s %s: no such directory (and not a Hub id of the form org/name)", flag, src)
	}
	if dir, ok := cached(src); ok {
		return dir, nil
	}
	if h.Offline {
		return "", fmt.Errorf("%s %s: no such directory, and the Hub id is not in the hub cache %s while offline (--offline or HF_HUB_OFFLINE)", flag, src, h.CacheDir)
	}
	if _, err := hub.Info(ctx, src, h); err != nil {
		return "", fmt.Errorf("%s %s: no such directory, and the Hub says: %v", flag, src, err)
	}
	return "", nil
}

// matchInput lists the files --input matches (on any Beam filesystem); none
// is an error.
func matchInput(ctx context.Context, glob string) ([]string, error) {
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return nil, fmt.Errorf("--input %s: %v", glob, err)
	}
	defer fs.Close()
	files, err := fs.List(ctx, glob)
	if err != nil {
		return nil, fmt.Errorf("--input %s: %v", glob, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--input %s matches no files", glob)
	}
	return files, nil
}

// labelColumns are the column names parquetio reads zero-shot labels from
// by default (parquetio.ReadOptions.LabelsColumn).
var labelColumns = []string{"labels", "candidate_labels"}

// checkLabelColumn refuses a zero-shot job without --candidate-labels whose
// local input files have no labels column: every record would be
// dead-lettered. Files on remote filesystems are not opened here.
func checkLabelColumn(glob string, files []string) error {
	checked := 0
	for _, name := range files {
		if strings.Contains(name, "://") {
			return nil
		}
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("--input %s: %v", glob, err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("--input %s: %v", glob, err)
		}
		pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			f.Close()
			return fmt.Errorf("--input %s: %s is not a Parquet file: %v", glob, name, err)
		}
		for _, field := range pf.Schema().Fields() {
			for _, c := range labelColumns {
				if strings.EqualFold(field.Name(), c) {
					f.Close()
					return nil
				}
			}
		}
		f.Close()
		checked++
	}
	return fmt.Errorf("zero-shot needs candidate labels: pass --candidate-labels (the %d input file(s) of %s have no %s column)", checked, glob, strings.Join(labelColumns, " or "))
}

// checkWritableDir checks that a local output directory exists and is
// writable, or can be created: its nearest existing ancestor is a writable
// directory. Remote filesystems (scheme://) are not checked here.
func checkWritableDir(flag, dir string) error {
	if dir == "" || (strings.Contains(dir, "://") && !strings.HasPrefix(dir, "file://")) {
		return nil
	}
	p := filepath.Clean(strings.TrimPrefix(dir, "file://"))
	for {
		st, err := os.Stat(p)
		if err == nil {
			if !st.IsDir() {
				if p == filepath.Clean(dir) {
					return fmt.Errorf("%s %s is a file, not a directory", flag, dir)
				}
				return fmt.Errorf("%s %s cannot be created: %s is a file", flag, dir, p)
			}
			probe, err := os.CreateTemp(p, ".flavabeam-write-check-*")
			if err != nil {
				return fmt.Errorf("%s %s is not writable: %v", flag, dir, errors.Unwrap(err))
			}
			probe.Close()
			os.Remove(probe.Name())
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("%s %s: %v", flag, dir, err)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return fmt.Errorf("%s %s: no existing parent directory", flag, dir)
		}
		p = parent
	}
}

// trimPrefix drops the "pretrained: unusable model source: " style prefixes
// of a wrapped error, keeping the line short.
func trimPrefix(err error) string {
	s := err.Error()
	for _, p := range []string{pretrained.ErrSource.Error() + ": ", pretrained.ErrNotFlava.Error() + ": "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}
