package imageproc

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestValidateNamesTheField(t *testing.T) {
	neg := -1
	bad := Filter(9)
	for _, tc := range []struct {
		json, field string
	}{
		{`{"size": {"height": 0, "width": 5}}`, "size"},
		{`{"crop_size": {"shortest_edge": 5}}`, "crop_size"},
		{`{"resample": 9}`, "resample"},
		{`{"image_mean": [0.5, 0.5]}`, "image_mean"},
		{`{"image_std": [1, 0, 1]}`, "image_std"},
		{`{"codebook_rescale_factor": -1}`, "codebook_rescale_factor"},
		{`{"total_mask_patches": 500}`, "total_mask_patches"},
		{`{"mask_group_max_patches": 0}`, "mask_group_max_patches"},
		{`{"mask_group_min_aspect_ratio": -0.3}`, "mask_group_min_aspect_ratio"},
		{`{"input_size_patches": -2}`, "input_size_patches"},
		{`{"size": "big"}`, ""},
	} {
		_, err := ParseConfig([]byte(tc.json))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %v, want ErrConfig naming %q", tc.json, err, tc.field)
		}
	}
	if err := (Config{MaskGroupMaxPatches: &neg}).Validate(); err == nil {
		t.Error("negative mask_group_max_patches accepted")
	}
	if err := (Config{CodebookResample: &bad}).Validate(); err == nil || !strings.Contains(err.Error(), "codebook_resample") {
		t.Errorf("bad codebook_resample: %v", err)
	}
}

func TestConfigOverridesAndShapes(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"size": 100, "do_center_crop": false, "codebook_size": {"shortest_edge": 50},
		"codebook_do_center_crop": false, "return_codebook_pixels": true, "return_image_mask": true, "input_size_patches": 10, "total_mask_patches": 30}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProcessor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	img := NewRGB(200, 80)
	if c, h, w := p.PixelShape(img.W, img.H); c != 3 || h != 100 || w != 100 {
		t.Errorf("pixel shape %d×%d×%d", c, h, w)
	}
	// shortest_edge 50 on 200×80: short side 80 → 50, long 200 → int(50*200/80) = 125.
	if _, h, w := p.CodebookPixelShape(img.W, img.H); h != 50 || w != 125 {
		t.Errorf("codebook shape %d×%d, want 50×125", h, w)
	}
	b, err := p.Process([]*RGB{img, img}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.PixelValues.Shape, []int{2, 3, 100, 100}) || !slices.Equal(b.CodebookPixelValues.Shape, []int{2, 3, 50, 125}) || !slices.Equal(b.BoolMaskedPos.Shape, []int{2, 10, 10}) {
		t.Errorf("batch shapes %v %v %v", b.PixelValues.Shape, b.CodebookPixelValues.Shape, b.BoolMaskedPos.Shape)
	}
	// Masks of a batch are the generator's first and second draws.
	g := p.MaskGenerator(7)
	if !slices.Equal(b.BoolMaskedPos.Data[:100], g.Next()) || !slices.Equal(b.BoolMaskedPos.Data[100:], g.Next()) {
		t.Error("batch masks are not the seeded generator's sequence")
	}
	// Different sizes without a crop cannot be stacked.
	if _, err := p.Process([]*RGB{img, NewRGB(80, 200)}, 0); !errors.Is(err, ErrBatchShape) {
		t.Errorf("mixed sizes: %v, want ErrBatchShape", err)
	}
}

func TestCenterCropPadsLikeTransformers(t *testing.T) {
	// 3×1 image cropped to 4×2: transformers pads to 4×2 with the image at
	// top ceil(1/2)=1, left ceil(1/2)=1, then crops top=(1-2)//2+1=0,
	// left=(3-4)//2+1=0.
	img := &RGB{W: 3, H: 1, Pix: []uint8{1, 1, 1, 2, 2, 2, 3, 3, 3}}
	var dst RGB
	centerCrop(&dst, img, 4, 2)
	want := []uint8{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}
	if !slices.Equal(dst.Pix, want) {
		t.Errorf("got %v\nwant %v", dst.Pix, want)
	}
	// 5×5 cropped to 3×3 takes rows and columns 1..3.
	img = NewRGB(5, 5)
	for i := range img.Pix {
		img.Pix[i] = uint8(i / 3)
	}
	centerCrop(&dst, img, 3, 3)
	if dst.Pix[0] != 6 || dst.Pix[len(dst.Pix)-1] != 18 {
		t.Errorf("5×5 → 3×3: first %d last %d, want 6 and 18", dst.Pix[0], dst.Pix[len(dst.Pix)-1])
	}
}
