package checkpoint

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// This file is a restricted pickle virtual machine. It understands the
// opcodes of protocols 0–5 that describe plain data (None, bools, ints,
// floats, strings, bytes, tuples, lists, dicts, sets) plus GLOBAL/REDUCE/BUILD
// for an allow-list of globals, and persistent ids. It executes nothing: an
// allowed global is a tag that the caller's callbacks interpret, and any other
// global is rejected by name before it could be called.
//
// Every length read from the stream is checked against the bytes that remain
// before anything is sliced, strings and bytes alias the input, and the stack,
// memo and containers grow by at most one slot per opcode byte, so memory use
// is bounded by a small multiple of the pickle's size.

// pyGlobal is an allow-listed global (module.name).
type pyGlobal struct{ module, name string }

func (g pyGlobal) String() string { return g.module + "." + g.name }

// pyTuple is an immutable Python tuple.
type pyTuple []any

// pyList is a Python list (a pointer so that APPEND through the memo works).
type pyList struct{ items []any }

// pyDict is an insertion-ordered Python dict (also used for OrderedDict and
// for sets, whose values are nil).
type pyDict struct {
	keys   []any
	values []any
	index  map[any]int // by hashKey
}

func newPyDict() *pyDict { return &pyDict{index: map[any]int{}} }

func (d *pyDict) set(k, v any) error {
	hk, ok := hashKey(k)
	if !ok {
		return fmt.Errorf("%w: pickle: unhashable dict key of type %T", ErrMalformed, k)
	}
	if i, dup := d.index[hk]; dup {
		d.values[i] = v
		return nil
	}
	d.index[hk] = len(d.keys)
	d.keys = append(d.keys, k)
	d.values = append(d.values, v)
	return nil
}

// hashKey maps a Python value to a comparable Go key, reporting whether the
// value is hashable.
func hashKey(k any) (any, bool) {
	switch v := k.(type) {
	case nil, bool, int64, float64, string, pyGlobal:
		return v, true
	case *big.Int:
		return "big:" + v.String(), true
	case []byte:
		return "bytes:" + string(v), true
	case pyTuple:
		// Short tuples of scalars only: nested tuples shared through the
		// memo could make a key exponentially large, and long ones make
		// repeated hashing quadratic.
		if len(v) > 64 {
			return nil, false
		}
		var sb strings.Builder
		sb.WriteString("tuple:")
		for _, e := range v {
			if _, nested := e.(pyTuple); nested {
				return nil, false
			}
			h, ok := hashKey(e)
			if !ok {
				return nil, false
			}
			fmt.Fprintf(&sb, "%T:%v,", h, h)
		}
		return sb.String(), true
	}
	return nil, false
}

// unpickler holds the VM state. Callbacks decide what the allowed globals
// mean; they run only for globals that passed the allow-list.
type unpickler struct {
	data []byte
	pos  int

	stack []any
	marks []int // stack lengths at each MARK
	memo  map[int64]any

	// allowed reports whether module.name may be referenced at all.
	allowed func(g pyGlobal) bool
	// call applies an allowed global to its arguments (REDUCE, NEWOBJ).
	call func(g pyGlobal, args pyTuple) (any, error)
	// persistentLoad resolves a persistent id.
	persistentLoad func(pid any) (any, error)
	// build applies BUILD state to an object; nil means "ignore state on
	// dicts and opaque objects".
	build func(obj, state any) (any, error)
}

func (u *unpickler) errf(format string, args ...any) error {
	return fmt.Errorf("%w: pickle at byte %d: %s", ErrMalformed, u.pos, fmt.Sprintf(format, args...))
}

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, u.errf("needs %d bytes, %d remain", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) readLen(width int) (int, error) {
	b, err := u.read(width)
	if err != nil {
		return 0, err
	}
	var n uint64
	switch width {
	case 1:
		n = uint64(b[0])
	case 4:
		n = uint64(binary.LittleEndian.Uint32(b))
	case 8:
		n = binary.LittleEndian.Uint64(b)
	}
	if n > uint64(len(u.data)-u.pos) {
		return 0, u.errf("length %d exceeds the %d bytes that remain", n, len(u.data)-u.pos)
	}
	return int(n), nil
}

