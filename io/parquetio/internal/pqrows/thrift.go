package pqrows

import (
	"errors"
	"fmt"
)

// Thrift compact-protocol type codes.
const (
	tStop      = 0
	tTrue      = 1
	tFalse     = 2
	tByte      = 3
	tI16       = 4
	tI32       = 5
	tI64       = 6
	tDouble    = 7
	tBinary    = 8
	tList      = 9
	tSet       = 10
	tMap       = 11
	tStruct    = 12
	maxNesting = 64
)

// Weights, in bytes, of one decoded element of a list, set or map as
// parquet-go's Thrift decoder allocates it (reflect.MakeSlice of the Go
// element type): a struct counts as the largest struct of package format
// (ColumnChunk, 560 bytes in v0.32.0; TestStructWeight keeps this true).
const (
	structWeight = 640
	sliceWeight  = 24
	scalarWeight = 8
)

// errNeedMore: the buffer ends inside the message (the caller may read more).
var errNeedMore = errors.New("thrift message continues past the bytes read")

// walker checks one Thrift compact-protocol struct without decoding it, so
// that parquet-go's decoder, which sizes slices and byte strings by the
// lengths the input declares (up to 2^31), can then be called safely: every
// length and element count must fit in the bytes that remain, nesting is
// bounded, and cost adds up what decoding will allocate for slices.
type walker struct {
	b    []byte
	off  int
	cost int64
}

// walkStruct checks one struct at the start of b and returns its encoded
// length and the estimated bytes its decoding allocates for slices.
func walkStruct(b []byte) (n int, cost int64, err error) {
	w := &walker{b: b}
	if err := w.value(tStruct, 0); err != nil {
		return 0, 0, err
	}
	return w.off, w.cost, nil
}

func (w *walker) rest() int { return len(w.b) - w.off }

func (w *walker) byte() (byte, error) {
	if w.off >= len(w.b) {
		return 0, errNeedMore
	}
	c := w.b[w.off]
	w.off++
	return c, nil
}

func (w *walker) uvarint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 70; shift += 7 {
		c, err := w.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("thrift varint longer than 10 bytes: %w", ErrCorruptFile)
}

// count reads a length or element count that must fit in what remains,
// each element taking at least minBytes bytes.
func (w *walker) count(what string, minBytes int) (int, error) {
	v, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	if v > 1<<31-1 {
		return 0, fmt.Errorf("thrift %s %d out of range: %w", what, v, ErrCorruptFile)
	}
	if int64(v)*int64(minBytes) > int64(w.rest()) {
		// Past the end of what was read: the message may continue (a page
		// header read in pieces); the caller decides whether more exists.
		return int(v), errNeedMore
	}
	return int(v), nil
}

func weight(t byte) int64 {
	switch t {
	case tStruct:
		return structWeight
	case tBinary, tList, tSet, tMap:
		return sliceWeight
	}
	return scalarWeight
}

func (w *walker) value(t byte, depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("thrift nesting deeper than %d: %w", maxNesting, ErrCorruptFile)
	}
	switch t {
	case tTrue, tFalse:
		return nil // a struct field's value is in its header
	case tByte:
		_, err := w.byte()
		return err
	case tI16, tI32, tI64:
		_, err := w.uvarint()
		return err
	case tDouble:
		if w.rest() < 8 {
			return errNeedMore
		}
		w.off += 8
		return nil
	case tBinary:
		n, err := w.count("binary length", 1)
		if err != nil {
			return err
		}
		w.off += n
		return nil
	case tList, tSet:
		h, err := w.byte()
		if err != nil {
			return err
		}
		n, et := int(h>>4), h&0x0f
		if n == 0x0f {
			if n, err = w.count("list size", 1); err != nil {
				return err
			}
		} else if n > w.rest() {
			return errNeedMore
		}
		w.cost += int64(n) * weight(et)
		for i := 0; i < n; i++ {
			if et == tTrue || et == tFalse { // list booleans take a byte each
				if _, err := w.byte(); err != nil {
					return err
				}
				continue
			}
			if err := w.value(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		n, err := w.count("map size", 2)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		kt, vt := kv>>4, kv&0x0f
		w.cost += int64(n) * (weight(kt) + weight(vt))
		for i := 0; i < n; i++ {
			for _, et := range [2]byte{kt, vt} {
				if et == tTrue || et == tFalse {
					if _, err := w.byte(); err != nil {
						return err
					}
					continue
				}
				if err := w.value(et, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	case tStruct:
		for {
			h, err := w.byte()
			if err != nil {
				return err
			}
			ft := h & 0x0f
			if ft == tStop {
				return nil
			}
			if h>>4 == 0 { // field id as a zigzag varint
				if _, err := w.uvarint(); err != nil {
					return err
				}
			}
			if err := w.value(ft, depth+1); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("thrift type %d unknown: %w", t, ErrCorruptFile)
}
