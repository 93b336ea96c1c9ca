package main

import (
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/schemas"
)

// TestZeroShotWritesNullPairScores: zero-shot rows leave the pair scores
// null in the Parquet output; pairs rows set them.
func TestZeroShotWritesNullPairScores(t *testing.T) {
	for _, mode := range []string{"zero-shot", "pairs"} {
		out := t.TempDir()
		code, _, stderr := cli(t, "score", "--mode", mode, "--input", records, "--output", out, "--progress=0")
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s", mode, code, stderr)
		}
		rows, err := parquet.ReadFile[schemas.Score](filepath.Join(out, "scores-00000-of-00001.parquet"))
		if err != nil || len(rows) != 22 {
			t.Fatalf("%s: %d scores, %v", mode, len(rows), err)
		}
		for _, s := range rows {
			null := s.ContrastiveSimilarity == nil && s.ContrastiveLogit == nil && s.ITMProbability == nil
			set := s.ContrastiveSimilarity != nil && s.ContrastiveLogit != nil && s.ITMProbability != nil
			if (mode == "zero-shot" && (!null || len(s.TopK) == 0)) || (mode == "pairs" && (!set || len(s.TopK) != 0)) {
				t.Errorf("%s: %s: similarity %v logit %v itm %v, %d labels", mode, s.ID, s.ContrastiveSimilarity, s.ContrastiveLogit, s.ITMProbability, len(s.TopK))
			}
		}
	}
}