// readLine reads up to and excluding '\n' (text opcodes of protocol 0).
func (u *unpickler) readLine() (string, error) {
	i := bytes.IndexByte(u.data[u.pos:], '\n')
	if i < 0 {
		return "", u.errf("unterminated line")
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1]) {
		return nil, u.errf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1]) {
		return nil, u.errf("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops everything above the last MARK and the mark itself.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errf("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) memoPut(idx int64) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if idx < 0 {
		return u.errf("negative memo index %d", idx)
	}
	u.memo[idx] = v
	return nil
}

func (u *unpickler) memoGet(idx int64) error {
	v, ok := u.memo[idx]
	if !ok {
		return u.errf("memo index %d was never stored", idx)
	}
	u.push(v)
	return nil
}

func (u *unpickler) global(module, name string) error {
	g := pyGlobal{module, name}
	if !u.allowed(g) {
		return fmt.Errorf("%w: pickle global %s is not on the allow-list (a state dict needs only tensors, storages and dicts)", ErrUnsupported, g)
	}
	u.push(g)
	return nil
}

func (u *unpickler) callable(v any) (pyGlobal, error) {
	g, ok := v.(pyGlobal)
	if !ok {
		return pyGlobal{}, u.errf("call of a %T, not a global", v)
	}
	return g, nil
}

// Pickle opcodes.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong           = 'L'
	opBinInt2        = 'M'
	opNone           = 'N'
	opPersID         = 'P'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opString         = 'S'
	opBinString      = 'T'
	opShortBinString = 'U'
	opUnicode        = 'V'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinGet         = 'h'
	opInst           = 'i'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opObj            = 'o'
	opPut            = 'p'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'

	opProto          = 0x80
	opNewObj         = 0x81
	opExt1           = 0x82
	opExt2           = 0x83
	opExt4           = 0x84
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opShortBinUnicod = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opEmptySet       = 0x8f
	opAddItems       = 0x90
	opFrozenSet      = 0x91
	opNewObjEx       = 0x92
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
	opByteArray8     = 0x96
	opNextBuffer     = 0x97
	opReadOnlyBuffer = 0x98
)

// run executes the pickle and returns the value left by STOP.
func (u *unpickler) run() (any, error) {
	if u.memo == nil {
		u.memo = map[int64]any{}
	}
	for {
		if u.pos >= len(u.data) {
			return nil, u.errf("ends without STOP")
		}
		op := u.data[u.pos]
		u.pos++
		if err := u.step(op); err != nil {
			if err == errStop {
				if len(u.stack) != 1 || len(u.marks) != 0 {
					return nil, u.errf("STOP with %d values and %d marks on the stack", len(u.stack), len(u.marks))
				}
				return u.stack[0], nil
			}
			return nil, err
		}
	}
}

var errStop = fmt.Errorf("stop")

