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
// # PyTorch checkpoints
//
// A torch.save file is a zip archive: <archive>/data.pkl is a pickle of the
// state dict whose tensors refer, through persistent ids
// ('storage', torch.FloatStorage, key, location, numel), to the raw entries
// <archive>/data/<key>. torch writes those entries uncompressed and 64-byte
// aligned, so OpenPyTorch uses them in place through the memory map: tensors
// that share a storage (tied weights such as mim_head.bias and
// mim_head.decoder.bias) share memory, and F32 data is never copied. The
// legacy pre-1.6 format (a bare pickle stream) is reported as ErrUnsupported.
//
// The pickle is run by a small virtual machine of our own (pickle.go) rather
// than github.com/nlpodyssey/gopickle, for two reasons. gopickle resolves an
// unknown global to a generic class object by default, where we need an
// allow-list checked before anything is built: only collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter(_with_state),
// torch._tensor._rebuild_from_type_v2, the torch.*Storage classes and sets
// are accepted, and any other global (os.system, builtins.eval, ...) is an
// error wrapping ErrUnsupported that names it. And gopickle's reader
// allocates a buffer of a length read from the stream before reading it,
// where we need every allocation capped by the file: here strings and bytes
// alias the pickle, memo references must exist, storages must fit their zip
// entries, views must fit their storages, and the copies we do make
// (non-contiguous tensors, compressed or big-endian entries, reads without a
// memory map) are charged to a budget of a few times the file size.
//
// # Untrusted model directories
//
// What a model directory holds is treated as untrusted, the directory's own
// path as trusted. The checkpoint Open picks in a directory, and every shard
// an *.index.json names, must resolve through symbolic links to a file inside
// that directory (ErrOutside otherwise; a Hugging Face cache snapshot,
// <repo>/snapshots/<revision>/, may link into <repo>/blobs/); shard names
// with "..", an absolute path, a backslash or a colon are ErrMalformed before
// any link is followed. Bind checks both sides of a declared tie when a
// checkpoint stores both (torch.save does): they must have the same shape
// and the same values (or be the same bytes), since the model can use only
// one of them. Every file of the checkpoint must also be a regular file (a
// FIFO would block the open, a device such as /dev/zero never ends). The
// same rules hold for the other files a model directory holds —
// config.json, tokenizer files, image settings — which model/flava,
// model/tokenizer, model/imageproc and model/pretrained read through the
// shared model/internal/modelfile with a size cap each.
//
// It imports model/tensor and the standard library; it knows nothing of FLAVA.
package checkpoint
