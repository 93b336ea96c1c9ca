package flava

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flavabeam/flavabeam/kernels"
	"github.com/flavabeam/flavabeam/model/checkpoint"
	"github.com/flavabeam/flavabeam/model/tensor"
)

// PretrainingAliases declares the tied biases of FlavaForPreTraining: each
// masked-prediction head's bias parameter is the same tensor as its decoder's
// bias. save_pretrained keeps only "<head>.decoder.bias"; torch.save keeps
// both.
var PretrainingAliases = checkpoint.Aliases{
	"mim_head.bias":       "mim_head.decoder.bias",
	"mlm_head.bias":       "mlm_head.decoder.bias",
	"mmm_image_head.bias": "mmm_image_head.decoder.bias",
	"mmm_text_head.bias":  "mmm_text_head.decoder.bias",
}

// PredictionHeadTransform is FlavaPredictionHeadTransform: dense → activation
// → LayerNorm.
type PredictionHeadTransform struct {
	Dense     Linear    `st:"dense"`
	LayerNorm LayerNorm `st:"LayerNorm"`
	Act       kernels.Activation
}

// Forward transforms rows×hidden values into a new rows×hidden slice.
func (t *PredictionHeadTransform) Forward(x []float32, rows int) []float32 {
	h := t.Dense.Forward(x, rows)
	t.Act.Apply(h)
	return t.LayerNorm.Forward(h, rows)
}

// MaskedPredictionHead is FlavaMaskedPredictionHead: the transform, then the
// decoder to vocabulary logits. Its bias parameter is tied to decoder.bias
// (see PretrainingAliases), so the decoder's bias is the only one applied.
type MaskedPredictionHead struct {
	Transform PredictionHeadTransform `st:"transform"`
	Decoder   Linear                  `st:"decoder"`
}

func newMaskedPredictionHead(hidden, vocab int, act string, eps float64) (*MaskedPredictionHead, error) {
	a, err := kernels.ParseActivation(act)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return &MaskedPredictionHead{
		Transform: PredictionHeadTransform{Dense: newLinear(hidden, hidden, true), LayerNorm: newLayerNorm(hidden, eps), Act: a},
		Decoder:   newLinear(hidden, vocab, true),
	}, nil
}

// Forward maps rows×hidden values to a new rows×vocab slice of logits.
func (h *MaskedPredictionHead) Forward(x []float32, rows int) []float32 {
	return h.Decoder.Forward(h.Transform.Forward(x, rows), rows)
}

// VocabSize is the number of logits per row.
func (h *MaskedPredictionHead) VocabSize() int { return h.Decoder.out() }

// ITMHead is FlavaITMHead: the pooler (tanh(dense(token 0))) and a linear
// layer to two logits (0 = not matched, 1 = matched).
type ITMHead struct {
	Pooler          Pooler `st:"pooler"`
	SeqRelationship Linear `st:"seq_relationship"`
}

// Forward maps batch×seq×hidden multimodal states to batch×2 logits.
func (h *ITMHead) Forward(x []float32, batch, seq int) []float32 {
	return h.SeqRelationship.Forward(h.Pooler.Forward(x, batch, seq), batch)
}

// ForPreTraining is FlavaForPreTraining: FlavaModel, the image codebook that
// labels masked patches, and the pretraining heads (MIM, MLM, ITM, MMM image,
// MMM text, global contrastive). It is read-only after loading and safe for
// concurrent use.
type ForPreTraining struct {
	Flava *Model `st:"flava"`
	// ImageCodebook labels patches for MIM/MMM when no MIMLabels are given;
	// nil when init_codebook is false. Bound by BindImageCodebook (its block
	// names are 1-based), hence no st tag.
	ImageCodebook *ImageCodebook
	MIMHead       *MaskedPredictionHead `st:"mim_head"`
	MLMHead       *MaskedPredictionHead `st:"mlm_head"`
	ITMHead       *ITMHead              `st:"itm_head"`
	MMMImageHead  *MaskedPredictionHead `st:"mmm_image_head"`
	MMMTextHead   *MaskedPredictionHead `st:"mmm_text_head"`

	Config Config
	// Source says where the weights came from (zero for NewForPreTraining).
	Source LoadInfo
	closer *checkpoint.StateDict
}

