package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/flavabeam/flavabeam/model/hub"
	"github.com/flavabeam/flavabeam/model/pretrained"
)

func runDownload(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var codebook bool
	var opts hub.Options
	fs := newFlagSet("download", stderr, false, "[flags] [REPO ...]\n\nREPO defaults to "+pretrained.FlavaFull+". Files go to the Hugging Face cache,\nwhere Python's huggingface_hub finds them too; the snapshot directory is printed on stdout.")
	fs.BoolVar(&codebook, "codebook", true, "also download the image codebook ("+pretrained.FlavaCodebook+"), which label-mim needs")
	fs.StringVar(&opts.CacheDir, "cache-dir", "", "hub cache `directory` (default $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)")
	fs.StringVar(&opts.Revision, "revision", "", "branch, tag or commit (default main)")
	fs.StringVar(&opts.Endpoint, "endpoint", "", "Hub `URL` (default $HF_ENDPOINT or https://huggingface.co)")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	repos := fs.Args()
	if len(repos) == 0 {
		repos = []string{pretrained.FlavaFull}
	}
	if codebook && !contains(repos, pretrained.FlavaCodebook) {
		repos = append(repos, pretrained.FlavaCodebook)
	}
	opts.Progress = downloadProgress(stderr)
	for _, repo := range repos {
		fmt.Fprintf(stderr, "flavabeam download: %s\n", repo)
		dir, err := pretrained.DownloadModel(ctx, repo, opts)
		if err != nil {
			fmt.Fprintf(stderr, "flavabeam download: %s: %v\n", repo, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\t%s\n", repo, dir)
	}
	return 0
}

// downloadProgress reports each file at most once a second, and when done.
func downloadProgress(w io.Writer) func(file string, done, total int64) {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(file string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if done < total && now.Sub(last[file]) < time.Second {
			return
		}
		last[file] = now
		if total > 0 {
			fmt.Fprintf(w, "  %s: %.1f / %.1f MB (%.0f%%)\n", file, float64(done)/1e6, float64(total)/1e6, 100*float64(done)/float64(total))
		} else {
			fmt.Fprintf(w, "  %s: %.1f MB\n", file, float64(done)/1e6)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
