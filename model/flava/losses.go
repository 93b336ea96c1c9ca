package flava

import (
	"fmt"
	"math"

	"github.com/flavabeam/flavabeam/kernels"
)

// torchIgnoreIndex is nn.functional.cross_entropy's default ignore_index.
// transformers filters labels with config.ce_ignore_index before calling
// cross_entropy without passing it, so -100 is skipped there as well.
const torchIgnoreIndex = -100

// CrossEntropy is torch.nn.functional.cross_entropy with its defaults
// (reduction "mean", ignore_index -100): the mean over rows whose label is not
// -100 of logsumexp(logits[r]) - logits[r][label]. logits is rows×classes.
// With no counted row the result is NaN, as in PyTorch. A label outside
// [0, classes) other than -100 is an error (PyTorch raises). Arithmetic is
// in float64; the result is rounded to float32 like a float32 torch loss.
func CrossEntropy(logits []float32, rows, classes int, labels []int64) (float32, error) {
	if rows < 0 || classes <= 0 || len(logits) != rows*classes || len(labels) != rows {
		return 0, fmt.Errorf("%w: cross entropy of %d logits as %d×%d with %d labels", ErrInput, len(logits), rows, classes, len(labels))
	}
	var sum float64
	n := 0
	for r := 0; r < rows; r++ {
		lab := labels[r]
		if lab == torchIgnoreIndex {
			continue
		}
		if lab < 0 || lab >= int64(classes) {
			return 0, fmt.Errorf("%w: label %d of row %d is outside [0, %d)", ErrInput, lab, r, classes)
		}
		row := logits[r*classes : (r+1)*classes]
		sum += logSumExp(row) - float64(row[lab])
		n++
	}
	return float32(sum / float64(n)), nil // 0/0 = NaN when nothing counts
}

// logSumExp returns log(Σ exp(row)) in float64, stable for large values.
func logSumExp(row []float32) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	if math.IsInf(m, 0) {
		return m
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// l2Normalize divides each row of x (rows×dim) by max(‖row‖₂, 1e-12), in
// place — torch.nn.functional.normalize(x, dim=-1).
func l2Normalize(x []float32, rows, dim int) {
	for r := 0; r < rows; r++ {
		row := x[r*dim : (r+1)*dim]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		n := math.Max(math.Sqrt(ss), 1e-12)
		for j := range row {
			row[j] = float32(float64(row[j]) / n)
		}
	}
}

// ContrastiveLogits is transformers' FlavaGlobalContrastiveHead on one
// process (no torch.distributed): for L2-normalised image (n×dim) and text
// (m×dim) embeddings it returns logitsPerImage = image·textᵀ·exp(logitScale)
// (n×m) and logitsPerText = text·imageᵀ·exp(logitScale) (m×n).
func ContrastiveLogits(image, text []float32, n, m, dim int, logitScale float32) (perImage, perText []float32) {
	if len(image) != n*dim || len(text) != m*dim {
		panic(fmt.Sprintf("flava: ContrastiveLogits of %d and %d values as %d×%d and %d×%d", len(image), len(text), n, dim, m, dim))
	}
	temp := float32(math.Exp(float64(logitScale)))
	perImage = make([]float32, n*m)
	perText = make([]float32, m*n)
	if n == 0 || m == 0 {
		return perImage, perText
	}
	kernels.Sgemm(false, true, n, m, dim, 1, image, dim, text, dim, 0, perImage, m)
	kernels.Sgemm(false, true, m, n, dim, 1, text, dim, image, dim, 0, perText, n)
	kernels.Scale(perImage, temp)
	kernels.Scale(perText, temp)
	return perImage, perText
}

// softmaxRows returns a softmax copy of x (rows×cols).
func softmaxRows(x []float32, rows, cols int) []float32 {
	out := append([]float32(nil), x...)
	kernels.Softmax(out, rows, cols)
	return out
}
