package flava

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// Scorer is the documented way to use FLAVA for real work: retrieval
// vectors, image–text similarity and contrastive logits, image–text matching
// probabilities, zero-shot classification (ZeroShotClassifier) and, with the
// image codebook, MIM labels (ImageCodebook.MIMLabels).
//
// What transformers users trip over (huggingface/transformers issues 18279,
// 26064 and 26078), and what this API does instead:
//
//   - FlavaModel's image_embeddings and text_embeddings are full sequences
//     (B×(1+N)×768 and B×L×768, the encoders' last_hidden_state), not pooled
//     vectors, although the docstring calls them "basically the pooled
//     output".
//   - get_image_features and get_text_features project every token
//     (B×S×projection_dim) and do not normalise.
//   - Retrieval, the contrastive loss and zero-shot classification compare the
//     image_projection / text_projection of token 0 (the CLS token) of the
//     last_hidden_state, L2-normalised; the pooler outputs (tanh(dense(CLS)))
//     are not what the contrastive head uses.
//
// ImageVectors and TextVectors return exactly those normalised CLS
// projections — the vectors FlavaForPreTraining's global contrastive head
// multiplies — one []float32 of projection_dim per input row.
//
// Build a Scorer with NewScorer or NewPretrainingScorer; it is read-only and
// safe for concurrent use.
type Scorer struct {
	// Model supplies the encoders, the projections and logit_scale.
	Model *Model
	// ITMHead scores image–text pairs; nil when the scorer was built from a
	// FlavaModel alone (MatchProbabilities then returns an error).
	ITMHead *ITMHead
}

// NewScorer returns a scorer over a FlavaModel (retrieval, similarity and
// zero-shot; no ITM, which needs FlavaForPreTraining's itm_head).
func NewScorer(m *Model) *Scorer { return &Scorer{Model: m} }

// NewPretrainingScorer returns a scorer over FlavaForPreTraining, with ITM.
func NewPretrainingScorer(m *ForPreTraining) *Scorer {
	return &Scorer{Model: m.Flava, ITMHead: m.ITMHead}
}

// ProjectionDim is the length of the retrieval vectors.
func (s *Scorer) ProjectionDim() int { return s.Model.ImageProjection.out() }

// LogitScale returns exp(logit_scale), the temperature the contrastive head
// multiplies cosine similarities by.
func (s *Scorer) LogitScale() float32 {
	return float32(math.Exp(float64(s.Model.LogitScale.Data[0])))
}

func splitRows(x []float32, rows, dim int) [][]float32 {
	out := make([][]float32, rows)
	for i := range out {
		out[i] = x[i*dim : (i+1)*dim : (i+1)*dim]
	}
	return out
}

// ImageVectors returns one unit-norm retrieval vector per image:
// normalize(image_projection(last_hidden_state[:, 0])).
func (s *Scorer) ImageVectors(in ImageInput) ([][]float32, error) {
	in.OutputHiddenStates = false
	o, err := s.Model.ImageModel.Forward(in)
	if err != nil {
		return nil, err
	}
	v := s.Model.projectCLS(&s.Model.ImageProjection, o.LastHiddenState)
	return splitRows(v, o.LastHiddenState.Shape[0], s.ProjectionDim()), nil
}

// TextVectors returns one unit-norm retrieval vector per text:
// normalize(text_projection(last_hidden_state[:, 0])).
func (s *Scorer) TextVectors(in TextInput) ([][]float32, error) {
	in.OutputHiddenStates = false
	o, err := s.Model.TextModel.Forward(in)
	if err != nil {
		return nil, err
	}
	v := s.Model.projectCLS(&s.Model.TextProjection, o.LastHiddenState)
	return splitRows(v, o.LastHiddenState.Shape[0], s.Model.TextProjection.out()), nil
}

