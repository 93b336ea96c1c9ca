package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/pipelines"
	"github.com/flavabeam/flavabeam/schemas"
)

func TestMain(m *testing.M) {
	if args := os.Getenv(cliArgsEnv); args != "" {
		os.Exit(cliMain(strings.Split(args, "\x1f")))
	}
	ptest.MainWithDefault(m, "prism")
}

const records = "../../testdata/records.parquet"

// cli runs the command in-process and returns its exit code and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestEmbedWithOnlyInputAndOutput(t *testing.T) {
	out := t.TempDir()
	code, _, stderr := cli(t, "embed", "--input", records, "--output", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"MEANINGLESS",
		"24 input records",
		"records in: 24, out: 22, dead-lettered: 2",
		"reason decode_error: 1", "reason missing_input: 1",
		"inference_batch_latency ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	rows, err := parquet.ReadFile[schemas.Embedding](filepath.Join(out, "embeddings-00000-of-00001.parquet"))
	if err != nil || len(rows) != 22 {
		t.Fatalf("%d embeddings, %v", len(rows), err)
	}
	dead, err := parquet.ReadFile[schemas.DeadLetter](filepath.Join(out, "dead-letters-00000-of-00001.parquet"))
	if err != nil || len(dead) != 2 {
		t.Fatalf("%d dead letters, %v", len(dead), err)
	}
}

