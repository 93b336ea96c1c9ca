package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/flavabeam/flavabeam/"

// deps lists the packages pkg depends on (transitively), from go list.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+pkg).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func isStd(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

func TestDependencyOrder(t *testing.T) {
	rules := []struct {
		pkg     string
		allowed func(dep string) bool
		why     string
	}{
		{"kernels", func(d string) bool {
			return isStd(d) || strings.HasPrefix(d, "golang.org/x/sys/cpu") || d == module+"kernels"
		}, "kernels imports only the standard library and x/sys/cpu"},
		{"schemas", func(d string) bool { return isStd(d) || d == module+"schemas" }, "schemas imports the standard library only"},
	}
	modelPkgs := []string{"model/tensor", "model/checkpoint", "model/flava", "model/imageproc", "model/tokenizer", "model/hub", "model/pretrained"}
	for _, p := range modelPkgs {
		rules = append(rules, struct {
			pkg     string
			allowed func(string) bool
			why     string
		}{p, func(d string) bool {
			switch {
			case strings.Contains(d, "apache/beam"), strings.Contains(d, "kafka"), strings.Contains(d, "parquet"):
				return false
			case strings.HasPrefix(d, module):
				rest := strings.TrimPrefix(d, module)
				return rest == "kernels" || strings.HasPrefix(rest, "model/")
			}
			return true
		}, "model/ never imports Beam, Kafka, Parquet or a higher layer"})
	}
	for _, p := range []string{"transforms"} {
		rules = append(rules, struct {
			pkg     string
			allowed func(string) bool
			why     string
		}{p, func(d string) bool {
			rest, ours := strings.CutPrefix(d, module)
			return !ours || !(strings.HasPrefix(rest, "io/") || strings.HasPrefix(rest, "pipelines") || strings.HasPrefix(rest, "cmd"))
		}, "transforms never imports io/*, pipelines or cmd"})
	}
	for _, r := range rules {
		for _, d := range deps(t, r.pkg) {
			if !r.allowed(d) {
				t.Errorf("%s depends on %s: %s", r.pkg, d, r.why)
			}
		}
	}
}