// flatten packs equal-length vectors row-major, checking their length.
func flatten(vs [][]float32, dim int, what string) ([]float32, error) {
	out := make([]float32, 0, len(vs)*dim)
	for i, v := range vs {
		if len(v) != dim {
			return nil, inputErr("%s vector %d has %d values, want %d", what, i, len(v), dim)
		}
		out = append(out, v...)
	}
	return out, nil
}

// Similarity returns the N×M matrix of dot products between image and text
// vectors — the cosine similarity for the unit vectors ImageVectors and
// TextVectors return. All vectors must have the same length.
func Similarity(images, texts [][]float32) ([][]float32, error) {
	dim := 0
	if len(images) > 0 {
		dim = len(images[0])
	} else if len(texts) > 0 {
		dim = len(texts[0])
	}
	a, err := flatten(images, dim, "image")
	if err != nil {
		return nil, err
	}
	b, err := flatten(texts, dim, "text")
	if err != nil {
		return nil, err
	}
	per, _ := ContrastiveLogits(a, b, len(images), len(texts), dim, 0)
	return splitRows(per, len(images), len(texts)), nil
}

// ContrastiveLogits returns what FlavaForPreTraining's global contrastive
// head returns for these vectors: perImage (N×M) = similarity·exp(logit_scale)
// and perText (M×N), its transpose.
func (s *Scorer) ContrastiveLogits(images, texts [][]float32) (perImage, perText [][]float32, err error) {
	dim := s.ProjectionDim()
	a, err := flatten(images, dim, "image")
	if err != nil {
		return nil, nil, err
	}
	b, err := flatten(texts, dim, "text")
	if err != nil {
		return nil, nil, err
	}
	pi, pt := ContrastiveLogits(a, b, len(images), len(texts), dim, s.Model.LogitScale.Data[0])
	return splitRows(pi, len(images), len(texts)), splitRows(pt, len(texts), len(images)), nil
}

// MatchLogits runs image–text matching on B pairs (row i of the pixels with
// row i of the text): FlavaModel with the multimodal encoder, then itm_head,
// giving B×2 logits (column 1 = matched). in.SkipMultimodalEncoder is
// ignored. Pass BoolMaskedPos and masked ids to reproduce what
// FlavaForPreTraining computes during pretraining.
func (s *Scorer) MatchLogits(in ModelInput) (*tensor.Tensor, error) {
	if s.ITMHead == nil {
		return nil, inputErr("this scorer has no itm_head: build it with NewPretrainingScorer")
	}
	if in.PixelValues == nil || in.InputIDs == nil {
		return nil, inputErr("image-text matching needs both pixel_values and input_ids")
	}
	in.SkipMultimodalEncoder = false
	in.OutputHiddenStates = false
	o, err := s.Model.Forward(in)
	if err != nil {
		return nil, err
	}
	mm := o.MultimodalEmbeddings
	b, seq := mm.Shape[0], mm.Shape[1]
	return tensor.FromData(s.ITMHead.Forward(mm.Data, b, seq), b, 2), nil
}

// MatchProbabilities returns, per pair, the probability that image and text
// match: softmax(itm_logits)[:, 1].
func (s *Scorer) MatchProbabilities(in ModelInput) ([]float32, error) {
	logits, err := s.MatchLogits(in)
	if err != nil {
		return nil, err
	}
	b := logits.Shape[0]
	p := softmaxRows(logits.Data, b, 2)
	out := make([]float32, b)
	for i := range out {
		out[i] = p[i*2+1]
	}
	return out, nil
}

// DefaultZeroShotTemplate is the prompt template of FLAVA's and CLIP's
// zero-shot evaluations.
const DefaultZeroShotTemplate = "a photo of a {}"

// ZeroShotConfig configures a ZeroShotClassifier. The zero value works.
type ZeroShotConfig struct {
	// Template turns a label into a prompt; "{}" is replaced by the label.
	// Default DefaultZeroShotTemplate.
	Template string
	// BatchSize is how many prompts are encoded per call of the text
	// function. Default 64.
	BatchSize int
}