// NewForPreTraining builds a FlavaForPreTraining with zero weights shaped by
// cfg (defaults filled in).
func NewForPreTraining(cfg Config) (*ForPreTraining, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fl, err := NewModel(cfg)
	if err != nil {
		return nil, err
	}
	ic, tc := cfg.ImageConfig, cfg.TextConfig
	// The ITM head pools the multimodal states with a hidden_size square
	// layer and the MMM heads read them with the image and text heads'
	// sizes (as in transformers, which fails at run time otherwise).
	mh := cfg.MultimodalConfig.HiddenSize
	for _, f := range []struct {
		name string
		v    int
	}{{"hidden_size", cfg.HiddenSize}, {"image_config.hidden_size", ic.HiddenSize}, {"text_config.hidden_size", tc.HiddenSize}} {
		if f.v != mh {
			return nil, fieldErr("", f.name, "= %d, FlavaForPreTraining needs it equal to multimodal_config.hidden_size (%d): its ITM and MMM heads read the multimodal states", f.v, mh)
		}
	}
	m := &ForPreTraining{Flava: fl, Config: cfg}
	for _, h := range []struct {
		dst           **MaskedPredictionHead
		hidden, vocab int
		act           string
		eps           float64
	}{
		{&m.MIMHead, ic.HiddenSize, ic.VocabSize, ic.HiddenAct, ic.LayerNormEps},
		{&m.MLMHead, tc.HiddenSize, tc.VocabSize, tc.HiddenAct, tc.LayerNormEps},
		{&m.MMMImageHead, ic.HiddenSize, ic.VocabSize, ic.HiddenAct, ic.LayerNormEps},
		{&m.MMMTextHead, tc.HiddenSize, tc.VocabSize, tc.HiddenAct, tc.LayerNormEps},
	} {
		if *h.dst, err = newMaskedPredictionHead(h.hidden, h.vocab, h.act, h.eps); err != nil {
			return nil, err
		}
	}
	m.ITMHead = &ITMHead{
		Pooler:          Pooler{Dense: newLinear(cfg.HiddenSize, cfg.HiddenSize, true)},
		SeqRelationship: newLinear(cfg.HiddenSize, 2, true),
	}
	if *cfg.InitCodebook {
		if m.ImageCodebook, err = NewImageCodebook(cfg.ImageCodebookConfig); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// BindForPreTraining fills m's weights from a FlavaForPreTraining state
// dict (names "flava.*", "image_codebook.*", "<head>.*"), tied biases
// resolved through PretrainingAliases. Every missing or mis-shaped tensor is
// reported in one error wrapping checkpoint.ErrBind. It returns the names no
// field took (besides the non-persistent buffers older checkpoints hold).
func BindForPreTraining(sd *checkpoint.StateDict, m *ForPreTraining) (unused []string, err error) {
	res, err := checkpoint.Bind(sd, "", m, PretrainingAliases)
	if err != nil {
		return nil, err
	}
	if m.ImageCodebook != nil {
		if err := BindImageCodebook(sd, CodebookPrefixPretraining, m.ImageCodebook); err != nil {
			return nil, err
		}
	}
	for _, n := range res.Unused {
		if isBuffer(n) || (m.ImageCodebook != nil && strings.HasPrefix(n, CodebookPrefixPretraining)) {
			continue
		}
		unused = append(unused, n)
	}
	return unused, nil
}

// LoadForPreTraining loads FlavaForPreTraining from a directory holding
// config.json and a checkpoint (model.safetensors, pytorch_model.bin or a
// sharded index), as facebook/flava-full ships, or from a weights file with
// config.json beside it. Close the model to release the checkpoint.
func LoadForPreTraining(path string) (*ForPreTraining, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	sd, err := checkpoint.Open(weightsPath(path))
	if err != nil {
		return nil, err
	}
	m, err := NewForPreTraining(cfg)
	if err == nil {
		var unused []string
		unused, err = BindForPreTraining(sd, m)
		m.Source = LoadInfo{Path: path, Unused: unused}
	}
	if err != nil {
		sd.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.closer = sd
	return m, nil
}

// Close releases the checkpoint LoadForPreTraining opened; the model must not
// be used afterwards.
func (m *ForPreTraining) Close() error {
	if m.closer == nil {
		return nil
	}
	err := m.closer.Close()
	m.closer = nil
	return err
}

// PretrainingInput is the input of ForPreTraining.Forward
// (FlavaForPreTraining.forward). Any of the tensors may be nil; what is
// present decides which heads and losses run, exactly as in transformers:
//
//   - image only: unimodal MIM (mim_logits, loss_info.mim);
//   - text only: unimodal MLM (mlm_logits, loss_info.mlm);
//   - both: ITM, MMM image, MMM text and the global contrastive loss; the
//     unimodal MIM/MLM heads do not run.
//
// Forward never modifies these tensors (transformers writes the ignore index
// into mim_labels in place; this port works on copies).
type PretrainingInput struct {
	InputIDs *tensor.Int64 // B×L text ids, or nil
	// InputIDsMasked is the text with [MASK] tokens for MLM/MMM; nil means
	// InputIDs (transformers does the same, with a warning).
	InputIDsMasked *tensor.Int64
	PixelValues    *tensor.Tensor // B×C×H×W, or nil
	// CodebookPixelValues is the codebook's input (B×3×S×S), needed when the
	// loss is wanted and MIMLabels is nil.
	CodebookPixelValues *tensor.Tensor
	AttentionMask       *tensor.Int64 // B×L, nil = all ones
	TokenTypeIDs        *tensor.Int64 // B×L, nil = zeros
	BoolMaskedPos       *tensor.Bool  // B×N (or B×gh×gw) patches replaced by the mask token
	MLMLabels           *tensor.Int64 // B×L, ce_ignore_index (-100) where not predicted
	MIMLabels           *tensor.Int64 // B×N (or B×h×w); nil = from the codebook
	ITMLabels           *tensor.Int64 // B values: 1 matched, 0 not
	// SkipUnmaskedMultimodalEncoder: nil means the config's
	// skip_unmasked_multimodal_encoder (default true).
	SkipUnmaskedMultimodalEncoder *bool
	// ReturnLoss: nil means the config's return_loss (default true).
	ReturnLoss *bool
	// OutputHiddenStates keeps the encoders' hidden states in the outputs.
	OutputHiddenStates bool
}

// Losses is FlavaLosses: each loss is already multiplied by its config
// weight; nil when it was not computed.
type Losses struct {
	MIM               *float32
	MLM               *float32
	ITM               *float32
	GlobalContrastive *float32
	MMMImage          *float32
	MMMText           *float32
}

// all returns the losses in transformers' field order.
func (l *Losses) all() []*float32 {
	return []*float32{l.MIM, l.MLM, l.ITM, l.GlobalContrastive, l.MMMImage, l.MMMText}
}

// PretrainingOutput is FlavaForPreTrainingOutput. The *Embeddings fields are
// full sequences (B×S×hidden), as in transformers. Logits of the masked
// heads are flattened to (masked positions)×vocab when labels select
// positions, else full sequences B×S×vocab. Fields may share memory with
// each other (e.g. ImageEmbeddings and ImageMaskedEmbeddings when nothing is
// masked); treat them as read-only.
type PretrainingOutput struct {
	Loss     *float32 // total: the sum of the losses present; nil without loss
	LossInfo Losses

	ImageEmbeddings      *tensor.Tensor
	ImageOutput          *ImageOutput
	TextEmbeddings       *tensor.Tensor
	TextOutput           *TextOutput
	MultimodalEmbeddings *tensor.Tensor
	MultimodalOutput     *MultimodalOutput

	ImageMaskedEmbeddings *tensor.Tensor
	ImageMaskedOutput     *ImageOutput
	TextMaskedEmbeddings  *tensor.Tensor
	TextMaskedOutput      *TextOutput
	// MultimodalMaskedEmbeddings keeps only the ITM-positive rows when
	// ITMLabels were given (transformers returns the filtered tensor).
	MultimodalMaskedEmbeddings *tensor.Tensor
	MultimodalMaskedOutput     *MultimodalOutput

	MIMLogits *tensor.Tensor
	MLMLogits *tensor.Tensor
	ITMLogits *tensor.Tensor // B×2
	// ContrastiveLogitsPerImage (image rows × texts) and
	// ContrastiveLogitsPerText (text rows × images) keep only the
	// ITM-positive rows when ITMLabels were given.
	ContrastiveLogitsPerImage *tensor.Tensor
	ContrastiveLogitsPerText  *tensor.Tensor
	MMMImageLogits            *tensor.Tensor
	MMMTextLogits             *tensor.Tensor
}

func boolArg(p *bool, def *bool, fallback bool) bool {
	if p != nil {
		return *p
	}
	if def != nil {
		return *def
	}
	return fallback
}

// Forward runs FlavaForPreTraining.forward in eval mode.
func (m *ForPreTraining) Forward(in PretrainingInput) (*PretrainingOutput, error) {
	cfg := m.Config
	returnLoss := boolArg(in.ReturnLoss, cfg.ReturnLoss, true)
	skip := boolArg(in.SkipUnmaskedMultimodalEncoder, cfg.SkipUnmaskedMultimodalEncoder, true)
	ignore := int64(DefaultCEIgnoreIndex)
	if cfg.CEIgnoreIndex != nil {
		ignore = int64(*cfg.CEIgnoreIndex)
	}
	weight := func(p *float64) float32 { return float32(Float(p, 1)) }

	idsMasked := in.InputIDsMasked
	if idsMasked == nil && in.InputIDs != nil {
		idsMasked = in.InputIDs
	}
	maskedOut, err := m.Flava.Forward(ModelInput{
		InputIDs: idsMasked, PixelValues: in.PixelValues, AttentionMask: in.AttentionMask,
		TokenTypeIDs: in.TokenTypeIDs, BoolMaskedPos: in.BoolMaskedPos, OutputHiddenStates: in.OutputHiddenStates,
	})
	if err != nil {
		return nil, err
	}
	var flavaOut *ModelOutput
	if in.BoolMaskedPos == nil && sameIDs(idsMasked, in.InputIDs) {
		// transformers runs FlavaModel twice on identical inputs here; the
		// unimodal outputs are the same, so the masked run is reused (its
		// tensors are shared between the two sets of output fields).
		reuse := *maskedOut
		if skip {
			reuse.MultimodalEmbeddings, reuse.MultimodalOutput, reuse.MultimodalInput = nil, nil, nil
		}
		flavaOut = &reuse
	} else {
		flavaOut, err = m.Flava.Forward(ModelInput{
			InputIDs: in.InputIDs, PixelValues: in.PixelValues, AttentionMask: in.AttentionMask,
			TokenTypeIDs: in.TokenTypeIDs, SkipMultimodalEncoder: skip, OutputHiddenStates: in.OutputHiddenStates,
		})
		if err != nil {
			return nil, err
		}
	}
	out := &PretrainingOutput{
		ImageEmbeddings: flavaOut.ImageEmbeddings, ImageOutput: flavaOut.ImageOutput,
		TextEmbeddings: flavaOut.TextEmbeddings, TextOutput: flavaOut.TextOutput,
		MultimodalEmbeddings: flavaOut.MultimodalEmbeddings, MultimodalOutput: flavaOut.MultimodalOutput,
		ImageMaskedEmbeddings: maskedOut.ImageEmbeddings, ImageMaskedOutput: maskedOut.ImageOutput,
		TextMaskedEmbeddings: maskedOut.TextEmbeddings, TextMaskedOutput: maskedOut.TextOutput,
		MultimodalMaskedOutput: maskedOut.MultimodalOutput,
	}
	imageMasked, textMasked := maskedOut.ImageEmbeddings, maskedOut.TextEmbeddings
	mm := maskedOut.MultimodalEmbeddings

	// Labels are copied: the ignore index is written into them below.
	mimLabels, err := labels2D(in.MIMLabels, "mim_labels")
	if err != nil {
		return nil, err
	}
	mlmLabels, err := labels2D(in.MLMLabels, "mlm_labels")
	if err != nil {
		return nil, err
	}
	bmp, err := mask2D(in.BoolMaskedPos)
	if err != nil {
		return nil, err
	}

	// mim_labels from the image codebook when needed.
	if (imageMasked != nil || mm != nil) && mimLabels == nil && returnLoss {
		if m.ImageCodebook == nil {
			return nil, inputErr("the loss needs mim_labels, and the model has no image codebook (init_codebook=false) and none were given")
		}
		if in.CodebookPixelValues == nil {
			return nil, inputErr("codebook_pixel_values are required to generate mim_labels when the loss is wanted")
		}
		idx, err := m.ImageCodebook.CodebookIndices(in.CodebookPixelValues)
		if err != nil {
			return nil, err
		}
		mimLabels, _ = labels2D(idx, "mim_labels")
	}
	var losses Losses
	// Unimodal MIM.
	if w := weight(cfg.MIMWeight); w > 0 && imageMasked != nil && mm == nil {
		if mimLabels != nil {
			if mimLabels, err = maskLabels(mimLabels, bmp, ignore); err != nil {
				return nil, fmt.Errorf("mim: %w", err)
			}
			logits, loss, err := maskedHead(m.MIMHead, imageMasked, -1, mimLabels, ignore, returnLoss, w)
			if err != nil {
				return nil, fmt.Errorf("mim: %w", err)
			}
			out.MIMLogits, losses.MIM = logits, loss
		} else {
			out.MIMLogits = fullHead(m.MIMHead, imageMasked)
		}
	}
	// Unimodal MLM.
	if w := weight(cfg.MLMWeight); w > 0 && textMasked != nil && mm == nil {
		if mlmLabels != nil {
			logits, loss, err := maskedHead(m.MLMHead, textMasked, -1, mlmLabels, ignore, returnLoss, w)
			if err != nil {
				return nil, fmt.Errorf("mlm: %w", err)
			}
			out.MLMLogits, losses.MLM = logits, loss
		} else {
			out.MLMLogits = fullHead(m.MLMHead, textMasked)
		}
	}

	// ITM, and the positive-pair mask it imposes on MMM and contrastive.
	var posMask []bool
	if w := weight(cfg.ITMWeight); w > 0 && mm != nil {
		b, s, h := mm.Shape[0], mm.Shape[1], mm.Shape[2]
		out.ITMLogits = tensor.FromData(m.ITMHead.Forward(mm.Data, b, s), b, 2)
		if in.ITMLabels != nil {
			if len(in.ITMLabels.Data) != b {
				return nil, inputErr("itm_labels has %d values for a batch of %d", len(in.ITMLabels.Data), b)
			}
			posMask = make([]bool, b)
			anyPos := false
			for i, l := range in.ITMLabels.Data {
				posMask[i] = l != 0
				anyPos = anyPos || posMask[i]
			}
			if !anyPos { // no positive pair: keep every row
				for i := range posMask {
					posMask[i] = true
				}
			}
			if returnLoss {
				l, err := CrossEntropy(out.ITMLogits.Data, b, 2, in.ITMLabels.Data)
				if err != nil {
					return nil, fmt.Errorf("itm: %w", err)
				}
				l *= w
				losses.ITM = &l
			}
			mm = selectRows(mm, posMask, s*h)
			if mlmLabels != nil {
				if mlmLabels.Shape[0] != b {
					return nil, inputErr("mlm_labels have batch %d, the model %d", mlmLabels.Shape[0], b)
				}
				mlmLabels = selectRowsInt(mlmLabels, posMask)
			}
			if mimLabels != nil {
				if bmp == nil {
					return nil, inputErr("mim_labels need bool_masked_pos")
				}
				if mimLabels.Shape[0] != b || bmp.Shape[0] != b {
					return nil, inputErr("mim_labels (batch %d) and bool_masked_pos (batch %d) do not match the model's batch %d", mimLabels.Shape[0], bmp.Shape[0], b)
				}
				mimLabels, bmp = selectRowsInt(mimLabels, posMask), selectRowsBool(bmp, posMask)
			}
		}
	}
	out.MultimodalMaskedEmbeddings = mm

	// MMM image: multimodal states [:, 2 : 2+N] — transformers assumes the
	// multimodal CLS token and the image CLS token come first, and slices so
	// even when use_cls_token=false.
	if w := weight(cfg.MMMImageWeight); mm != nil && w > 0 {
		n := imageMasked.Shape[1] - 1
		seq := sliceSeq(mm, 2, 2+n)
		if mimLabels != nil {
			if mimLabels, err = maskLabels(mimLabels, bmp, ignore); err != nil {
				return nil, fmt.Errorf("mmm_image: %w", err)
			}
			logits, loss, err := maskedHead(m.MMMImageHead, seq, 0, mimLabels, ignore, returnLoss, w)
			if err != nil {
				return nil, fmt.Errorf("mmm_image: %w", err)
			}
			out.MMMImageLogits, losses.MMMImage = logits, loss
		} else {
			out.MMMImageLogits = fullHead(m.MMMImageHead, seq)
		}
	}
	// MMM text: the last L multimodal states.
	if w := weight(cfg.MMMTextWeight); mm != nil && w > 0 {
		l := textMasked.Shape[1]
		seq := sliceSeq(mm, mm.Shape[1]-l, mm.Shape[1])
		if mlmLabels != nil {
			logits, loss, err := maskedHead(m.MMMTextHead, seq, 0, mlmLabels, ignore, returnLoss, w)
			if err != nil {
				return nil, fmt.Errorf("mmm_text: %w", err)
			}
			out.MMMTextLogits, losses.MMMText = logits, loss
		} else {
			out.MMMTextLogits = fullHead(m.MMMTextHead, seq)
		}
	}

	// Global contrastive: normalised projections of the unmasked CLS tokens.
	if w := weight(cfg.GlobalContrastiveWeight); out.ImageEmbeddings != nil && out.TextEmbeddings != nil && w > 0 {
		img := m.Flava.projectCLS(&m.Flava.ImageProjection, out.ImageEmbeddings)
		txt := m.Flava.projectCLS(&m.Flava.TextProjection, out.TextEmbeddings)
		ni, nt, p := out.ImageEmbeddings.Shape[0], out.TextEmbeddings.Shape[0], m.Flava.ImageProjection.out()
		perImage, perText := ContrastiveLogits(img, txt, ni, nt, p, m.Flava.LogitScale.Data[0])
		lpi, lpt := tensor.FromData(perImage, ni, nt), tensor.FromData(perText, nt, ni)
		gcLabels := make([]int64, ni)
		for i := range gcLabels {
			gcLabels[i] = int64(i)
		}
		if posMask != nil {
			lpi, lpt = selectRows(lpi, posMask, nt), selectRows(lpt, posMask, ni)
			var kept []int64
			for i, on := range posMask {
				if on {
					kept = append(kept, gcLabels[i])
				}
			}
			gcLabels = kept
		}
		out.ContrastiveLogitsPerImage, out.ContrastiveLogitsPerText = lpi, lpt
		if returnLoss {
			li, err := CrossEntropy(lpi.Data, lpi.Shape[0], lpi.Shape[1], gcLabels)
			if err != nil {
				return nil, fmt.Errorf("global_contrastive: %w", err)
			}
			lt, err := CrossEntropy(lpt.Data, lpt.Shape[0], lpt.Shape[1], gcLabels)
			if err != nil {
				return nil, fmt.Errorf("global_contrastive: %w", err)
			}
			l := (li + lt) / 2
			l *= w
			losses.GlobalContrastive = &l
		}
	}

	out.LossInfo = losses
	if returnLoss {
		var total float32
		some := false
		for _, l := range losses.all() {
			if l != nil {
				total += *l
				some = true
			}
		}
		if some {
			out.Loss = &total
		}
	}
	return out, nil
}

// projectCLS is l.ProjectCLS(x).
func (m *Model) projectCLS(l *Linear, x *tensor.Tensor) []float32 { return l.ProjectCLS(x) }

// ProjectCLS returns the L2-normalised projection by l of token 0 of each
// row of a B×S×hidden tensor, B×projection_dim row-major: the vectors the
// global contrastive head compares, and Scorer's retrieval vectors.
func (l *Linear) ProjectCLS(x *tensor.Tensor) []float32 {
	b, s, h := x.Shape[0], x.Shape[1], x.Shape[2]
	cls := make([]float32, b*h)
	for i := 0; i < b; i++ {
		copy(cls[i*h:(i+1)*h], x.Data[i*s*h:])
	}
	p := l.Forward(cls, b)
	l2Normalize(p, b, l.out())
	return p
}

// labels2D copies labels as B×(rest), transformers' _resize_to_2d.
func labels2D(t *tensor.Int64, name string) (*tensor.Int64, error) {
	if t == nil {
		return nil, nil
	}
	if len(t.Shape) < 1 || len(t.Data) != tensor.NumElements(t.Shape) {
		return nil, inputErr("%s has shape %v and %d values", name, t.Shape, len(t.Data))
	}
	b := t.Shape[0]
	rest := 1
	if b > 0 {
		rest = len(t.Data) / b
	}
	return &tensor.Int64{Shape: []int{b, rest}, Data: append([]int64(nil), t.Data...)}, nil
}

// mask2D is labels2D for bool_masked_pos.
func mask2D(t *tensor.Bool) (*tensor.Bool, error) {
	if t == nil {
		return nil, nil
	}
	if len(t.Shape) < 1 || len(t.Data) != tensor.NumElements(t.Shape) {
		return nil, inputErr("bool_masked_pos has shape %v and %d values", t.Shape, len(t.Data))
	}
	b := t.Shape[0]
	rest := 1
	if b > 0 {
		rest = len(t.Data) / b
	}
	return &tensor.Bool{Shape: []int{b, rest}, Data: append([]bool(nil), t.Data...)}, nil
}

// maskedHead runs head on the positions of seq (B×S×H) whose label is not
// the ignore index and returns the flattened logits (positions×vocab) and,
// when returnLoss, the weighted cross entropy. With from < 0 the labels
// (B×K) align with the last K positions of seq (transformers'
// seq[:, -K:]); with from = 0 they must cover seq exactly.
func maskedHead(head *MaskedPredictionHead, seq *tensor.Tensor, from int, labels *tensor.Int64, ignore int64, returnLoss bool, w float32) (*tensor.Tensor, *float32, error) {
	b, s, h := seq.Shape[0], seq.Shape[1], seq.Shape[2]
	k := labels.Shape[1]
	if labels.Shape[0] != b {
		return nil, nil, inputErr("labels have batch %d, the sequence %d", labels.Shape[0], b)
	}
	off := 0
	if from < 0 {
		if k > s {
			return nil, nil, inputErr("%d labels per row for a sequence of %d", k, s)
		}
		off = s - k
	} else if k != s {
		return nil, nil, inputErr("%d labels per row for a sequence of %d", k, s)
	}
	var rows []float32
	var kept []int64
	for i := 0; i < b; i++ {
		for j := 0; j < k; j++ {
			if lab := labels.Data[i*k+j]; lab != ignore {
				base := (i*s + off + j) * h
				rows = append(rows, seq.Data[base:base+h]...)
				kept = append(kept, lab)
			}
		}
	}
	n, v := len(kept), head.VocabSize()
	var logits []float32
	if n > 0 {
		logits = head.Forward(rows, n)
	}
	out := tensor.FromData(logits, n, v)
	if out.Data == nil {
		out.Data = []float32{}
	}
	if !returnLoss {
		return out, nil, nil
	}
	l, err := CrossEntropy(out.Data, n, v, kept)
	if err != nil {
		return nil, nil, err
	}
	l *= w
	return out, &l, nil
}

// fullHead runs head on every position of seq (B×S×H): B×S×vocab logits.
func fullHead(head *MaskedPredictionHead, seq *tensor.Tensor) *tensor.Tensor {
	b, s := seq.Shape[0], seq.Shape[1]
	if b*s == 0 {
		return tensor.New(b, s, head.VocabSize())
	}
	return tensor.FromData(head.Forward(seq.Data, b*s), b, s, head.VocabSize())
}

// sliceSeq returns x[:, lo:hi, :] of a B×S×H tensor as a copy, with Python's
// clamping of the bounds.
func sliceSeq(x *tensor.Tensor, lo, hi int) *tensor.Tensor {
	b, s, h := x.Shape[0], x.Shape[1], x.Shape[2]
	lo, hi = min(max(lo, 0), s), min(max(hi, 0), s)
	hi = max(hi, lo)
	out := tensor.New(b, hi-lo, h)
	for i := 0; i < b; i++ {
		copy(out.Data[i*(hi-lo)*h:(i+1)*(hi-lo)*h], x.Data[(i*s+lo)*h:(i*s+hi)*h])
	}
	return out
}

// selectRows keeps the rows i of x (first dimension) where keep[i]; each row
// has stride values.
func selectRows(x *tensor.Tensor, keep []bool, stride int) *tensor.Tensor {
	var data []float32
	n := 0
	for i, on := range keep {
		if on {
			data = append(data, x.Data[i*stride:(i+1)*stride]...)
			n++
		}
	}
	shape := append([]int{n}, x.Shape[1:]...)
	if data == nil {
		data = []float32{}
	}
	return &tensor.Tensor{Shape: shape, Data: data}
}

// selectRowsInt is selectRows for a B×K int64 tensor.
func selectRowsInt(x *tensor.Int64, keep []bool) *tensor.Int64 {
	k := x.Shape[1]
	out := &tensor.Int64{Shape: []int{0, k}, Data: []int64{}}
	for i, on := range keep {
		if on {
			out.Data = append(out.Data, x.Data[i*k:(i+1)*k]...)
			out.Shape[0]++
		}
	}
	return out
}

// selectRowsBool is selectRows for a B×K bool tensor.
func selectRowsBool(x *tensor.Bool, keep []bool) *tensor.Bool {
	k := x.Shape[1]
	out := &tensor.Bool{Shape: []int{0, k}, Data: []bool{}}
	for i, on := range keep {
		if on {
			out.Data = append(out.Data, x.Data[i*k:(i+1)*k]...)
			out.Shape[0]++
		}
	}
	return out
}

// maskLabels returns a copy of labels (B×K) with the ignore index wherever
// bmp (B×K) is false: transformers' mim_labels[bool_masked_pos.ne(True)] =
// ce_ignore_index, without writing into the caller's tensor.
func maskLabels(labels *tensor.Int64, bmp *tensor.Bool, ignore int64) (*tensor.Int64, error) {
	if bmp == nil {
		return nil, inputErr("mim_labels need bool_masked_pos")
	}
	if !tensor.SameShape(bmp.Shape, labels.Shape) {
		return nil, inputErr("bool_masked_pos has shape %v but mim_labels %v", bmp.Shape, labels.Shape)
	}
	out := labels.Clone()
	for i, on := range bmp.Data {
		if !on {
			out.Data[i] = ignore
		}
	}
	return out, nil
}

// sameIDs reports whether a and b are both nil or hold the same ids.
func sameIDs(a, b *tensor.Int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a == b {
		return true
	}
	return tensor.SameShape(a.Shape, b.Shape) && slices.Equal(a.Data, b.Data)
}
