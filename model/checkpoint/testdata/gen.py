"""Regenerates the small checkpoint samples in this folder (testdata/*.bin,
*.safetensors, *.pkl). It needs only the Python standard library: a stand-in
`torch` module gives the pickler the same globals (torch._utils._rebuild_tensor_v2,
torch.FloatStorage, ...) and persistent ids that torch.save writes, and the zip
layout follows torch's (<archive>/data.pkl, <archive>/data/<key>, stored,
64-byte aligned). The real torch.save output is covered by the shared fixtures'
pytorch_model.bin files.

    cd model/checkpoint/testdata && python3 gen.py
"""
import collections
import io
import json
import pickle
import struct
import sys
import types
import zipfile

# --- a stand-in torch: just enough names for pickle to write its globals ---
torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
tensor_mod = types.ModuleType("torch._tensor")
nn = types.ModuleType("torch.nn")
param_mod = types.ModuleType("torch.nn.parameter")
for m in (torch, utils, tensor_mod, nn, param_mod):
    sys.modules[m.__name__] = m


def _fn(mod, name):
    def f(*a):
        raise RuntimeError("stand-in")
    f.__module__, f.__name__, f.__qualname__ = mod.__name__, name, name
    setattr(mod, name, f)
    return f


_rebuild_tensor_v2 = _fn(utils, "_rebuild_tensor_v2")
_rebuild_parameter = _fn(utils, "_rebuild_parameter")
_rebuild_from_type_v2 = _fn(tensor_mod, "_rebuild_from_type_v2")


def _cls(mod, name):
    c = type(name, (), {})
    c.__module__ = mod.__name__
    setattr(mod, name, c)
    return c


STORAGE = {n: _cls(torch, n) for n in [
    "FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
    "IntStorage", "BoolStorage", "ByteStorage", "DoubleStorage"]}
TensorType = _cls(torch, "Tensor")
SIZES = {"FloatStorage": (4, "f"), "HalfStorage": (2, "H"), "BFloat16Storage": (2, "H"),
         "LongStorage": (8, "q"), "IntStorage": (4, "i"), "BoolStorage": (1, "B"),
         "ByteStorage": (1, "B"), "DoubleStorage": (8, "d")}


class Storage:
    def __init__(self, kind, key, values):
        self.kind, self.key, self.values = kind, key, values

    def raw(self, order="<"):
        return struct.pack(order + SIZES[self.kind][1] * len(self.values), *self.values)


class Tensor:
    def __init__(self, storage, offset, size, stride, param=False, subclass=False):
        self.args = (storage, offset, tuple(size), tuple(stride), param, collections.OrderedDict())
        self.param, self.subclass = param, subclass

    def __reduce_ex__(self, proto):
        inner = (_rebuild_tensor_v2, self.args)
        if self.param:
            return (_rebuild_parameter, (Plain(inner), True, collections.OrderedDict()))
        if self.subclass:
            return (_rebuild_from_type_v2, (_rebuild_tensor_v2, TensorType, self.args, {}))
        return inner


class Plain:
    def __init__(self, r):
        self.r = r

    def __reduce_ex__(self, proto):
        return self.r


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", STORAGE[obj.kind], obj.key, "cpu", len(obj.values))
        return None