func (u *unpickler) step(op byte) error {
	switch op {
	case opProto:
		b, err := u.read(1)
		if err != nil {
			return err
		}
		if b[0] > 5 {
			return fmt.Errorf("%w: pickle protocol %d", ErrUnsupported, b[0])
		}
	case opFrame:
		if _, err := u.read(8); err != nil { // frames are a buffering hint only
			return err
		}
	case opStop:
		return errStop
	case opMark:
		u.marks = append(u.marks, len(u.stack))
	case opPop:
		if len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1] {
			u.marks = u.marks[:len(u.marks)-1] // POP of a bare MARK
			return nil
		}
		_, err := u.pop()
		return err
	case opPopMark:
		_, err := u.popMark()
		return err
	case opDup:
		v, err := u.top()
		if err != nil {
			return err
		}
		u.push(v)
	case opNone:
		u.push(nil)
	case opNewTrue:
		u.push(true)
	case opNewFalse:
		u.push(false)
	case opBinInt:
		b, err := u.read(4)
		if err != nil {
			return err
		}
		u.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case opBinInt1:
		b, err := u.read(1)
		if err != nil {
			return err
		}
		u.push(int64(b[0]))
	case opBinInt2:
		b, err := u.read(2)
		if err != nil {
			return err
		}
		u.push(int64(binary.LittleEndian.Uint16(b)))
	case opLong1, opLong4:
		width := 1
		if op == opLong4 {
			width = 4
		}
		n, err := u.readLen(width)
		if err != nil {
			return err
		}
		b, err := u.read(n)
		if err != nil {
			return err
		}
		u.push(decodeLong(b))
	case opInt, opLong:
		line, err := u.readLine()
		if err != nil {
			return err
		}
		v, err := parseTextInt(line)
		if err != nil {
			return u.errf("%v", err)
		}
		u.push(v)
	case opBinFloat:
		b, err := u.read(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opFloat:
		line, err := u.readLine()
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(line, 64)
		if err != nil {
			return u.errf("bad FLOAT %q", line)
		}
		u.push(f)
	case opBinUnicode, opShortBinUnicod, opBinUnicode8, opBinString, opShortBinString:
		n, err := u.readLen(lengthWidth(op))
		if err != nil {
			return err
		}
		b, err := u.read(n)
		if err != nil {
			return err
		}
		u.push(string(b))
	case opUnicode:
		line, err := u.readLine()
		if err != nil {
			return err
		}
		u.push(line) // raw-unicode-escape; state-dict keys are plain ASCII
	case opString:
		line, err := u.readLine()
		if err != nil {
			return err
		}
		s, err := strconv.Unquote(line)
		if err != nil {
			if len(line) >= 2 && line[0] == '\'' && line[len(line)-1] == '\'' {
				s = line[1 : len(line)-1]
			} else {
				return u.errf("bad STRING %q", line)
			}
		}
		u.push(s)
	case opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
		n, err := u.readLen(lengthWidth(op))
		if err != nil {
			return err
		}
		b, err := u.read(n)
		if err != nil {
			return err
		}
		u.push(b)
	case opEmptyTuple:
		u.push(pyTuple{})
	case opTuple:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(pyTuple(items))
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		t := make(pyTuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := u.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		u.push(t)
	case opEmptyList:
		u.push(&pyList{})
	case opList:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&pyList{items: items})
	case opAppend:
		v, err := u.pop()
		if err != nil {
			return err
		}
		return u.appendTo([]any{v})
	case opAppends:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.appendTo(items)
	case opEmptyDict:
		u.push(newPyDict())
	case opDict:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := newPyDict()
		if err := u.setItems(d, items); err != nil {
			return err
		}
		u.push(d)
	case opSetItem:
		v, err := u.pop()
		if err != nil {
			return err
		}
		k, err := u.pop()
		if err != nil {
			return err
		}
		return u.setItemsOnTop([]any{k, v})
	case opSetItems:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.setItemsOnTop(items)
	case opEmptySet:
		u.push(newPyDict())
	case opAddItems:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		t, err := u.top()
		if err != nil {
			return err
		}
		d, ok := t.(*pyDict)
		if !ok {
			return u.errf("ADDITEMS to a %T", t)
		}
		for _, it := range items {
			if err := d.set(it, nil); err != nil {
				return err
			}
		}
	case opFrozenSet:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := newPyDict()
		for _, it := range items {
			if err := d.set(it, nil); err != nil {
				return err
			}
		}
		u.push(d)
	case opGlobal:
		module, err := u.readLine()
		if err != nil {
			return err
		}
		name, err := u.readLine()
		if err != nil {
			return err
		}
		return u.global(module, name)
	case opStackGlobal:
		nv, err := u.pop()
		if err != nil {
			return err
		}
		mv, err := u.pop()
		if err != nil {
			return err
		}
		module, ok1 := mv.(string)
		name, ok2 := nv.(string)
		if !ok1 || !ok2 {
			return u.errf("STACK_GLOBAL with %T and %T", mv, nv)
		}
		return u.global(module, name)
	case opReduce:
		return u.callFromStack("REDUCE")
	case opNewObj:
		return u.callFromStack("NEWOBJ")
	case opNewObjEx:
		kv, err := u.pop()
		if err != nil {
			return err
		}
		if kw, ok := kv.(*pyDict); !ok || len(kw.keys) != 0 {
			return fmt.Errorf("%w: pickle NEWOBJ_EX with keyword arguments", ErrUnsupported)
		}
		return u.callFromStack("NEWOBJ_EX")
	case opBuild:
		state, err := u.pop()
		if err != nil {
			return err
		}
		obj, err := u.pop()
		if err != nil {
			return err
		}
		if u.build != nil {
			obj, err = u.build(obj, state)
			if err != nil {
				return err
			}
		} else {
			switch obj.(type) {
			case *pyDict: // OrderedDict._metadata and similar attributes: not needed
			default:
				return u.errf("BUILD on a %T", obj)
			}
		}
		u.push(obj)
	case opBinPersID:
		pid, err := u.pop()
		if err != nil {
			return err
		}
		v, err := u.persistentLoad(pid)
		if err != nil {
			return err
		}
		u.push(v)
	case opPersID:
		line, err := u.readLine()
		if err != nil {
			return err
		}
		v, err := u.persistentLoad(line)
		if err != nil {
			return err
		}
		u.push(v)
	case opPut:
		line, err := u.readLine()
		if err != nil {
			return err
		}
		idx, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return u.errf("bad PUT index %q", line)
		}
		return u.memoPut(idx)
	case opBinPut:
		b, err := u.read(1)
		if err != nil {
			return err
		}
		return u.memoPut(int64(b[0]))
	case opLongBinPut:
		b, err := u.read(4)
		if err != nil {
			return err
		}
		return u.memoPut(int64(binary.LittleEndian.Uint32(b)))
	case opMemoize:
		return u.memoPut(int64(len(u.memo)))
	case opGet:
		line, err := u.readLine()
		if err != nil {
			return err
		}
		idx, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return u.errf("bad GET index %q", line)
		}
		return u.memoGet(idx)
	case opBinGet:
		b, err := u.read(1)
		if err != nil {
			return err
		}
		return u.memoGet(int64(b[0]))
	case opLongBinGet:
		b, err := u.read(4)
		if err != nil {
			return err
		}
		return u.memoGet(int64(binary.LittleEndian.Uint32(b)))
	case opInst, opObj:
		return fmt.Errorf("%w: pickle opcode INST/OBJ (instantiates arbitrary classes)", ErrUnsupported)
	case opExt1, opExt2, opExt4:
		return fmt.Errorf("%w: pickle extension registry opcodes", ErrUnsupported)
	case opNextBuffer, opReadOnlyBuffer:
		return fmt.Errorf("%w: pickle out-of-band buffers", ErrUnsupported)
	default:
		return u.errf("unknown opcode 0x%02x", op)
	}
	return nil
}

