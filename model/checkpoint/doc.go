// Package checkpoint reads model weights as Hugging Face ships them —
// safetensors files (memory-mapped), PyTorch zip checkpoints (torch.save, read
// by a restricted unpickler that executes nothing) and sharded checkpoints
// with an *.index.json — into a StateDict of named tensors, and binds those
// tensors to model struct fields by name.
//
// Every length, offset and shape read from a file is validated before any
// allocation, so a malformed or hostile file yields an error, never a panic or
// a giant allocation. Errors wrap the sentinel values below.
//
// It imports model/tensor and the standard library; it knows nothing of FLAVA.
package checkpoint