// Validate names the first bad field.
func (c ZeroShotConfig) Validate() error {
	if c.Template != "" && strings.Count(c.Template, "{}") != 1 {
		return fmt.Errorf("%w: ZeroShotConfig.Template %q must contain \"{}\" exactly once", ErrConfig, c.Template)
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("%w: ZeroShotConfig.BatchSize = %d, must not be negative", ErrConfig, c.BatchSize)
	}
	return nil
}

func (c ZeroShotConfig) withDefaults() ZeroShotConfig {
	if c.Template == "" {
		c.Template = DefaultZeroShotTemplate
	}
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	return c
}

// TextVectorFunc turns prompts into retrieval vectors, one per prompt.
type TextVectorFunc func(prompts []string) ([][]float32, error)

// TextVectorFunc composes a tokenizer (any function from texts to a
// TextInput, e.g. a closure over package tokenizer) with TextVectors, so this
// package does not depend on a tokenizer.
func (s *Scorer) TextVectorFunc(tokenize func(texts []string) (TextInput, error)) TextVectorFunc {
	return func(prompts []string) ([][]float32, error) {
		in, err := tokenize(prompts)
		if err != nil {
			return nil, err
		}
		return s.TextVectors(in)
	}
}

// ZeroShotClassifier classifies images among fixed labels by comparing image
// retrieval vectors with the vectors of the label prompts, which are computed
// once, when it is built. It is read-only and safe for concurrent use.
type ZeroShotClassifier struct {
	labels  []string
	vectors []float32 // labels × dim, unit rows
	dim     int
	scale   float32 // exp(logit_scale)
}

// Prediction is one label of a zero-shot result.
type Prediction struct {
	Index       int // into Labels()
	Label       string
	Probability float32
}

// NewZeroShotClassifier encodes the label prompts with encode (in batches of
// cfg.BatchSize) and keeps their vectors. logitScale is exp(logit_scale), the
// temperature of the softmax over labels (Scorer.LogitScale()).
func NewZeroShotClassifier(labels []string, encode TextVectorFunc, logitScale float32, cfg ZeroShotConfig) (*ZeroShotClassifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if len(labels) == 0 {
		return nil, inputErr("zero-shot classification needs at least one label")
	}
	var vecs [][]float32
	for lo := 0; lo < len(labels); lo += cfg.BatchSize {
		hi := min(lo+cfg.BatchSize, len(labels))
		prompts := make([]string, 0, hi-lo)
		for _, l := range labels[lo:hi] {
			prompts = append(prompts, strings.Replace(cfg.Template, "{}", l, 1))
		}
		v, err := encode(prompts)
		if err != nil {
			return nil, err
		}
		if len(v) != len(prompts) {
			return nil, inputErr("the text function returned %d vectors for %d prompts", len(v), len(prompts))
		}
		vecs = append(vecs, v...)
	}
	return NewZeroShotClassifierFromVectors(labels, vecs, logitScale)
}

// NewZeroShotClassifierFromVectors builds a classifier from label vectors
// computed elsewhere (e.g. stored with the labels). Vectors are normalised
// again, so any non-zero vectors work.
func NewZeroShotClassifierFromVectors(labels []string, vectors [][]float32, logitScale float32) (*ZeroShotClassifier, error) {
	if len(labels) == 0 || len(labels) != len(vectors) {
		return nil, inputErr("%d labels with %d vectors", len(labels), len(vectors))
	}
	if !(logitScale > 0) || math.IsInf(float64(logitScale), 0) {
		return nil, inputErr("logit scale %g must be positive and finite", logitScale)
	}
	dim := len(vectors[0])
	flat, err := flatten(vectors, dim, "label")
	if err != nil {
		return nil, err
	}
	if dim == 0 {
		return nil, inputErr("label vectors are empty")
	}
	l2Normalize(flat, len(labels), dim)
	return &ZeroShotClassifier{labels: append([]string(nil), labels...), vectors: flat, dim: dim, scale: logitScale}, nil
}