// lengthWidth is the size of the length prefix of a counted string opcode.
func lengthWidth(op byte) int {
	switch op {
	case opShortBinUnicod, opShortBinString, opShortBinBytes:
		return 1
	case opBinUnicode8, opBinBytes8, opByteArray8:
		return 8
	}
	return 4
}

func (u *unpickler) appendTo(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	l, ok := t.(*pyList)
	if !ok {
		return u.errf("APPEND to a %T", t)
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItemsOnTop(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	d, ok := t.(*pyDict)
	if !ok {
		return u.errf("SETITEM on a %T", t)
	}
	return u.setItems(d, items)
}

func (u *unpickler) setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return u.errf("odd number of dict items")
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer (LONG1/LONG4),
// as an int64 when it fits, else a *big.Int.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if b[len(b)-1]&0x80 != 0 && len(b) < 8 {
			v |= ^uint64(0) << (8 * len(b))
		}
		return int64(v)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

func parseTextInt(line string) (any, error) {
	s := strings.TrimSuffix(line, "L")
	switch s {
	case "00":
		return false, nil
	case "01":
		return true, nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	if len(s) > 4096 {
		return nil, fmt.Errorf("integer literal of %d digits", len(s))
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("bad integer %q", line)
	}
	return v, nil
}

// callFromStack pops an argument tuple and a callable (REDUCE, NEWOBJ and
// NEWOBJ_EX once its keyword dict is gone), calls it through the allow-list
// and pushes the result.
func (u *unpickler) callFromStack(op string) error {
	av, err := u.pop()
	if err != nil {
		return err
	}
	fv, err := u.pop()
	if err != nil {
		return err
	}
	args, ok := av.(pyTuple)
	if !ok {
		return u.errf("%s arguments are a %T, not a tuple", op, av)
	}
	g, err := u.callable(fv)
	if err != nil {
		return err
	}
	v, err := u.call(g, args)
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}
