package checkpoint

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// bytesAsFloat32 views little-endian F32 bytes as []float32 without copying
// when the bytes are 4-byte aligned (the host is little-endian on every
// supported platform); otherwise it copies.
func bytesAsFloat32(raw []byte, n int) []float32 {
	if n == 0 {
		return []float32{}
	}
	if uintptr(unsafe.Pointer(&raw[0]))%4 == 0 && littleEndianHost {
		return unsafe.Slice((*float32)(unsafe.Pointer(&raw[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

var littleEndianHost = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
