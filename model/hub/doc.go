// Package hub finds and fetches model files the way huggingface_hub does, so
// that flavabeam and Python share one cache: a local directory, the Hugging
// Face cache layout (<cache>/models--org--name/{blobs,refs,snapshots}), and
// downloads from the Hub (or any server speaking its resolve and API routes)
// into that layout — resumable with HTTP range requests, SHA-256 checked for
// LFS files, with HF_TOKEN, HF_ENDPOINT, HF_HOME, HF_HUB_CACHE and
// HF_HUB_OFFLINE honoured.
//
// It is written here on net/http because no maintained Go library implements
// the Hub's cache layout; it imports only the standard library. It does not
// upload, does not manage git revisions beyond resolving a ref to a commit,
// and does not download repositories other than models.
package hub
