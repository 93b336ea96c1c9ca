package flava

import (
	"sync"

	"github.com/flavabeam/flavabeam/model/tensor"
)

// Workspace is the scratch memory of forward passes: the residual stream,
// LayerNorm output, query/key/value/context and MLP activations of each
// encoder, the extended attention masks, the patch matrix of the image
// embeddings, the codebook's feature maps. Every buffer grows to the largest
// batch×sequence it has seen and is then reused, so that a ForwardInto call
// with a warm Workspace and reused outputs allocates nothing.
//
// The zero value is ready to use. A Workspace is not safe for concurrent
// use: give each goroutine its own. The Forward methods borrow one from a
// package-level free list and return it afterwards, so they too reuse
// scratch across calls; the free list holds at most as many workspaces as
// were ever in use at once. Sizes for flava-full at batch 8: image encoder
// 53 MB, text encoder (77 tokens) 19 MB, multimodal encoder 68 MB, codebook
// (112×112) about 55 MB per image in flight (one per kernel thread; NHWC
// feature maps, the id path and the logits), plus the kernels' zero-padded
// copy of a convolution's input (up to 13 MB per convolution in flight).
//
// Outputs of ForwardInto never point into a Workspace: its buffers are
// overwritten by the next call that uses it.
type Workspace struct {
	image, text, multimodal encoderScratch
	codebook                codebookScratch
}

// encoderScratch holds one encoder's buffers; the three encoders of a Model
// use separate ones so that the image encoder's last layer output survives
// the text encoder's run.
type encoderScratch struct {
	x     []float32 // residual stream, rows×hidden (HF's hidden_states)
	ln    []float32 // LayerNorm output, rows×hidden
	q     []float32 // rows×hidden each
	k     []float32
	v     []float32
	ctx   []float32 // attention context, rows×hidden
	inter []float32 // MLP activations, rows×intermediate
	mask  []float32 // extended additive attention mask, batch×seq
	first []float32 // the pooler's token-0 rows, batch×hidden

	// image embeddings
	patches []float32 // (batch·patches)×(channels·patch²) patch matrix
	pos     []float32 // interpolated position embeddings
	planes  []float32 // interpolation scratch
	resized []float32
}

// grow returns (*buf)[:n], reallocating only when the capacity is short.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// workspaces is the free list Forward methods borrow from. Unlike sync.Pool
// it never drops a workspace at a GC, so repeated Forward calls keep their
// warm scratch.
var workspaces struct {
	mu   sync.Mutex
	free []*Workspace
}

func getWorkspace() *Workspace {
	workspaces.mu.Lock()
	defer workspaces.mu.Unlock()
	if n := len(workspaces.free); n > 0 {
		ws := workspaces.free[n-1]
		workspaces.free[n-1] = nil
		workspaces.free = workspaces.free[:n-1]
		return ws
	}
	return new(Workspace)
}

func putWorkspace(ws *Workspace) {
	workspaces.mu.Lock()
	workspaces.free = append(workspaces.free, ws)
	workspaces.mu.Unlock()
}

// reuse2 returns *t reshaped to d0×d1 when its backing array is large
// enough, else a new tensor, and stores it in *t.
func reuse2(t **tensor.Tensor, d0, d1 int) *tensor.Tensor {
	n := d0 * d1
	if x := *t; x != nil && len(x.Shape) == 2 && cap(x.Data) >= n {
		x.Shape[0], x.Shape[1] = d0, d1
		x.Data = x.Data[:n]
		return x
	}
	*t = tensor.New(d0, d1)
	return *t
}

// reuse3 is reuse2 for d0×d1×d2 tensors.
func reuse3(t **tensor.Tensor, d0, d1, d2 int) *tensor.Tensor {
	n := d0 * d1 * d2
	if x := *t; x != nil && len(x.Shape) == 3 && cap(x.Data) >= n {
		x.Shape[0], x.Shape[1], x.Shape[2] = d0, d1, d2
		x.Data = x.Data[:n]
		return x
	}
	*t = tensor.New(d0, d1, d2)
	return *t
}

// reuseStates makes *all hold n tensors of d0×d1×d2, reusing what it can.
func reuseStates(all *[]*tensor.Tensor, n, d0, d1, d2 int) []*tensor.Tensor {
	if cap(*all) < n {
		grown := make([]*tensor.Tensor, n)
		copy(grown, *all)
		*all = grown
	}
	*all = (*all)[:n]
	for i := range *all {
		reuse3(&(*all)[i], d0, d1, d2)
	}
	return *all
}
