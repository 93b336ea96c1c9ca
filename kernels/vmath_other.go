//go:build !amd64 || purego

package kernels

func geluVec(x []float32) bool           { return false }
func biasGeluVec(x, bias []float32) bool { return false }

func expShiftSum(x []float32, shift float32) float32 { return expShiftSumGo(x, shift) }

func packBT16(dst, src []float32, ldb, kb8 int) bool { return false }

func packA6(dst, src []float32, lda, kb8 int) bool { return false }

func maxSkipNaN(x []float32) float32 { return maxSkipNaNGo(x) }
func scale(x []float32, s float32)   { scaleGo(x, s) }

func addVec(dst, a, b []float32) { addGo(dst, a[:len(dst)], b[:len(dst)]) }

func layerNormStats(in []float32, shift float64) (s, q float64) { return layerNormStatsGo(in, shift) }

func layerNormApply(out, in, gamma, beta []float32, mean, inv float32) {
	layerNormApplyGo(out, in, gamma, beta, mean, inv)
}

func reluVec(x []float32) { reluGo(x) }
