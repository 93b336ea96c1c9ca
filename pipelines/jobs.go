package pipelines

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/flavabeam/flavabeam/transforms"
)

// EmbedConfig configures the embed job: records in, schemas.Embedding out.
// The zero value (with Job's Source and Output set) embeds every modality
// each record has with the built-in tiny-random model.
type EmbedConfig struct {
	Job
	// Options: model source (default "tiny-random": meaningless vectors),
	// which vectors (default all the record allows), batching, threads.
	Options transforms.EmbedOptions
}

// Validate names the first bad field.
func (c EmbedConfig) Validate() error {
	if err := c.Job.Validate(); err != nil {
		return err
	}
	if err := c.Options.Validate(); err != nil {
		return bad("Options", "%v", err)
	}
	return nil
}

// Score modes for ScoreConfig.Mode.
const (
	// ModePairs scores each record's image against its own text
	// (contrastive similarity and logit, ITM probability).
	ModePairs = "pairs"
	// ModeZeroShot classifies each record's image among labels (the
	// record's own, else Options.Labels) into Score.TopK.
	ModeZeroShot = "zero-shot"
)

// ScoreConfig configures the score job: records in, schemas.Score out.
type ScoreConfig struct {
	Job
	// Mode is ModePairs (default "") or ModeZeroShot.
	Mode string
	// Options: model source (default "tiny-random"), batching, threads; in
	// zero-shot mode also Labels, Template (default "a photo of a {}") and
	// TopK (default 5). Labels, Template and TopK are ignored in pairs mode.
	Options transforms.ZeroShotOptions
}

// Validate names the first bad field.
func (c ScoreConfig) Validate() error {
	if err := c.Job.Validate(); err != nil {
		return err
	}
	if c.Mode != "" && c.Mode != ModePairs && c.Mode != ModeZeroShot {
		return bad("Mode", "%q is not %q or %q", c.Mode, ModePairs, ModeZeroShot)
	}
	if err := c.Options.Validate(); err != nil {
		return bad("Options", "%v", err)
	}
	return nil
}

// MIMConfig configures the label-mim job: images in, schemas.MIMLabel out.
type MIMConfig struct {
	Job
	// Options: model source (default "tiny-random", which has a codebook),
	// CodebookSource (default: the checkpoint's own codebook, else
	// facebook/flava-image-codebook; when set it replaces the checkpoint's
	// own), batching, threads.
	Options transforms.Options
}

// Validate names the first bad field.
func (c MIMConfig) Validate() error {
	if err := c.Job.Validate(); err != nil {
		return err
	}
	if err := c.Options.Validate(); err != nil {
		return bad("Options", "%v", err)
	}
	return nil
}

// AddEmbed adds the embed job to s.
func AddEmbed(s beam.Scope, cfg EmbedConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	Build(s, cfg.Job, OutputEmbeddings, func(s beam.Scope, recs beam.PCollection) (beam.PCollection, beam.PCollection) {
		return transforms.Embed(s, recs, cfg.Options)
	})
	return nil
}

// AddScore adds the score job to s.
func AddScore(s beam.Scope, cfg ScoreConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	Build(s, cfg.Job, OutputScores, func(s beam.Scope, recs beam.PCollection) (beam.PCollection, beam.PCollection) {
		if cfg.Mode == ModeZeroShot {
			return transforms.ZeroShotClassify(s, recs, cfg.Options)
		}
		return transforms.ScorePairs(s, recs, cfg.Options.Options)
	})
	return nil
}

// AddLabelMIM adds the label-mim job to s.
func AddLabelMIM(s beam.Scope, cfg MIMConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	Build(s, cfg.Job, OutputMIMLabels, func(s beam.Scope, recs beam.PCollection) (beam.PCollection, beam.PCollection) {
		return transforms.LabelMIM(s, recs, cfg.Options)
	})
	return nil
}

// Embed returns a new pipeline running the embed job.
func Embed(cfg EmbedConfig) (*beam.Pipeline, error) {
	return newPipeline("embed", func(s beam.Scope) error { return AddEmbed(s, cfg) })
}

// Score returns a new pipeline running the score job.
func Score(cfg ScoreConfig) (*beam.Pipeline, error) {
	return newPipeline("score", func(s beam.Scope) error { return AddScore(s, cfg) })
}

// LabelMIM returns a new pipeline running the label-mim job.
func LabelMIM(cfg MIMConfig) (*beam.Pipeline, error) {
	return newPipeline("label-mim", func(s beam.Scope) error { return AddLabelMIM(s, cfg) })
}

func newPipeline(name string, add func(beam.Scope) error) (*beam.Pipeline, error) {
	p, s := beam.NewPipelineWithRoot()
	if err := add(s.Scope(name)); err != nil {
		return nil, fmt.Errorf("pipelines: %s: %w", name, err)
	}
	return p, nil
}
