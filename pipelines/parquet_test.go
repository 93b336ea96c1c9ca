package pipelines

import (
	"context"
	"slices"
	"testing"

	"github.com/flavabeam/flavabeam/model/pretrained"
	"github.com/flavabeam/flavabeam/model/tensor"
	"github.com/flavabeam/flavabeam/schemas"
	"github.com/flavabeam/flavabeam/transforms"
)

func parquetJob(out string) Job {
	return Job{Source: Source{Parquet: records}, Output: Sink{Parquet: out}}
}

func TestEmbedParquetToParquet(t *testing.T) {
	out := t.TempDir()
	sum := run(t, func() (Summary, error) {
		p, err := Embed(EmbedConfig{Job: parquetJob(out)})
		if err != nil {
			return Summary{}, err
		}
		return Run(context.Background(), p)
	})
	embs := readShards[schemas.Embedding](t, out, OutputEmbeddings)
	dead := readShards[schemas.DeadLetter](t, out, OutputDeadLetters)
	checkDeadLetters(t, dead, sum, len(embs))

	in := inputRecords(t)
	ref := newReference(t, pretrained.TinyRandom)
	for _, e := range embs {
		r, ok := in[e.ID]
		if !ok {
			t.Fatalf("embedding of unknown record %q", e.ID)
		}
		if e.ModelID != pretrained.TinyRandom {
			t.Errorf("%s: model id %q", e.ID, e.ModelID)
		}
		if len(e.MultimodalVector) == 0 {
			t.Errorf("%s: no multimodal vector for an image–text pair", e.ID)
		}
		if !e.EventTime.Equal(r.EventTime) {
			t.Errorf("%s: event time %v, want %v", e.ID, e.EventTime, r.EventTime)
		}
		closeVec(t, e.ID+" image", e.ImageVector, ref.imageVector(t, r.Image))
		closeVec(t, e.ID+" text", e.TextVector, ref.textVector(t, r.Text))
	}
	if len(sum.Distributions) == 0 {
		t.Error("summary has no distributions (per-stage latencies, model load time)")
	}
}

func TestScorePairsParquetToParquet(t *testing.T) {
	out := t.TempDir()
	sum := run(t, func() (Summary, error) {
		p, err := Score(ScoreConfig{Job: parquetJob(out)})
		if err != nil {
			return Summary{}, err
		}
		return Run(context.Background(), p)
	})
	scores := readShards[schemas.Score](t, out, OutputScores)
	checkDeadLetters(t, readShards[schemas.DeadLetter](t, out, OutputDeadLetters), sum, len(scores))
	in := inputRecords(t)
	ref := newReference(t, pretrained.TinyRandom)
	for _, s := range scores {
		r := in[s.ID]
		iv, tv := ref.imageVector(t, r.Image), ref.textVector(t, r.Text)
		var dot float32
		for i := range iv {
			dot += iv[i] * tv[i]
		}
		if s.ContrastiveSimilarity == nil || s.ContrastiveLogit == nil || s.ITMProbability == nil {
			t.Fatalf("%s: a pairs score is null: %+v", s.ID, s)
		}
		closeVec(t, s.ID+" similarity", []float32{*s.ContrastiveSimilarity}, []float32{dot})
		closeVec(t, s.ID+" logit", []float32{*s.ContrastiveLogit}, []float32{dot * ref.b.Scorer.LogitScale()})
		if *s.ITMProbability <= 0 || *s.ITMProbability >= 1 {
			t.Errorf("%s: ITM probability %v outside (0, 1)", s.ID, *s.ITMProbability)
		}
		if len(s.TopK) != 0 {
			t.Errorf("%s: pairs mode wrote top-k labels", s.ID)
		}
	}
}

func TestScoreZeroShotParquetToParquet(t *testing.T) {
	out := t.TempDir()
	sum := run(t, func() (Summary, error) {
		p, err := Score(ScoreConfig{Job: parquetJob(out), Mode: ModeZeroShot, Options: transforms.ZeroShotOptions{TopK: 2}})
		if err != nil {
			return Summary{}, err
		}
		return Run(context.Background(), p)
	})
	scores := readShards[schemas.Score](t, out, OutputScores)
	checkDeadLetters(t, readShards[schemas.DeadLetter](t, out, OutputDeadLetters), sum, len(scores))
	in := inputRecords(t)
	for _, s := range scores {
		if len(s.TopK) != 2 {
			t.Fatalf("%s: %d labels, want 2", s.ID, len(s.TopK))
		}
		if s.TopK[0].Probability < s.TopK[1].Probability {
			t.Errorf("%s: top-k not sorted: %+v", s.ID, s.TopK)
		}
		found := false
		for _, l := range in[s.ID].Labels {
			found = found || l == s.TopK[0].Label
		}
		if !found {
			t.Errorf("%s: label %q is not one of the record's %v", s.ID, s.TopK[0].Label, in[s.ID].Labels)
		}
	}
}

func TestLabelMIMParquetToParquet(t *testing.T) {
	out := t.TempDir()
	sum := run(t, func() (Summary, error) {
		p, err := LabelMIM(MIMConfig{Job: parquetJob(out)})
		if err != nil {
			return Summary{}, err
		}
		return Run(context.Background(), p)
	})
	labels := readShards[schemas.MIMLabel](t, out, OutputMIMLabels)
	checkDeadLetters(t, readShards[schemas.DeadLetter](t, out, OutputDeadLetters), sum, len(labels))
	in := inputRecords(t)
	ref := newReference(t, pretrained.TinyRandom)
	cb := ref.b.Codebook()
	for _, l := range labels {
		r := in[l.ID]
		if l.MaskSeed != transforms.MaskSeed(l.ID) {
			t.Errorf("%s: mask seed %d, want transforms.MaskSeed = %d", l.ID, l.MaskSeed, transforms.MaskSeed(l.ID))
		}
		rgb, err := ref.b.Images.Decode(r.Image)
		if err != nil {
			t.Fatal(err)
		}
		c, h, w := ref.b.Images.CodebookPixelShape(rgb.W, rgb.H)
		want, err := cb.MIMLabels(tensor.FromData(ref.b.Images.CodebookPixelValues(rgb), 1, c, h, w), [][]bool{ref.b.Images.Mask(l.MaskSeed)})
		if err != nil {
			t.Fatal(err)
		}
		w0 := want[0]
		if len(l.CodebookIDs) != len(w0.TokenIDs) || int(l.GridH*l.GridW) != len(w0.TokenIDs) {
			t.Fatalf("%s: %d codebook ids on a %dx%d grid, want %d", l.ID, len(l.CodebookIDs), l.GridH, l.GridW, len(w0.TokenIDs))
		}
		for i, id := range w0.TokenIDs {
			if int64(l.CodebookIDs[i]) != id {
				t.Fatalf("%s: codebook id %d = %d, want %d", l.ID, i, l.CodebookIDs[i], id)
			}
		}
		var masked []int32
		for i, m := range w0.Mask {
			if m {
				masked = append(masked, int32(i))
			}
		}
		if len(masked) == 0 || !slices.Equal(masked, l.MaskedPositions) {
			t.Errorf("%s: masked positions %v, want %v", l.ID, l.MaskedPositions, masked)
		}
	}
}
