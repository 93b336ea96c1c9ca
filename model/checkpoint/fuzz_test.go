package checkpoint

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flavabeam/flavabeam/internal/fuzzguard"
)

// addSeeds adds every testdata file whose name has one of the suffixes.
func addSeeds(f *testing.F, suffixes ...string) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		for _, s := range suffixes {
			if strings.HasSuffix(e.Name(), s) {
				b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
			}
		}
	}
}

// readAll touches every tensor the way a caller would.
func readAll(sd *StateDict) {
	for _, n := range sd.Names() {
		sd.Float32(n)
		sd.Int64(n)
	}
}

func FuzzParseSafetensors(f *testing.F) {
	addSeeds(f, ".safetensors")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			sd, err := ParseSafetensors(data)
			if err != nil {
				return
			}
			readAll(sd)
		})
	})
}

func FuzzParsePyTorch(f *testing.F) {
	addSeeds(f, ".bin", ".pt")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			sd, err := ParsePyTorch(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return
			}
			readAll(sd)
		})
	})
}

// FuzzUnpickle runs arbitrary pickles against a fixed archive whose storages
// "0" … "9" hold 64 bytes each, so the fuzzer can reach tensor rebuilding
// without having to build valid zip files.
func FuzzUnpickle(f *testing.F) {
	addSeeds(f, ".pkl")
	for _, name := range []string{"torch_p2.bin", "torch_p4.bin"} {
		zr, err := zip.OpenReader(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, zf := range zr.File {
			if strings.HasSuffix(zf.Name, "/data.pkl") {
				rc, _ := zf.Open()
				var buf bytes.Buffer
				buf.ReadFrom(rc)
				rc.Close()
				f.Add(buf.Bytes())
			}
		}
		zr.Close()
	}
	entries := map[string][]byte{"a/data.pkl": []byte("}.")}
	for i := 0; i < 10; i++ {
		b := make([]byte, 64)
		for j := range b {
			b[j] = byte(i*64 + j)
		}
		entries["a/data/"+string(rune('0'+i))] = b
	}
	archive := torchZipBytes(entries, zip.Store)
	f.Fuzz(func(t *testing.T, pkl []byte) {
		fuzzguard.Run(t, fuzzguard.Limits{}, func() {
			zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
			if err != nil {
				t.Fatal(err)
			}
			tr := &torchReader{r: bytes.NewReader(archive), size: int64(len(archive)), budget: maxExpansion*int64(len(archive)) + 1<<20,
				entries: map[string]*zip.File{}, storage: map[string]*torchStorage{}, prefix: "a/"}
			for _, zf := range zr.File {
				tr.entries[zf.Name] = zf
			}
			sd, err := tr.unpickle(pkl)
			if err != nil {
				return
			}
			readAll(sd)
		})
	})
}
