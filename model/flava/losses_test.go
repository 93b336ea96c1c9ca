package flava

import (
	"errors"
	"math"
	"testing"
)

func TestCrossEntropy(t *testing.T) {
	logits := []float32{1, 2, 3, 0, 0, 0, 1000, 0, -1000}
	// Row 0: lse(1,2,3) - 3; row 1 ignored; row 2: stable at large values.
	got, err := CrossEntropy(logits, 3, 3, []int64{2, -100, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := (math.Log(math.Exp(1)+math.Exp(2)+math.Exp(3)) - 3 + 0) / 2
	if math.Abs(float64(got)-want) > 1e-6 {
		t.Errorf("got %v want %v", got, want)
	}
	if got, err := CrossEntropy(logits, 3, 3, []int64{-100, -100, -100}); err != nil || !math.IsNaN(float64(got)) {
		t.Errorf("all ignored: %v, %v; want NaN as torch", got, err)
	}
	for _, labels := range [][]int64{{3, 0, 0}, {-1, 0, 0}, {0, 0}} {
		if _, err := CrossEntropy(logits, 3, 3, labels); !errors.Is(err, ErrInput) {
			t.Errorf("labels %v: err = %v, want ErrInput", labels, err)
		}
	}
}

func TestContrastiveLogitsAndNormalize(t *testing.T) {
	img := []float32{3, 4, 0, 0}
	l2Normalize(img, 2, 2) // the zero row stays zero (eps 1e-12), no NaN
	if img[0] != 0.6 || img[1] != 0.8 || img[2] != 0 || img[3] != 0 {
		t.Fatalf("normalised %v", img)
	}
	txt := []float32{1, 0, 0, 1, 0.6, 0.8}
	pi, pt := ContrastiveLogits(img, txt, 2, 3, 2, float32(math.Log(2)))
	want := []float32{1.2, 1.6, 2, 0, 0, 0}
	for i := range want {
		if math.Abs(float64(pi[i]-want[i])) > 1e-6 {
			t.Fatalf("per image %v, want %v", pi, want)
		}
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			if pi[i*3+j] != pt[j*2+i] {
				t.Fatalf("per text is not the transpose: %v vs %v", pi, pt)
			}
		}
	}
}