def state_dict():
    s0 = Storage("FloatStorage", "0", [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    sd = collections.OrderedDict()
    sd["w"] = Tensor(s0, 0, (2, 3), (3, 1))
    sd["w_t"] = Tensor(s0, 0, (3, 2), (1, 3))          # a transposed view: not contiguous
    sd["w_tail"] = Tensor(s0, 4, (2,), (1,))            # a storage offset
    sd["tied"] = Tensor(s0, 0, (2, 3), (3, 1))         # a second name for w's storage
    sd["p"] = Tensor(Storage("FloatStorage", "1", [1.5, -2.0]), 0, (2,), (1,), param=True)
    sd["h"] = Tensor(Storage("HalfStorage", "2", [0x3C00, 0xC000, 0x3555]), 0, (3,), (1,))
    sd["b"] = Tensor(Storage("BFloat16Storage", "3", [0x3F80, 0x4049]), 0, (2,), (1,))
    sd["ids"] = Tensor(Storage("LongStorage", "4", [-1, 0, 1 << 40]), 0, (3,), (1,))
    sd["i32"] = Tensor(Storage("IntStorage", "5", [7, -7]), 0, (2,), (1,))
    sd["mask"] = Tensor(Storage("BoolStorage", "6", [1, 0, 1]), 0, (3,), (1,))
    sd["u8"] = Tensor(Storage("ByteStorage", "7", [0, 255]), 0, (2,), (1,))
    sd["scalar"] = Tensor(Storage("FloatStorage", "8", [42.0]), 0, (), ())
    sd["empty"] = Tensor(Storage("FloatStorage", "9", []), 0, (0, 4), (4, 1))
    sd["sub"] = Tensor(Storage("DoubleStorage", "10", [0.25]), 0, (1,), (1,), subclass=True)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


def storages(sd):
    out = {}
    for t in sd.values():
        s = t.args[0]
        out[s.key] = s
    return out


def write_zip(path, archive, pkl, entries, compress=False):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in [("data.pkl", pkl)] + entries:
            full = archive + "/" + name
            info = zipfile.ZipInfo(full, date_time=(2020, 1, 1, 0, 0, 0))
            if compress:
                info.compress_type = zipfile.ZIP_DEFLATED
            else:
                # pad the local header's extra field so the data is 64-byte aligned, as torch does
                start = buf.tell() + 30 + len(full.encode()) + 4
                pad = (-start) % 64
                info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
            z.writestr(info, data)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def pickled(obj, protocol):
    b = io.BytesIO()
    Pickler(b, protocol=protocol).dump(obj)
    return b.getvalue()


def torch_file(path, protocol, order="<", compress=False):
    sd = state_dict()
    entries = [("data/" + k, s.raw(order)) for k, s in sorted(storages(sd).items())]
    entries.append(("version", b"3\n"))
    if protocol >= 3 or order == ">":
        entries.append(("byteorder", b"little" if order == "<" else b"big"))
    write_zip(path, path.rsplit(".", 1)[0], pickled(sd, protocol), entries, compress)


for proto in (2, 3, 4, 5):
    torch_file("torch_p%d.bin" % proto, proto)
torch_file("torch_deflate.bin", 2, compress=True)
torch_file("torch_bigendian.bin", 2, order=">")

# --- hostile and broken pickles inside otherwise valid archives ---
OS_SYSTEM = b"\x80\x02cposix\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."
EVAL = b"\x80\x04\x95\x1f\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04eval\x93\x8c\x031+1\x85R."
MEMO_OOB = b"\x80\x02}q\x00h\x07."
HUGE_SHAPE = (b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00x"
              b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
              b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00J\xff\xff\xff\x7fJ\xff\xff\xff\x7f\x86K\x01K\x01\x86\x89"
              b"ccollections\nOrderedDict\n)RtRu.")
for name, pkl in [("os_system", OS_SYSTEM), ("eval", EVAL), ("memo_oob", MEMO_OOB), ("huge_shape", HUGE_SHAPE)]:
    write_zip("bad_%s.bin" % name, "bad_" + name, pkl, [("data/0", struct.pack("<4f", 1, 2, 3, 4)), ("version", b"3\n")])
    with open("bad_%s.pkl" % name, "wb") as f:
        f.write(pkl)
with open("legacy.pt", "wb") as f:  # the pre-1.6 format starts with a pickled magic number
    f.write(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")

# --- safetensors: one good file and a few broken ones ---
def safetensors(header, body):
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + body

body = struct.pack("<4f", 1, 2, 3, 4) + struct.pack("<2H", 0x3C00, 0xC000)
good = {"__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "h": {"dtype": "F16", "shape": [2], "data_offsets": [16, 20]}}
samples = {
    "good": safetensors(good, body),
    "overlap": safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, body),
    "out_of_range": safetensors({"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}, body),
    "unknown_dtype": safetensors({"a": {"dtype": "F8_E9M9", "shape": [4], "data_offsets": [0, 4]}}, body),
    "header_too_long": struct.pack("<Q", 1 << 20) + b"{}",
}
for name, data in samples.items():
    with open("st_%s.safetensors" % name, "wb") as f:
        f.write(data)
