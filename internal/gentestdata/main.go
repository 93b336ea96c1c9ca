package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/flavabeam/flavabeam/schemas"
)

// RowGroupRows is the row group size of the generated file: small, so that a
// Parquet read splits even this tiny file into several units of work.
const RowGroupRows = 8

// Good and Bad are the numbers of valid and deliberately invalid records.
const (
	Good = 22
	Bad  = 2
)

func main() {
	out := flag.String("out", "testdata/records.parquet", "output file")
	flag.Parse()
	var buf bytes.Buffer
	if err := Write(&buf); err != nil {
		fmt.Fprintln(os.Stderr, "gentestdata:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gentestdata:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gentestdata: wrote %s (%d records, %d bytes)\n", *out, Good+Bad, buf.Len())
}

// shape is one drawable figure and the words that describe it.
type shape struct {
	name string
	in   func(x, y float64) bool // x, y in [-1, 1]
}

var shapes = []shape{
	{"circle", func(x, y float64) bool { return x*x+y*y < 0.45 }},
	{"square", func(x, y float64) bool { return math.Abs(x) < 0.55 && math.Abs(y) < 0.55 }},
	{"triangle", func(x, y float64) bool { return y > -0.6 && y < 0.6 && math.Abs(x) < (y+0.6)/1.2*0.7 }},
	{"cross", func(x, y float64) bool { return math.Abs(x) < 0.15 || math.Abs(y) < 0.15 }},
}

var colors = []struct {
	name string
	c    color.RGBA
}{
	{"red", color.RGBA{220, 30, 40, 255}},
	{"green", color.RGBA{30, 170, 60, 255}},
	{"blue", color.RGBA{40, 60, 210, 255}},
	{"yellow", color.RGBA{235, 210, 40, 255}},
	{"black", color.RGBA{15, 15, 15, 255}},
}

// sizes are the image sizes cycled through: square, landscape, portrait and
// one smaller than the tiny model's 64×64 input.
var sizes = [][2]int{{64, 64}, {96, 72}, {72, 96}, {128, 80}, {48, 40}, {100, 100}}

// Records returns the generated records, in file order.
func Records() ([]schemas.ImageText, error) {
	var recs []schemas.ImageText
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	labels := make([]string, 0, len(shapes))
	for _, s := range shapes {
		labels = append(labels, s.name)
	}
	for i := 0; i < Good; i++ {
		sh := shapes[i%len(shapes)]
		col := colors[(i/len(shapes)+i)%len(colors)]
		size := sizes[i%len(sizes)]
		format := "png"
		if i%3 == 1 {
			format = "jpeg"
		}
		img, err := draw(size[0], size[1], sh, col.c, i, format)
		if err != nil {
			return nil, err
		}
		recs = append(recs, schemas.ImageText{
			ID:        fmt.Sprintf("rec-%02d", i),
			Image:     img,
			Text:      fmt.Sprintf("a %s %s on a light background", col.name, sh.name),
			Labels:    labels,
			Metadata:  map[string]string{"format": format, "size": fmt.Sprintf("%dx%d", size[0], size[1]), "shape": sh.name},
			EventTime: base.Add(time.Duration(i) * time.Minute),
		})
	}
	// Bytes that start like nothing any decoder knows.
	corrupt := []byte("this is not an image, only text pretending to be one\x00\x01\x02")
	recs = append(recs,
		schemas.ImageText{ID: "bad-corrupt-image", Image: corrupt, Text: "a red circle that cannot be decoded", Labels: labels,
			Metadata: map[string]string{"bad": "corrupt image bytes"}, EventTime: base.Add(Good * time.Minute)},
		schemas.ImageText{ID: "bad-empty", Labels: labels,
			Metadata: map[string]string{"bad": "no image and empty text"}, EventTime: base.Add((Good + 1) * time.Minute)},
	)
	return recs, nil
}

// draw renders sh in colour c on a diagonal gradient, encoded as format.
func draw(w, h int, sh shape, c color.RGBA, seed int, format string) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx := 2*(float64(x)+0.5)/float64(w) - 1
			fy := 2*(float64(y)+0.5)/float64(h) - 1
			if sh.in(fx, fy) {
				img.SetRGBA(x, y, c)
				continue
			}
			g := uint8(200 + (x+y+seed*7)%48)
			img.SetRGBA(x, y, color.RGBA{g, g, uint8(255 - (x*y+seed)%32), 255})
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	default:
		err = errors.New("unknown format " + format)
	}
	return buf.Bytes(), err
}

// Write writes the records as Parquet (snappy, row groups of RowGroupRows).
func Write(w io.Writer) error {
	recs, err := Records()
	if err != nil {
		return err
	}
	pw := parquet.NewGenericWriter[schemas.ImageText](w, parquet.Compression(&parquet.Snappy), parquet.CreatedBy("flavabeam gentestdata", "1", ""))
	for start := 0; start < len(recs); start += RowGroupRows {
		end := min(start+RowGroupRows, len(recs))
		if _, err := pw.Write(recs[start:end]); err != nil {
			return err
		}
		if err := pw.Flush(); err != nil {
			return err
		}
	}
	return pw.Close()
}
