// Command check verifies the output of scripts/flink/run-embed.sh: the
// embeddings and dead letters that `flavabeam embed` wrote for
// testdata/records.parquet. Usage: check DIR EMBEDDINGS DEAD_LETTERS.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/schemas"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: check DIR EMBEDDINGS DEAD_LETTERS")
		os.Exit(2)
	}
	dir := os.Args[1]
	wantEmb, err1 := strconv.Atoi(os.Args[2])
	wantDead, err2 := strconv.Atoi(os.Args[3])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "check: counts must be integers")
		os.Exit(2)
	}
	emb, err := rows[schemas.Embedding](dir, "embeddings")
	if err == nil {
		for _, e := range emb {
			if len(e.ImageVector) == 0 || len(e.TextVector) == 0 {
				err = fmt.Errorf("record %s lacks a vector", e.ID)
			}
		}
	}
	dead, err2 := rows[schemas.DeadLetter](dir, "dead-letters")
	if err == nil {
		err = err2
	}
	if err == nil && (len(emb) != wantEmb || len(dead) != wantDead) {
		err = fmt.Errorf("%d embeddings and %d dead letters, want %d and %d", len(emb), len(dead), wantEmb, wantDead)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "check: FAILED:", err)
		os.Exit(1)
	}
	fmt.Printf("check: %d embeddings, %d dead letters in %s\n", len(emb), len(dead), dir)
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
