// Command gentestdata writes testdata/records.parquet, the small image–text
// file the repository's examples, CLI default and end-to-end tests run on.
//
// The images are drawn here in Go (shapes on gradients, PNG and JPEG, a few
// sizes) so the file needs no download and no external tool, and the output is
// byte-for-byte reproducible: TestGeneratedFileIsCommitted regenerates it and
// compares. Two records are deliberately bad so that the dead-letter path
// shows: "bad-corrupt-image" has image bytes that are no image format, and
// "bad-empty" has neither image nor text.
//
// It imports schemas and parquet-go only (no Beam, no model code) and is not
// part of any library: it exists for `go generate`. It does not draw realistic
// photographs; the built-in tiny model's outputs are meaningless anyway, and a
// real checkpoint only needs decodable images of varied sizes.
package main

//go:generate go run . -out ../../testdata/records.parquet
