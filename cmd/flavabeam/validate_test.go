package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/internal/fixtures"
	"github.com/flavabeam/flavabeam/model/flava"
	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/schemas"
)

// TestPreflightErrors: every configuration the pre-flight checks refuse
// exits 2 with one line naming the flag, before any pipeline runs.
func TestPreflightErrors(t *testing.T) {
	tiny := filepath.Join(fixtures.Root(t), "tiny")
	aFile := filepath.Join(t.TempDir(), "file")
	os.WriteFile(aFile, []byte("x"), 0o644)
	processorOnly := t.TempDir()
	os.WriteFile(filepath.Join(processorOnly, "preprocessor_config.json"), []byte(`{}`), 0o644)
	noLabels := filepath.Join(t.TempDir(), "nolabels.parquet")
	type plain struct {
		ID    string `parquet:"id"`
		Image []byte `parquet:"image,optional"`
	}
	if err := parquet.WriteFile(noLabels, []plain{{"a", []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	noCodebook := fixtures.NoCodebookModelDir(t, fixturePreprocessorConfig)
	flavaModel := fixtureModelDir(t)
	{ // the same weights declared as a FlavaModel: no codebook to serve
		raw, _ := os.ReadFile(filepath.Join(tiny, "config.json"))
		var cfg map[string]any
		json.Unmarshal(raw, &cfg)
		cfg["architectures"] = []string{"FlavaModel"}
		raw, _ = json.Marshal(cfg)
		os.Remove(filepath.Join(flavaModel, "config.json"))
		os.WriteFile(filepath.Join(flavaModel, "config.json"), raw, 0o644)
	}
	emptyCache := t.TempDir()
	io := func(extra ...string) []string {
		return append([]string{"--input", records, "--output", t.TempDir(), "--progress=0"}, extra...)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing model", append([]string{"embed"}, io("--model", "/no/such/model")...), "--model /no/such/model: no such directory"},
		{"relative missing model", append([]string{"embed"}, io("--model", "mymodel")...), "--model mymodel: no such directory"},
		{"model is a file", append([]string{"embed"}, io("--model", aFile)...), "is a file"},
		{"model is a codebook", append([]string{"embed"}, io("--model", fixtures.CodebookDir(t, false))...), "is an image codebook (FlavaImageCodebook), not a FLAVA model"},
		{"model is a processor", append([]string{"embed"}, io("--model", processorOnly)...), "holds only processor/tokenizer files"},
		{"model not cached offline", append([]string{"embed"}, io("--model", "org/absent", "--offline", "--hub-cache", emptyCache)...), "not in the hub cache " + emptyCache},
		{"input matches nothing", []string{"embed", "--input", filepath.Join(t.TempDir(), "typo-*.parquet"), "--output", t.TempDir()}, "matches no files"},
		{"output is a file", []string{"embed", "--input", records, "--output", aFile}, "--output " + aFile + " is a file"},
		{"output under a file", []string{"embed", "--input", records, "--output", filepath.Join(aFile, "out")}, "cannot be created"},
		{"dead letters under a file", []string{"embed", "--input", records, "--output", t.TempDir(), "--dead-letters", filepath.Join(aFile, "dl")}, "--dead-letters"},
		{"zero-shot without labels", []string{"score", "--mode", "zero-shot", "--input", noLabels, "--output", t.TempDir()}, "pass --candidate-labels"},
		{"codebook outside label-mim", append([]string{"embed"}, io("--codebook", fixtures.CodebookDir(t, false))...), "--codebook is used by label-mim only"},
		{"missing codebook", append([]string{"label-mim"}, io("--codebook", "/no/such/codebook")...), "--codebook /no/such/codebook: no such directory"},
		{"codebook is a FlavaModel", append([]string{"label-mim"}, io("--codebook", flavaModel)...), "not a FlavaImageCodebook"},
		{"no codebook offline", append([]string{"label-mim"}, io("--model", noCodebook, "--offline", "--hub-cache", emptyCache)...),
			"has no image codebook and " + pretrained.FlavaCodebook + " is not in the hub cache " + emptyCache + "; offline mode is on"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, c.args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != exitUsage || !strings.Contains(lines[0], c.want) {
				t.Errorf("exit %d (want %d), first line lacks %q:\n%s%s", code, exitUsage, c.want, stdout, stderr)
			}
			if len(lines) != 2 || !strings.HasPrefix(lines[1], "Run 'flavabeam ") {
				t.Errorf("want one error line and the -h hint, got %d lines:\n%s", len(lines), stderr)
			}
		})
	}
}

// TestEveryRecordDeadLettered: a job that reads records and dead-letters
// all of them writes the dead letters and exits 3.
func TestEveryRecordDeadLettered(t *testing.T) {
	in := filepath.Join(t.TempDir(), "bad.parquet")
	bad := []schemas.ImageText{{ID: "a", Image: []byte("not an image")}, {ID: "b", Image: []byte("GIF89a")}}
	if err := parquet.WriteFile(in, bad); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, _, stderr := cli(t, "embed", "--input", in, "--output", out, "--progress=0")
	if code != exitAllDead || !strings.Contains(stderr, "every record was dead-lettered (2 of 2)") {
		t.Fatalf("exit %d, want %d:\n%s", code, exitAllDead, stderr)
	}
	dead, err := parquet.ReadFile[schemas.DeadLetter](filepath.Join(out, "dead-letters-00000-of-00001.parquet"))
	if err != nil || len(dead) != 2 {
		t.Fatalf("%d dead letters written, %v", len(dead), err)
	}
	// No records at all is not a failure.
	empty := filepath.Join(t.TempDir(), "empty.parquet")
	if err := parquet.WriteFile(empty, []schemas.ImageText{}); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli(t, "embed", "--input", empty, "--output", t.TempDir(), "--progress=0"); code != exitOK {
		t.Errorf("empty input: exit %d:\n%s", code, stderr)
	}
	// Usage texts document the code.
	_, stdout, _ := cli(t, "help")
	_, _, help := cli(t, "embed", "-h")
	for _, s := range []string{stdout, help} {
		if !strings.Contains(s, "3 the job read records but dead-lettered every one") {
			t.Errorf("usage text lacks exit status 3:\n%s", s)
		}
	}
}

// readMIM reads the MIM labels a label-mim run wrote to out.
func readMIM(t *testing.T, out string) map[string]schemas.MIMLabel {
	t.Helper()
	rows, err := parquet.ReadFile[schemas.MIMLabel](filepath.Join(out, "mim-labels-00000-of-00001.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]schemas.MIMLabel{}
	for _, r := range rows {
		m[r.ID] = r
	}
	return m
}

// TestLabelMIMCodebookSources: a model without a codebook falls back to
// facebook/flava-image-codebook from the hub cache (offline, no network);
// --codebook replaces a model's own codebook; model_id names the codebook.
func TestLabelMIMCodebookSources(t *testing.T) {
	t.Setenv("HF_HUB_CACHE", fixtures.HubCache(t, pretrained.FlavaCodebook, fixtures.CodebookDir(t, false)))
	t.Setenv("HF_HUB_OFFLINE", "1")

	fallback := t.TempDir()
	code, _, stderr := cli(t, "label-mim", "--model", fixtures.NoCodebookModelDir(t, fixturePreprocessorConfig), "--input", records, "--output", fallback, "--progress=0")
	if code != exitOK || !strings.Contains(stderr, "has no image codebook; using "+pretrained.FlavaCodebook+" from the hub cache") {
		t.Fatalf("fallback: exit %d:\n%s", code, stderr)
	}
	model := fixtureModelDir(t)
	ownOut := t.TempDir()
	if code, _, stderr := cli(t, "label-mim", "--model", model, "--input", records, "--output", ownOut, "--progress=0"); code != exitOK {
		t.Fatalf("own codebook: exit %d:\n%s", code, stderr)
	}
	other := fixtures.CodebookDir(t, true)
	otherOut := t.TempDir()
	code, _, stderr = cli(t, "label-mim", "--model", model, "--codebook", other, "--input", records, "--output", otherOut, "--progress=0")
	if code != exitOK || !strings.Contains(stderr, "--codebook "+other+" replaces the model's own image codebook") {
		t.Fatalf("--codebook: exit %d:\n%s", code, stderr)
	}

	fb, own, repl := readMIM(t, fallback), readMIM(t, ownOut), readMIM(t, otherOut)
	if len(fb) != 22 || len(own) != 22 || len(repl) != 22 {
		t.Fatalf("labels: %d fallback, %d own, %d replaced; want 22 each", len(fb), len(own), len(repl))
	}
	differ := 0
	for id, o := range own {
		if fb[id].ModelID != pretrained.FlavaCodebook || o.ModelID != model || repl[id].ModelID != other {
			t.Fatalf("%s: model_id %q / %q / %q, want %q / %q / %q", id, fb[id].ModelID, o.ModelID, repl[id].ModelID, pretrained.FlavaCodebook, model, other)
		}
		// The fallback codebook is the fixture's, which the model also holds.
		if fmt.Sprint(fb[id].CodebookIDs) != fmt.Sprint(o.CodebookIDs) {
			t.Errorf("%s: the fallback codebook's ids differ from the same codebook's in the model", id)
		}
		if fmt.Sprint(repl[id].CodebookIDs) != fmt.Sprint(o.CodebookIDs) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("--codebook was ignored: every record has the model's own codebook ids")
	}
}

// configFolder is fixtureModelDir with config.json replaced by the tiny
// fixture's config file from, edited by edit.
func configFolder(t *testing.T, from string, edit func(map[string]any)) string {
	t.Helper()
	dir := fixtureModelDir(t)
	raw, err := os.ReadFile(filepath.Join(fixtures.Root(t), "tiny", from))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	raw, _ = json.Marshal(cfg)
	os.Remove(filepath.Join(dir, "config.json"))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestInspectIdentifiesFolders: inspect names what a folder holds from
// model_type and architectures and prints each part.
func TestInspectIdentifiesFolders(t *testing.T) {
	tiny := filepath.Join(fixtures.Root(t), "tiny")
	// As transformers 5 saves FlavaForPreTraining: the nested codebook
	// config says model_type flava_image_codebook.
	pretraining := configFolder(t, "config.full.json", func(c map[string]any) {
		c["image_codebook_config"].(map[string]any)["model_type"] = "flava_image_codebook"
	})
	flavaModel := configFolder(t, "config.json", func(c map[string]any) { c["architectures"] = []string{"FlavaModel"} })
	processorOnly := t.TempDir()
	os.WriteFile(filepath.Join(processorOnly, "preprocessor_config.json"), []byte(`{"size": {"height": 96, "width": 96}, "image_mean": [0.5, 0.5, 0.5]}`), 0o644)
	fixtures.Place(t, filepath.Join(fixtures.Root(t), "tokenizer", "vocab.txt"), filepath.Join(processorOnly, "vocab.txt"))
	cfg, err := flava.LoadConfig(filepath.Join(tiny, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithDefaults()
	cb := cfg.ImageCodebookConfig.WithDefaults()
	parts := []string{
		fmt.Sprintf("  image:      hidden %d, layers %d, heads %d", cfg.ImageConfig.HiddenSize, cfg.ImageConfig.NumHiddenLayers, cfg.ImageConfig.NumAttentionHeads),
		fmt.Sprintf("  text:       hidden %d, layers %d, heads %d", cfg.TextConfig.HiddenSize, cfg.TextConfig.NumHiddenLayers, cfg.TextConfig.NumAttentionHeads),
		fmt.Sprintf("  multimodal: hidden %d, layers %d", cfg.MultimodalConfig.HiddenSize, cfg.MultimodalConfig.NumHiddenLayers),
		fmt.Sprintf("  projection dim %d", cfg.ProjectionDim),
	}
	codebookLine := fmt.Sprintf("  codebook:   hidden %d, vocab %d, groups %d, blocks per group %d", cb.HiddenSize, cb.VocabSize, cb.NumGroups, cb.NumBlocksPerGroup)
	for _, c := range []struct {
		name, dir string
		want, not []string
	}{
		{"pretraining", pretraining,
			append([]string{`kind: FlavaForPreTraining (config.json: model_type "flava", architectures ["FlavaForPreTraining"])`,
				codebookLine + " (its weights hold image_codebook.*)", "processor: preprocessor_config.json, vocab.txt",
				`  image settings (from preprocessor_config.json): {"size":{"height":64,"width":64}`, "parameters: "}, parts...),
			[]string{"kind: FlavaImageCodebook"}},
		{"flava model", flavaModel,
			append([]string{`kind: FlavaModel (config.json: model_type "flava", architectures ["FlavaModel"])`,
				"  codebook:   none (FlavaModel has no image codebook)"}, parts...),
			[]string{"parameters: "}},
		{"codebook", fixtures.CodebookDir(t, false),
			[]string{`kind: FlavaImageCodebook (config.json: model_type "", architectures ["FlavaImageCodebook"])`,
				codebookLine + " (its weights hold the codebook)", "processor: none", "tensors: "},
			[]string{"image:", "parameters: "}},
		{"processor", processorOnly,
			[]string{"kind: FlavaProcessor\n", "processor: preprocessor_config.json, vocab.txt",
				`  image settings (from preprocessor_config.json): {"size":{"height":96,"width":96}`, `"image_mean":[0.5,0.5,0.5]`, "weights: none found"},
			[]string{"config:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := cli(t, "inspect", "--tensors=false", c.dir)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}