// Labels returns the labels, in the order of the probabilities.
func (z *ZeroShotClassifier) Labels() []string { return append([]string(nil), z.labels...) }

// Probabilities returns, per image vector, the softmax over labels of
// exp(logit_scale)·cosine(image, label) — CLIP-style zero-shot; each row sums
// to 1.
func (z *ZeroShotClassifier) Probabilities(images [][]float32) ([][]float32, error) {
	flat, err := flatten(images, z.dim, "image")
	if err != nil {
		return nil, err
	}
	n := len(images)
	l2Normalize(flat, n, z.dim)
	per, _ := ContrastiveLogits(flat, z.vectors, n, len(z.labels), z.dim, float32(math.Log(float64(z.scale))))
	out := make([][]float32, n)
	for i := range out {
		row := per[i*len(z.labels) : (i+1)*len(z.labels)]
		out[i] = softmaxRows(row, 1, len(row))
	}
	return out, nil
}

// Classify encodes the images and returns the k most probable labels of each,
// most probable first (k <= 0 or beyond the label count: all labels).
func (z *ZeroShotClassifier) Classify(s *Scorer, in ImageInput, k int) ([][]Prediction, error) {
	vecs, err := s.ImageVectors(in)
	if err != nil {
		return nil, err
	}
	probs, err := z.Probabilities(vecs)
	if err != nil {
		return nil, err
	}
	out := make([][]Prediction, len(probs))
	for i, p := range probs {
		out[i] = z.TopK(p, k)
	}
	return out, nil
}

// TopK returns the k largest probabilities of one row of Probabilities with
// their labels, most probable first; ties keep label order.
func (z *ZeroShotClassifier) TopK(probs []float32, k int) []Prediction {
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	if k <= 0 || k > len(idx) {
		k = len(idx)
	}
	out := make([]Prediction, k)
	for i := range out {
		j := idx[i]
		out[i] = Prediction{Index: j, Label: z.labels[j], Probability: probs[j]}
	}
	return out
}

// MIMLabel is the masked-image-modelling target of one image.
type MIMLabel struct {
	// TokenIDs are the codebook's visual tokens, h·w values row-major.
	TokenIDs []int64
	// Mask is the block mask given for the image (true = patch masked).
	Mask []bool
	// Labels is what FlavaForPreTraining trains on: TokenIDs where Mask is
	// true, DefaultCEIgnoreIndex (-100) elsewhere.
	Labels []int64
}

// MIMLabels computes the codebook tokens of a batch of codebook images
// (B×3×S×S, from the image processor's codebook path) and pairs them with one
// mask per image — e.g. from model/imageproc's BEiT block masking generator —
// of (S/8)² patches each.
func (cb *ImageCodebook) MIMLabels(codebookPixels *tensor.Tensor, masks [][]bool) ([]MIMLabel, error) {
	idx, err := cb.CodebookIndices(codebookPixels)
	if err != nil {
		return nil, err
	}
	b := idx.Shape[0]
	hw := idx.Shape[1] * idx.Shape[2]
	if len(masks) != b {
		return nil, inputErr("%d masks for %d images", len(masks), b)
	}
	out := make([]MIMLabel, b)
	for i := range out {
		if len(masks[i]) != hw {
			return nil, inputErr("mask %d has %d values, the codebook grid %d", i, len(masks[i]), hw)
		}
		ids := idx.Data[i*hw : (i+1)*hw : (i+1)*hw]
		labels := make([]int64, hw)
		for j, on := range masks[i] {
			labels[j] = DefaultCEIgnoreIndex
			if on {
				labels[j] = ids[j]
			}
		}
		out[i] = MIMLabel{TokenIDs: ids, Mask: append([]bool(nil), masks[i]...), Labels: labels}
	}
	return out, nil
}
