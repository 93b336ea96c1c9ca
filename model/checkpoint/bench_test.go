package checkpoint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fixtures"
)

// BenchmarkOpen times opening the base-shape checkpoint in both formats:
// "open" maps the file and parses its header or pickle; "read" also decodes
// every tensor to float32 and touches its data, as binding a model does.
// MB/s is the file size over the time per operation.
func BenchmarkOpen(b *testing.B) {
	dir := ""
	for _, d := range fixtures.Dirs(b, "model.safetensors", "pytorch_model.bin") {
		if filepath.Base(d) == "base-shape" {
			dir = d
		}
	}
	if dir == "" {
		b.Skip("no base-shape fixture")
	}
	for _, c := range []struct {
		name string
		open func(string) (*StateDict, error)
		file string
	}{
		{"safetensors", OpenSafetensors, "model.safetensors"},
		{"pytorch", OpenPyTorch, "pytorch_model.bin"},
	} {
		path := filepath.Join(dir, c.file)
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, read := range []bool{false, true} {
			mode := "open"
			if read {
				mode = "read"
			}
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				var sink float32
				for b.Loop() {
					sd, err := c.open(path)
					if err != nil {
						b.Fatal(err)
					}
					if read {
						for _, n := range sd.Names() {
							if info, _ := sd.Info(n); info.DType.Size() == 0 || (info.DType != F32 && info.DType != F16 && info.DType != BF16) {
								continue
							}
							t, err := sd.Float32(n)
							if err != nil {
								b.Fatal(err)
							}
							for i := 0; i < len(t.Data); i += 1024 {
								sink += t.Data[i]
							}
						}
					}
					sd.Close()
				}
				_ = sink
				b.ReportMetric(float64(st.Size())/1e6/(b.Elapsed().Seconds()/float64(b.N)), "MB/s")
			})
		}
	}
}