func TestScoreAndLabelMIMCommands(t *testing.T) {
	for _, args := range [][]string{
		{"score"},
		{"score", "--mode", "zero-shot", "--top-k", "2", "--candidate-labels", "cat,dog"},
		{"label-mim", "--shards", "2", "--compression", "zstd"},
	} {
		out := t.TempDir()
		code, _, stderr := cli(t, append(args, "--input", records, "--output", out)...)
		if code != 0 || !strings.Contains(stderr, "records in: 24, out: 22, dead-lettered: 2") {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
		files, _ := filepath.Glob(filepath.Join(out, "*.parquet"))
		if args[0] == "label-mim" && len(files) != 4 { // 2 shards of labels, 2 of dead letters
			t.Errorf("%v: files %v", args, files)
		}
	}
}

func TestBeamFlagsReachBeam(t *testing.T) {
	out := t.TempDir()
	code, _, stderr := cli(t, "embed", "--runner=prism", "--job_name=flavabeam-flag-test", "--input", records, "--output", out, "--progress=0")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	set := map[string]string{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
	if set["runner"] != "prism" || set["job_name"] != "flavabeam-flag-test" {
		t.Errorf("Beam's global flags set: %v", set)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: flavabeam"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"help"}, 0, "label-mim"},
		{[]string{"embed", "-h"}, 0, "--runner"},
		{[]string{"embed", "--no-such-flag"}, 2, "no-such-flag"},
		{[]string{"embed", "--input", records}, 2, "Output"},
		{[]string{"embed", "--input", records, "--output", "x", "--vectors", "audio"}, 2, "audio"},
		{[]string{"score", "--input", records, "--output", "x", "--mode", "triplets"}, 2, "Mode"},
		{[]string{"embed", "--output", "x", "--streaming"}, 2, "--streaming"},
		{[]string{"embed", "--input-topic", "t", "--output-topic", "o", "--start-from", "timestamp"}, 2, "StartTime"},
		{[]string{"embed", "--input-topic", "t", "--output-topic", "o", "--start-from", "timestamp", "--start-time", "yesterday"}, 2, "--start-time"},
		{[]string{"embed", "--input-topic", "t", "--output", "x", "--streaming"}, 2, "unbounded Kafka source needs Kafka sinks"},
		{[]string{"embed", "--input", records, "--output", "x", "--log-level", "loud"}, 2, "--log-level"},
		{[]string{"inspect"}, 2, "usage: flavabeam inspect"},
		{[]string{"inspect", "/no/such/path"}, 1, "no such file"},
	}
	for _, c := range cases {
		code, stdout, stderr := cli(t, c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("%v: exit %d (want %d), output lacks %q:\n%s%s", c.args, code, c.code, c.want, stdout, stderr)
		}
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(pipelines.Progress{Read: 10, Out: 8, Dead: 2}, 40, 5*time.Second)
	want := "progress: 10/40 records (25%), 8 out, 2 dead-lettered, 2.0 records/s, ETA 15s"
	if got != want {
		t.Errorf("progressLine = %q, want %q", got, want)
	}
	if got := progressLine(pipelines.Progress{}, 0, time.Second); got != "progress: 0 records, 0 out, 0 dead-lettered, 0.0 records/s" {
		t.Errorf("unknown-total progress line %q", got)
	}
	if got := progressLine(pipelines.Progress{}, 24, time.Second); !strings.HasSuffix(got, "ETA unknown (nothing done yet: the job is starting or loading the model)") {
		t.Errorf("nothing-done progress line %q", got)
	}
}

// TestInspectEveryFixture runs inspect on every fixture model directory and
// every checkpoint file in it, checking the summary against the model and
// checkpoint APIs.
func TestInspectEveryFixture(t *testing.T) {
	for _, dir := range fixtures.Dirs(t, "config.json") {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			code, out, stderr := cli(t, "inspect", dir)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			cfg, err := flava.LoadConfig(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			cfg = cfg.WithDefaults()
			m, err := flava.LoadForPreTraining(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for _, want := range []string{
				fmt.Sprintf("image:      hidden %d, layers %d, heads %d", cfg.ImageConfig.HiddenSize, cfg.ImageConfig.NumHiddenLayers, cfg.ImageConfig.NumAttentionHeads),
				fmt.Sprintf("text:       hidden %d, layers %d, heads %d", cfg.TextConfig.HiddenSize, cfg.TextConfig.NumHiddenLayers, cfg.TextConfig.NumAttentionHeads),
				fmt.Sprintf("vocab %d", cfg.TextConfig.VocabSize),
				fmt.Sprintf("multimodal: hidden %d, layers %d", cfg.MultimodalConfig.HiddenSize, cfg.MultimodalConfig.NumHiddenLayers),
				fmt.Sprintf("projection dim %d", cfg.ProjectionDim),
				fmt.Sprintf("parameters: %d ", m.NumParameters()),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
			bins, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
			for _, f := range append(append([]string{dir}, files...), bins...) {
				checkTensorListing(t, f)
			}
		})
	}
}

// checkTensorListing checks that inspect lists every tensor of path with its
// dtype and shape.
func checkTensorListing(t *testing.T, path string) {
	t.Helper()
	code, out, stderr := cli(t, "inspect", path)
	if code != 0 {
		t.Fatalf("inspect %s: exit %d: %s", path, code, stderr)
	}
	sd, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && strings.HasPrefix(l, "  ") {
			lines[f[0]] = strings.Join(f[1:], " ")
		}
	}
	if !strings.Contains(out, fmt.Sprintf("tensors: %d (", sd.Len())) {
		t.Errorf("%s: tensor count %d not reported", path, sd.Len())
	}
	for _, n := range sd.Names() {
		info, _ := sd.Info(n)
		if want := fmt.Sprintf("%s %v", info.DType, info.Shape); lines[n] != want {
			t.Errorf("%s: %s listed as %q, want %q", path, n, lines[n], want)
		}
	}
}

// TestDownloadFromHubIntoCache serves the tiny fixture as a Hub repository
// and checks that download puts it in the cache layout and that inspect
// reads the snapshot.
func TestDownloadFromHubIntoCache(t *testing.T) {
	src := filepath.Join(fixtures.Root(t), "tiny")
	files := []string{"config.json", "model.safetensors"}
	const commit = "0123456789abcdef0123456789abcdef01234567"
	mux := http.NewServeMux()
	mux.HandleFunc("/api/models/test/flava-tiny/revision/main", func(w http.ResponseWriter, r *http.Request) {
		type lfs struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		}
		type sibling struct {
			RFilename string `json:"rfilename"`
			Size      int64  `json:"size"`
			LFS       *lfs   `json:"lfs,omitempty"`
		}
		var sib []sibling
		for _, f := range files {
			data, _ := os.ReadFile(filepath.Join(src, f))
			sum := sha256.Sum256(data)
			sib = append(sib, sibling{RFilename: f, Size: int64(len(data)), LFS: &lfs{hex.EncodeToString(sum[:]), int64(len(data))}})
		}
		json.NewEncoder(w).Encode(map[string]any{"sha": commit, "siblings": sib})
	})
	mux.HandleFunc("/test/flava-tiny/resolve/"+commit+"/", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(src, filepath.Base(r.URL.Path)))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cache := t.TempDir()
	t.Setenv("HF_HUB_OFFLINE", "")
	code, stdout, stderr := cli(t, "download", "--codebook=false", "--endpoint", srv.URL, "--cache-dir", cache, "test/flava-tiny")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	snap := filepath.Join(cache, "models--test--flava-tiny", "snapshots", commit)
	if stdout != "test/flava-tiny\t"+snap+"\n" {
		t.Errorf("stdout %q, want the snapshot %s", stdout, snap)
	}
	for _, f := range files {
		a, _ := os.ReadFile(filepath.Join(src, f))
		b, err := os.ReadFile(filepath.Join(snap, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s not downloaded intact (%v)", f, err)
		}
	}
	if code, out, _ := cli(t, "inspect", "--tensors=false", snap); code != 0 || !strings.Contains(out, "parameters: ") {
		t.Errorf("inspect of the snapshot: exit %d\n%s", code, out)
	}
	// Offline, the cached snapshot is found without the server.
	srv.Close()
	t.Setenv("HF_HUB_OFFLINE", "1")
	if code, stdout, stderr := cli(t, "download", "--codebook=false", "--cache-dir", cache, "test/flava-tiny"); code != 0 || !strings.Contains(stdout, snap) {
		t.Errorf("offline download: exit %d, %q %s", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, "download", "--codebook=false", "--cache-dir", t.TempDir(), "test/flava-tiny"); code != 1 || !strings.Contains(stderr, "offline") {
		t.Errorf("offline download of an uncached repo: exit %d: %s", code, stderr)
	}
}
