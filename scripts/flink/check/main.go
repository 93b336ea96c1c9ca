// Command check verifies the output of the Flink scripts in scripts/flink.
//
// Usage:
//
//	check DIR EMBEDDINGS DEAD_LETTERS   count the embeddings and dead letters
//	                                    `flavabeam embed` wrote to DIR
//	check -compare DIR REF              DIR's embeddings equal REF's value for
//	                                    value (same ids, same float32 bits) and
//	                                    both dead-letter the same ids for the
//	                                    same stage and reason
//	check -split IN OUTDIR N            write IN's records (schemas.ImageText)
//	                                    round-robin into N Parquet files in
//	                                    OUTDIR, part-0.parquet ...
package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/schemas"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 4 && os.Args[1] == "-compare":
		err = compare(os.Args[2], os.Args[3])
	case len(os.Args) == 5 && os.Args[1] == "-split":
		err = split(os.Args[2], os.Args[3], os.Args[4])
	case len(os.Args) == 4:
		err = count(os.Args[1], os.Args[2], os.Args[3])
	default:
		fmt.Fprintln(os.Stderr, "usage: check DIR EMBEDDINGS DEAD_LETTERS | check -compare DIR REF | check -split IN OUTDIR N")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "check: FAILED:", err)
		os.Exit(1)
	}
}

func count(dir, embeddings, deadLetters string) error {
	wantEmb, err1 := strconv.Atoi(embeddings)
	wantDead, err2 := strconv.Atoi(deadLetters)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("counts must be integers")
	}
	emb, err := rows[schemas.Embedding](dir, "embeddings")
	if err != nil {
		return err
	}
	for _, e := range emb {
		if len(e.ImageVector) == 0 || len(e.TextVector) == 0 {
			return fmt.Errorf("record %s lacks a vector", e.ID)
		}
	}
	dead, err := rows[schemas.DeadLetter](dir, "dead-letters")
	if err != nil {
		return err
	}
	if len(emb) != wantEmb || len(dead) != wantDead {
		return fmt.Errorf("%d embeddings and %d dead letters, want %d and %d", len(emb), len(dead), wantEmb, wantDead)
	}
	fmt.Printf("check: %d embeddings, %d dead letters in %s\n", len(emb), len(dead), dir)
	return nil
}

func compare(dir, ref string) error {
	got, err := embeddingsByID(dir)
	if err != nil {
		return err
	}
	want, err := embeddingsByID(ref)
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d embeddings in %s, %d in %s", len(got), dir, len(want), ref)
	}
	floats := 0
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			return fmt.Errorf("%s has no embedding for %s", dir, id)
		}
		if g.ModelID != w.ModelID {
			return fmt.Errorf("%s: model %q, want %q", id, g.ModelID, w.ModelID)
		}
		for _, v := range []struct {
			name string
			g, w []float32
		}{{"image", g.ImageVector, w.ImageVector}, {"text", g.TextVector, w.TextVector}, {"multimodal", g.MultimodalVector, w.MultimodalVector}} {
			if len(v.g) != len(v.w) {
				return fmt.Errorf("%s: %s vector has %d values, want %d", id, v.name, len(v.g), len(v.w))
			}
			for i := range v.w {
				if math.Float32bits(v.g[i]) != math.Float32bits(v.w[i]) {
					return fmt.Errorf("%s: %s vector[%d] = %v, want %v", id, v.name, i, v.g[i], v.w[i])
				}
			}
			floats += len(v.w)
		}
	}
	gotDead, err := deadLetterKeys(dir)
	if err != nil {
		return err
	}
	wantDead, err := deadLetterKeys(ref)
	if err != nil {
		return err
	}
	if fmt.Sprint(gotDead) != fmt.Sprint(wantDead) {
		return fmt.Errorf("dead letters differ:\n  %s: %v\n  %s: %v", dir, gotDead, ref, wantDead)
	}
	fmt.Printf("check: %s equals %s: %d embeddings (%d floats, bit for bit), dead letters %v\n", dir, ref, len(got), floats, gotDead)
	return nil
}

func embeddingsByID(dir string) (map[string]schemas.Embedding, error) {
	emb, err := rows[schemas.Embedding](dir, "embeddings")
	if err != nil {
		return nil, err
	}
	m := make(map[string]schemas.Embedding, len(emb))
	for _, e := range emb {
		if _, dup := m[e.ID]; dup {
			return nil, fmt.Errorf("%s: two embeddings for %s", dir, e.ID)
		}
		m[e.ID] = e
	}
	return m, nil
}

// deadLetterKeys returns "id/stage/reason" of every dead letter, sorted.
func deadLetterKeys(dir string) ([]string, error) {
	dead, err := rows[schemas.DeadLetter](dir, "dead-letters")
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(dead))
	for _, d := range dead {
		keys = append(keys, d.ID+"/"+d.Stage+"/"+d.Reason)
	}
	sort.Strings(keys)
	return keys, nil
}

func split(in, outDir, parts string) error {
	n, err := strconv.Atoi(parts)
	if err != nil || n < 1 {
		return fmt.Errorf("N must be a positive integer, got %q", parts)
	}
	recs, err := parquet.ReadFile[schemas.ImageText](in)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	out := make([][]schemas.ImageText, n)
	for i, r := range recs {
		out[i%n] = append(out[i%n], r)
	}
	for i, rs := range out {
		p := filepath.Join(outDir, fmt.Sprintf("part-%d.parquet", i))
		if err := parquet.WriteFile(p, rs, parquet.MaxRowsPerRowGroup(4)); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	fmt.Printf("check: split %d records of %s into %d files in %s\n", len(recs), in, n, outDir)
	return nil
}

func rows[T any](dir, prefix string) ([]T, error) {
	files, err := filepath.Glob(filepath.Join(dir, prefix+"-*.parquet"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no %s files in %s", prefix, dir)
	}
	var out []T
	for _, f := range files {
		r, err := parquet.ReadFile[T](f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, r...)
	}
	return out, nil
}
