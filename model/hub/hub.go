package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors.
var (
	ErrOffline      = errors.New("hub: file not in the local cache and offline mode is on")
	ErrNotFound     = errors.New("hub: not found")
	ErrUnauthorized = errors.New("hub: unauthorized (set HF_TOKEN for gated or private repositories)")
	ErrChecksum     = errors.New("hub: checksum mismatch")
	ErrBadRepoID    = errors.New("hub: invalid repository id")
)

// DefaultEndpoint is the Hugging Face Hub.
const DefaultEndpoint = "https://huggingface.co"

// Options configure lookups and downloads. The zero value reads everything
// from the environment (see FromEnv).
type Options struct {
	// Endpoint is the Hub base URL. Default $HF_ENDPOINT or DefaultEndpoint.
	Endpoint string
	// CacheDir is the hub cache root. Default $HF_HUB_CACHE, else $HF_HOME/hub,
	// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
	CacheDir string
	// Token is sent as a bearer token. Default $HF_TOKEN (or
	// $HUGGING_FACE_HUB_TOKEN).
	Token string
	// Revision is a branch, tag or commit. Default "main".
	Revision string
	// Offline forbids network access. Default true when $HF_HUB_OFFLINE is
	// "1", "true", "yes" or "on".
	Offline bool
	// Client is the HTTP client. Default: http.Client with a 30 s timeout
	// per request header and no overall timeout (large files take long).
	Client *http.Client
	// Progress, if set, is called while files download.
	Progress func(file string, done, total int64)
}

// FromEnv fills unset fields from the environment and defaults.
func (o Options) FromEnv() Options {
	if o.Endpoint == "" {
		o.Endpoint = os.Getenv("HF_ENDPOINT")
	}
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	o.Endpoint = strings.TrimRight(o.Endpoint, "/")
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Token == "" {
		o.Token = os.Getenv("HF_TOKEN")
	}
	if o.Token == "" {
		o.Token = os.Getenv("HUGGING_FACE_HUB_TOKEN")
	}
	if o.Revision == "" {
		o.Revision = "main"
	}
	if !o.Offline {
		switch strings.ToLower(os.Getenv("HF_HUB_OFFLINE")) {
		case "1", "true", "yes", "on":
			o.Offline = true
		}
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ResponseHeaderTimeout: 30 * time.Second,
		}}
	}
	return o
}

// DefaultCacheDir returns the hub cache root the environment selects.
func DefaultCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HUGGINGFACE_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

var repoIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`)

// ValidRepoID reports whether id looks like "org/name" or "name".
func ValidRepoID(id string) bool {
	return repoIDRe.MatchString(id) && !strings.Contains(id, "..")
}

// RepoDir returns the cache folder of a model repository.
func (o Options) RepoDir(repoID string) string {
	return filepath.Join(o.CacheDir, "models--"+strings.ReplaceAll(repoID, "/", "--"))
}

var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// CachedSnapshot returns the snapshot folder for opts.Revision if the cache
// has one holding every file in files (any file when files is empty).
func (o Options) CachedSnapshot(repoID string, files ...string) (string, bool) {
	o = o.FromEnv()
	repo := o.RepoDir(repoID)
	commit := o.Revision
	if !commitRe.MatchString(commit) {
		b, err := os.ReadFile(filepath.Join(repo, "refs", o.Revision))
		if err != nil {
			return "", false
		}
		commit = strings.TrimSpace(string(b))
	}
	snap := filepath.Join(repo, "snapshots", commit)
	if st, err := os.Stat(snap); err != nil || !st.IsDir() {
		return "", false
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(snap, filepath.FromSlash(f))); err != nil {
			return "", false
		}
	}
	return snap, true
}

// RepoFile is one file of a repository listing.
type RepoFile struct {
	Name   string // path inside the repository
	Size   int64  // bytes, when known
	SHA256 string // for LFS files, when the server says
}

// RepoInfo is what the API says about a revision.
type RepoInfo struct {
	Commit string
	Files  []RepoFile
}

// Info asks the API for the commit and file list of a revision.
func Info(ctx context.Context, repoID string, opts Options) (RepoInfo, error) {
	opts = opts.FromEnv()
	if !ValidRepoID(repoID) {
		return RepoInfo{}, fmt.Errorf("%w: %q", ErrBadRepoID, repoID)
	}
	if opts.Offline {
		return RepoInfo{}, fmt.Errorf("%w: listing %s", ErrOffline, repoID)
	}
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", opts.Endpoint, repoID, url.PathEscape(opts.Revision))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return RepoInfo{}, err
	}
	opts.authorize(req)
	resp, err := opts.Client.Do(req)
	if err != nil {
		return RepoInfo{}, fmt.Errorf("hub: listing %s: %w", repoID, err)
	}
	defer resp.Body.Close()
	if err := statusError(resp, repoID); err != nil {
		return RepoInfo{}, err
	}
	var body struct {
		SHA      string `json:"sha"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
			Size      int64  `json:"size"`
			LFS       *struct {
				SHA256 string `json:"sha256"`
				Size   int64  `json:"size"`
			} `json:"lfs"`
		} `json:"siblings"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&body); err != nil {
		return RepoInfo{}, fmt.Errorf("hub: listing %s: bad JSON: %w", repoID, err)
	}
	info := RepoInfo{Commit: body.SHA}
	for _, s := range body.Siblings {
		f := RepoFile{Name: s.RFilename, Size: s.Size}
		if s.LFS != nil {
			f.SHA256, f.Size = s.LFS.SHA256, s.LFS.Size
		}
		info.Files = append(info.Files, f)
	}
	return info, nil
}

func (o Options) authorize(req *http.Request) {
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
	req.Header.Set("User-Agent", "flavabeam/1 (+https://github.com/flavabeam/flavabeam)")
}

func statusError(resp *http.Response, what string) error {
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %s (HTTP %d)", ErrUnauthorized, what, resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s (HTTP 404)", ErrNotFound, what)
	case resp.StatusCode >= 300:
		return fmt.Errorf("hub: %s: HTTP %d", what, resp.StatusCode)
	}
	return nil
}

// Download makes sure every file in files (paths inside the repository) of
// repoID at opts.Revision is in the cache and returns the snapshot folder.
// Files already cached are not fetched again. With opts.Offline it only looks
// in the cache.
func Download(ctx context.Context, repoID string, files []string, opts Options) (string, error) {
	opts = opts.FromEnv()
	if !ValidRepoID(repoID) {
		return "", fmt.Errorf("%w: %q", ErrBadRepoID, repoID)
	}
	for _, f := range files {
		if !validRepoPath(f) {
			return "", fmt.Errorf("%w: file name %q", ErrBadRepoID, f)
		}
	}
	if snap, ok := opts.CachedSnapshot(repoID, files...); ok {
		return snap, nil
	}
	if opts.Offline {
		return "", fmt.Errorf("%w: %s@%s %v (cache %s)", ErrOffline, repoID, opts.Revision, files, opts.CacheDir)
	}
	info, err := Info(ctx, repoID, opts)
	if err != nil {
		return "", err
	}
	if !commitRe.MatchString(info.Commit) {
		return "", fmt.Errorf("hub: %s@%s: the API gave no commit hash", repoID, opts.Revision)
	}
	known := map[string]RepoFile{}
	for _, f := range info.Files {
		known[f.Name] = f
	}
	repo := opts.RepoDir(repoID)
	snap := filepath.Join(repo, "snapshots", info.Commit)
	for _, name := range files {
		f, ok := known[name]
		if !ok {
			return "", fmt.Errorf("%w: %s has no file %q at %s", ErrNotFound, repoID, name, opts.Revision)
		}
		if err := opts.fetchFile(ctx, repoID, info.Commit, repo, snap, f); err != nil {
			return "", err
		}
	}
	if !commitRe.MatchString(opts.Revision) {
		if err := os.MkdirAll(filepath.Join(repo, "refs"), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(repo, "refs", opts.Revision), []byte(info.Commit), 0o644); err != nil {
			return "", err
		}
	}
	return snap, nil
}

func validRepoPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// fetchFile downloads one file into blobs/ (resuming a partial download) and
// links it into the snapshot folder.
func (o Options) fetchFile(ctx context.Context, repoID, commit, repo, snap string, f RepoFile) error {
	target := filepath.Join(snap, filepath.FromSlash(f.Name))
	if _, err := os.Stat(target); err == nil {
		return nil
	}
	u := fmt.Sprintf("%s/%s/resolve/%s/%s", o.Endpoint, repoID, commit, escapePath(f.Name))
	blobs := filepath.Join(repo, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	// The blob is named by its ETag as huggingface_hub does: the SHA-256 for
	// LFS files. Without a listed SHA-256 we learn the ETag from the response.
	etag := f.SHA256
	var partial string
	if etag != "" {
		blob := filepath.Join(blobs, etag)
		if _, err := os.Stat(blob); err == nil {
			return link(blob, target)
		}
		partial = blob + ".incomplete"
	} else {
		partial = filepath.Join(blobs, "tmp-"+strings.ReplaceAll(f.Name, "/", "_")+".incomplete")
	}
	respETag, err := o.fetchTo(ctx, u, partial, f)
	if err != nil {
		return err
	}
	if etag == "" {
		etag = respETag
	}
	if etag == "" {
		sum, err := fileSHA256(partial)
		if err != nil {
			return err
		}
		etag = sum
	}
	if f.SHA256 != "" {
		sum, err := fileSHA256(partial)
		if err != nil {
			return err
		}
		if sum != f.SHA256 {
			os.Remove(partial)
			return fmt.Errorf("%w: %s/%s has sha256 %s, the Hub lists %s (partial download removed; retry)", ErrChecksum, repoID, f.Name, sum, f.SHA256)
		}
	}
	blob := filepath.Join(blobs, etag)
	if err := os.Rename(partial, blob); err != nil {
		return err
	}
	return link(blob, target)
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// fetchTo appends the remote file to partial, resuming with a Range request
// when partial already holds bytes, and returns the normalised ETag.
func (o Options) fetchTo(ctx context.Context, u, partial string, f RepoFile) (string, error) {
	out, err := os.OpenFile(partial, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	defer out.Close()
	have, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return "", err
	}
	if f.Size > 0 && have >= f.Size {
		return "", nil // complete from an earlier run; the checksum decides
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	o.authorize(req)
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := o.Client.Do(req) // follows redirects (LFS files live on a CDN)
	if err != nil {
		return "", fmt.Errorf("hub: fetching %s: %w", u, err)
	}
	defer resp.Body.Close()
	if err := statusError(resp, u); err != nil {
		return "", err
	}
	switch {
	case have > 0 && resp.StatusCode == http.StatusPartialContent:
		// resume
	case resp.StatusCode == http.StatusOK:
		if err := out.Truncate(0); err != nil {
			return "", err
		}
		if _, err := out.Seek(0, io.SeekStart); err != nil {
			return "", err
		}
		have = 0
	default:
		return "", fmt.Errorf("hub: fetching %s: unexpected HTTP %d", u, resp.StatusCode)
	}
	etag := resp.Header.Get("X-Linked-Etag")
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	if strings.ContainsAny(etag, `/\`) || etag == "." || etag == ".." {
		etag = ""
	}
	total := f.Size
	if total == 0 && resp.ContentLength > 0 {
		total = have + resp.ContentLength
	}
	buf := make([]byte, 1<<20)
	done := have
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				return "", err
			}
			done += int64(n)
			if o.Progress != nil {
				o.Progress(f.Name, done, total)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", fmt.Errorf("hub: fetching %s (resumable, %d bytes kept): %w", u, done, rerr)
		}
	}
	if f.Size > 0 && done != f.Size {
		return "", fmt.Errorf("hub: fetching %s: got %d bytes, want %d (resumable)", u, done, f.Size)
	}
	return etag, out.Sync()
}

// link points the snapshot file at the blob with a relative symlink (as
// huggingface_hub does), or copies where symlinks are unavailable.
func link(blob, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(target), blob)
	if err == nil {
		if err = os.Symlink(rel, target); err == nil {
			return nil
		}
	}
	in, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(target)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
