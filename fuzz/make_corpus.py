#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/<target>/seed-*: copies of small test fixtures plus hand-made
edge cases, accepted and rejected ones for every target. Standard library only (struct, json, zlib,
zipfile). Inputs the fuzzer found are merged in beside them (fuzz/run.sh with MERGE=1) under libFuzzer's
hash names; this script removes and rewrites only the seed-* files.

    python3 fuzz/make_corpus.py
"""
import io
import json
import os
import shutil
import struct
import zipfile
import zlib

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
FIX = os.path.join(ROOT, "Tests", "CalibTests", "Fixtures")


def out(target, name, data):
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def fixture(rel):
    with open(os.path.join(FIX, rel), "rb") as f:
        return f.read()


def clean():
    for target in os.listdir(os.path.join(FUZZ, "corpus")) if os.path.isdir(os.path.join(FUZZ, "corpus")) else []:
        d = os.path.join(FUZZ, "corpus", target)
        for name in os.listdir(d):
            if name.startswith("seed-"):
                os.remove(os.path.join(d, name))


# ---------------------------------------------------------------- safetensors


def st_file(header, data=b"", pad=0):
    text = (json.dumps(header, separators=(",", ":")) if not isinstance(header, (bytes, str)) else header)
    if isinstance(text, str):
        text = text.encode()
    text += b" " * pad
    return struct.pack("<Q", len(text)) + text + data


def st(tensors, metadata=None, pad=0):
    """tensors: list of (name, dtype, shape, raw)."""
    header, offset, blobs = {}, 0, []
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    return st_file(header, b"".join(blobs), pad)


def safetensors():
    t = "safetensors"
    for rel in ["readers/safetensors/mixed.safetensors", "readers/tree/a.safetensors", "readers/tree/d/f/g.safetensors",
                "golden/cases/aimet_seed4x4_asym_signed_8/batches/000.safetensors",
                "golden/cases/aimet_constant_sym_signed_8/batches/000.safetensors",
                "golden/cases/aimet_multibatch_asym_signed_4/batches/000.safetensors",
                "golden/cases/aimet_perchannel_sym_signed_8/batches/000.safetensors",
                "golden/cases/torch_ema_quint8_affine/batches/000.safetensors"]:
        out(t, rel.replace("/", "_"), fixture(rel))
    f4 = struct.pack("<4f", 1.0, -2.5, float("nan"), float("inf"))
    # accepted
    out(t, "all-dtypes", st([("f16", "F16", [2], b"\x00\x3c\x00\xc0"), ("bf16", "BF16", [1], b"\x80\x3f"),
                             ("f32", "F32", [2, 2], f4), ("f64", "F64", [1], struct.pack("<d", 3.5)),
                             ("i8", "I8", [2], b"\x80\x7f"), ("u8", "U8", [1], b"\xff"), ("i16", "I16", [1], b"\x00\x80"),
                             ("u16", "U16", [1], b"\xff\xff"), ("i32", "I32", [1], b"\x00\x00\x00\x80"),
                             ("u32", "U32", [1], b"\xff" * 4), ("i64", "I64", [1], b"\x00" * 7 + b"\x80"),
                             ("u64", "U64", [1], b"\xff" * 8), ("b", "BOOL", [3], b"\x00\x01\x02")]))
    out(t, "scalar-and-metadata", st([("s", "F32", [], struct.pack("<f", 7.0))], metadata={"format": "pt"}, pad=5))
    out(t, "unicode-name", st([("layer.\u00e9\\\"\u2603", "F32", [1, 1, 1], struct.pack("<f", 1.0))]))
    out(t, "escaped-name", st_file('{"a\\u00e9\\ud83d\\ude00":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', b"\x01\x02"))
    out(t, "out-of-order-offsets", st_file({"b": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]},
                                            "a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\x01\x02"))
    # rejected
    out(t, "empty", b"")
    out(t, "short", b"\x05\x00\x00")
    out(t, "zero-header", struct.pack("<Q", 0))
    out(t, "no-tensors", st_file({}, b""))
    out(t, "metadata-only", st_file({"__metadata__": {"a": "b"}}))
    out(t, "header-past-end", struct.pack("<Q", 1000) + b"{}")
    out(t, "absurd-header", struct.pack("<Q", 1 << 40) + b"{}")
    out(t, "trailing-bytes", st([("x", "F32", [1], struct.pack("<f", 1.0))]) + b"\x00")
    out(t, "truncated-data", st([("x", "F32", [4], f4)])[:-3])
    out(t, "overlap", st_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                               "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, b"\x00" * 6))
    out(t, "duplicate-name", st_file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                     '"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\x00\x00"))
    out(t, "size-mismatch", st_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\x00" * 4))
    out(t, "empty-tensor", st_file({"a": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]}}))
    out(t, "overflow-shape", st_file({"a": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 4]}}, b"\x00" * 4))
    out(t, "negative-dim", st_file({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\x00" * 4))
    out(t, "huge-offsets", st_file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,0]}}'))
    out(t, "float-offsets", st_file('{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1e0]}}', b"\x00"))
    out(t, "complex-dtype", st_file({"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\x00" * 8))
    out(t, "bad-utf8", st_file(b'{"\xff":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"))
    out(t, "deep-nesting", st_file(b'{"__metadata__":' + b"[" * 70 + b"]" * 70 + b"}"))
    out(t, "not-json", st_file(b"{'a': 1}"))


# ---------------------------------------------------------------- npy


def npy_bytes(descr, shape, data, fortran=False, version=(1, 0), header=None):
    if header is None:
        shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape_text)
    h = header.encode("latin-1" if version[0] < 3 else "utf-8")
    pre = 10 if version[0] == 1 else 12
    total = pre + len(h) + 1
    h += b" " * ((64 - total % 64) % 64) + b"\n"
    if version[0] == 1:
        return b"\x93NUMPY" + bytes(version) + struct.pack("<H", len(h)) + h + data
    return b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(h)) + h + data


def npy():
    t = "npy"
    d = os.path.join(FIX, "readers", "npy")
    for name in sorted(os.listdir(d)):
        out(t, "fixture-" + name, fixture("readers/npy/" + name))
    out(t, "golden-act.npy", fixture("golden/cases/aimet_seed4x4_asym_signed_8/batches_npy/000/act.npy"))
    # accepted
    out(t, "be-i2", npy_bytes(">i2", [2], b"\x00\x01\x80\x00"))
    out(t, "u8-fortran", npy_bytes("<u8", [1, 2], b"\x01" * 16, fortran=True))
    out(t, "python2-long", npy_bytes("<f4", [], struct.pack("<f", 1.0), header="{'descr':'<f4','fortran_order':False,'shape':(1L,)}"))
    out(t, "double-quotes", npy_bytes("<u1", [], b"\x07", header='{"shape": (), "fortran_order": False, "descr": "|u1"}'))
    out(t, "v3-utf8", npy_bytes("<f2", [1], b"\x00\x3c", version=(3, 0),
                                header="{'descr': '<f2', 'fortran_order': False, 'shape': (1,), 'note': '\u00e9'}"))
    # rejected
    out(t, "empty", b"")
    out(t, "bad-magic", b"\x93NUMPX\x01\x00\x00\x00")
    out(t, "version-4", npy_bytes("<f4", [1], b"\x00" * 4, version=(4, 0)))
    out(t, "truncated-preamble", b"\x93NUMPY\x02\x00\x10")
    out(t, "header-past-end", b"\x93NUMPY\x01\x00\xff\x00{}")
    out(t, "structured", npy_bytes("", [1], b"\x00" * 8, header="{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,)}"))
    out(t, "complex", npy_bytes("<c8", [1], b"\x00" * 8))
    out(t, "object", npy_bytes("|O", [1], b"\x00" * 8))
    out(t, "string", npy_bytes("<U3", [1], b"\x00" * 12))
    out(t, "empty-tensor", npy_bytes("<f4", [0], b""))
    out(t, "trailing", npy_bytes("<f4", [1], b"\x00" * 5))
    out(t, "truncated-data", npy_bytes("<f8", [2], b"\x00" * 9))
    out(t, "overflow-shape", npy_bytes("<f8", [1 << 62, 4], b""))
    out(t, "huge-dim", npy_bytes("<f8", [], b"", header="{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,)}"))
    out(t, "negative-dim", npy_bytes("<f4", [], b"", header="{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}"))
    out(t, "no-shape", npy_bytes("<f4", [], b"\x00" * 4, header="{'descr': '<f4', 'fortran_order': False}"))
    out(t, "deep", npy_bytes("<f4", [], b"", header="{'x': " + "(" * 40 + ")" * 40 + "}"))
    out(t, "v3-bad-utf8", npy_bytes("<f4", [1], b"\x00" * 4, version=(3, 0)).replace(b"descr", b"d\xffscr", 1))


# ---------------------------------------------------------------- npz


def npz_bytes(members, compress=False, force_zip64=False):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in members:
            with z.open(zipfile.ZipInfo(name) if not compress else z_info(name), "w", force_zip64=force_zip64) as f:
                f.write(data)
    return buf.getvalue()


def z_info(name):
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def npz():
    t = "npz"
    for rel in ["readers/npz/stored.npz", "readers/npz/deflated.npz", "readers/tree/c.npz"]:
        out(t, rel.replace("/", "_"), fixture(rel))
    a = npy_bytes("<f4", [2], struct.pack("<2f", 1.0, -1.0))
    b = npy_bytes("|u1", [3], b"\x01\x02\x03")
    zeros = npy_bytes("<f4", [256], b"\x00" * 1024)
    # accepted
    out(t, "two-stored", npz_bytes([("a.npy", a), ("b.npy", b)]))
    out(t, "deflated-zeros", npz_bytes([("z.npy", zeros)], compress=True))
    out(t, "zip64", npz_bytes([("a.npy", a)], force_zip64=True))
    out(t, "zip64-deflated", npz_bytes([("a.npy", a), ("z.npy", zeros)], compress=True, force_zip64=True))
    with_comment = bytearray(npz_bytes([("a.npy", a)]))
    with_comment[-2:] = struct.pack("<H", 5)
    out(t, "comment", bytes(with_comment) + b"hello")
    # rejected
    out(t, "empty", b"")
    out(t, "empty-archive", npz_bytes([]))
    out(t, "not-npy-member", npz_bytes([("a.txt", b"hello")]))
    out(t, "bare-npy-name", npz_bytes([(".npy", a)]))
    out(t, "duplicate", npz_bytes([("a.npy", a), ("a.npy", a)]))
    out(t, "bad-member", npz_bytes([("a.npy", b"\x93NUMPY\x01\x00")]))
    stored = bytearray(npz_bytes([("a.npy", a)]))
    crc_at = stored.rfind(b"PK\x01\x02") + 16
    stored[crc_at] ^= 0xFF
    out(t, "crc-mismatch", bytes(stored))
    enc = bytearray(npz_bytes([("a.npy", a)]))
    cd = enc.rfind(b"PK\x01\x02")
    enc[cd + 8] |= 1
    out(t, "encrypted", bytes(enc))
    method = bytearray(npz_bytes([("a.npy", a)]))
    method[cd + 10] = 12
    out(t, "bzip2-method", bytes(method))
    out(t, "truncated", npz_bytes([("a.npy", a)])[:-30])
    deflated = bytearray(npz_bytes([("z.npy", zeros)], compress=True))
    cdd = deflated.rfind(b"PK\x01\x02")
    deflated[cdd + 24:cdd + 28] = struct.pack("<I", 10 ** 9)  # declared uncompressed size: a bomb
    out(t, "bomb-ratio", bytes(deflated))
    out(t, "eocd-only-garbage", b"garbage" + b"PK\x05\x06" + b"\x00" * 18)


# ---------------------------------------------------------------- stdin frames


def stdin_frames():
    t = "stdin-frames"
    one = st([("x", "F32", [2], struct.pack("<2f", 1.0, 2.0))])
    two = st([("y", "F16", [1], b"\x00\x3c"), ("z", "U8", [3], b"\x01\x02\x03")], metadata={"batch": "1"})
    seed = fixture("golden/cases/aimet_seed4x4_asym_signed_8/batches/000.safetensors")
    # accepted (the stream ends between frames; an empty stream has no frame)
    out(t, "empty", b"")
    out(t, "one-frame", one)
    out(t, "three-frames", one + two + seed)
    out(t, "golden-frames", fixture("golden/cases/aimet_multibatch_asym_signed_8/batches/000.safetensors")
        + fixture("golden/cases/aimet_multibatch_asym_signed_8/batches/001.safetensors"))
    # rejected
    out(t, "partial-length", one + b"\x10\x00")
    out(t, "partial-header", one + two[:20])
    out(t, "partial-data", one + two[:-1])
    out(t, "garbage", b"not safetensors at all")
    out(t, "no-tensors", st_file({}))
    out(t, "overlap-second", one + st_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                            "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}, b"\x00" * 6))


# ---------------------------------------------------------------- aimet


def aimet():
    t = "aimet"
    for case in ["aimet_seed4x4_asym_signed_8", "aimet_perchannel_sym_signed_8", "aimet_multibatch_asym_unsigned_4",
                 "aimet_multibatch_sym_unsigned_16"]:
        for v in ["0.6.1", "1.0.0", "2.0.0"]:
            out(t, f"{case}-{v}.encodings", fixture(f"formats/aimet/{case}/{v}.encodings"))
    for name in sorted(os.listdir(os.path.join(FIX, "golden", "aimet-exports"))):
        out(t, "golden-" + name, fixture("golden/aimet-exports/" + name))
    # accepted
    out(t, "v2-per-channel", json.dumps({"version": "2.0.0", "encodings": [
        {"name": "conv.weight", "output_dtype": "int8", "y_scale": [0.1, 0.2], "axis": 0},
        {"name": "fc.bias", "output_dtype": "int32", "y_scale": 0.001},
        {"name": "act", "output_dtype": "uint16", "y_scale": [0.5, 0.25], "y_zero_point": [3, 4], "axis": 1}]}))
    out(t, "v2-negative-axis", json.dumps({"version": "2.0.0", "encodings": [
        {"name": "conv.weight", "output_dtype": "int8", "y_scale": [0.1, 0.2, 0.3], "axis": -1}]}))
    out(t, "v1-scalars", json.dumps({"version": "1.0.0", "activation_encodings": [
        {"name": "a", "dtype": "INT", "bw": 1, "is_sym": False, "scale": 1e-30, "offset": 0}],
        "param_encodings": [{"name": "w", "bw": 32, "is_sym": True, "scale": [3e38], "offset": [-2147483648]}]}))
    out(t, "v061-channels", json.dumps({"activation_encodings": {"x": [
        {"bitwidth": 8, "is_symmetric": "True", "scale": 0.1, "offset": -128, "min": 0, "max": 0},
        {"bitwidth": 8, "is_symmetric": "True", "scale": 0.2, "offset": -128}]}, "param_encodings": None}))
    out(t, "quantizer-args", json.dumps({"version": "0.6.1", "activation_encodings": {}, "param_encodings": {},
                                         "quantizer_args": {"activation_bitwidth": 4, "is_symmetric": True}}))
    out(t, "bom-and-escapes", b"\xef\xbb\xbf" + json.dumps({"encodings": [
        {"name": "a\u00e9\ud83d\ude00\n", "output_dtype": "uint8", "y_scale": 1}]}).encode())
    # rejected
    out(t, "empty", b"")
    out(t, "not-object", "[]")
    out(t, "bad-version", json.dumps({"version": "3.0.0", "encodings": []}))
    out(t, "no-sections", json.dumps({"version": "1.0.0"}))
    out(t, "lpbq", json.dumps({"encodings": [{"name": "w", "output_dtype": "int4", "y_scale": [1.0],
                                              "block_size": 64, "per_block_int_scale": [1]}]}))
    out(t, "float-dtype", json.dumps({"activation_encodings": [{"name": "a", "dtype": "FLOAT", "bw": 16}]}))
    out(t, "bad-bitwidth", json.dumps({"activation_encodings": [{"name": "a", "bw": 33, "scale": [1], "offset": [0]}]}))
    out(t, "negative-scale", json.dumps({"encodings": [{"name": "a", "output_dtype": "uint8", "y_scale": -1}]}))
    out(t, "huge-offset", json.dumps({"activation_encodings": [{"name": "a", "bw": 8, "scale": [1], "offset": [1 << 50]}]}))
    out(t, "channels-disagree", json.dumps({"activation_encodings": {"x": [
        {"bitwidth": 8, "scale": 0.1, "offset": 0}, {"bitwidth": 4, "scale": 0.2, "offset": 0}]}}))
    out(t, "duplicate", json.dumps({"encodings": [{"name": "a", "output_dtype": "uint8", "y_scale": 1},
                                                  {"name": "a", "output_dtype": "uint8", "y_scale": 1}]}))
    out(t, "zero-points-mismatch", json.dumps({"encodings": [{"name": "a", "output_dtype": "uint8", "y_scale": [1, 2],
                                                              "y_zero_point": [1], "axis": 0}]}))
    out(t, "trailing-comma", '{"encodings": [],}')
    out(t, "deep", "[" * 600 + "]" * 600)


# ---------------------------------------------------------------- onnxruntime


def tensor_data(lo, hi, cls=True):
    def arr(v):
        return {"data": v if isinstance(v, list) else [v], "dtype": "float32", "CLS": "numpy.array"}
    d = {"lowest": arr(lo), "highest": arr(hi)}
    if cls:
        d["CLS"] = "TensorData"
    return d


def onnxruntime_json():
    t = "onnxruntime-json"
    out(t, "calibration.json", fixture("formats/onnxruntime/calibration.json"))
    out(t, "quantize_static_cache.json", fixture("formats/onnxruntime/quantize_static_cache.json"))
    # accepted
    out(t, "bare-tensors", json.dumps({"a": tensor_data(-1.0, 2.0, cls=False), "b": tensor_data(0.0, 0.5)}))
    out(t, "pairs", json.dumps({"a": [-1, 1], "b": [0.0, 3.5], "c": [{"data": 1.0}, {"data": [2.0]}]}))
    out(t, "non-finite", '{"a": [NaN, Infinity], "b": [-Infinity, 1e39], "c": [-0.0, 0.0]}')
    out(t, "per-channel", json.dumps({"CLS": "TensorsData", "data": {"w": tensor_data([-1.0, -2.0, 0.0], [1.0, 2.0, 3.0])}}))
    out(t, "extra-members", json.dumps({"CLS": "TensorsData", "data": {"a": dict(tensor_data(-1.0, 1.0), hist=[1, 2], bins=[0, 1])},
                                        "calibration_method": {"CLS": "CalibrationMethod", "value": "CalibrationMethod.Entropy"}}))
    out(t, "empty-object", "{}")
    # rejected
    out(t, "empty", b"")
    out(t, "wrong-cls", json.dumps({"CLS": "Other", "data": {}}))
    out(t, "data-not-object", json.dumps({"CLS": "TensorsData", "data": []}))
    out(t, "count-mismatch", json.dumps({"a": tensor_data([0.0, 1.0], [1.0])}))
    out(t, "no-range", json.dumps({"a": {"CLS": "TensorData"}}))
    out(t, "bad-pair", json.dumps({"a": [1]}))
    out(t, "duplicate", '{"a": [0, 1], "a": [0, 2]}')
    out(t, "string-value", json.dumps({"a": "x"}))
    out(t, "nan-lowercase", '{"a": [nan, 1]}')


class FB:
    """A tiny back-to-front FlatBuffers writer for TrtTable { dict: [KeyValue { key: string; value: string }] }."""

    def __init__(self):
        self.buf = bytearray()

    def off(self):
        return len(self.buf)

    def align(self, n, extra=0):
        while (len(self.buf) + extra) % n:
            self.buf[0:0] = b"\x00"

    def prepend(self, b):
        self.buf[0:0] = b

    def string(self, s):
        data = s.encode() + b"\x00"
        self.align(4, len(data))
        self.prepend(data)
        self.prepend(struct.pack("<I", len(data) - 1))
        return self.off()

    def uoffset(self, target):
        self.align(4)
        self.prepend(struct.pack("<I", self.off() + 4 - target))
        return self.off()

    def table(self, fields):
        """fields: list of target offsets (0 = absent), field i at vtable slot i."""
        self.align(4)
        start = self.off()
        slots = []
        for target in reversed(fields):
            if target:
                slots.append(self.uoffset(target))
            else:
                slots.append(0)
        slots.reverse()
        self.prepend(b"\x00\x00\x00\x00")  # soffset to the vtable, patched below
        obj = self.off()
        vt = [4 + 2 * len(fields), obj - start] + [(obj - s) if s else 0 for s in slots]
        vt_bytes = b"".join(struct.pack("<H", v) for v in vt)
        self.prepend(vt_bytes)
        vtable = self.off()
        # soffset: vtable position = table position - soffset (the vtable lies before the table)
        pos = len(self.buf) - obj
        self.buf[pos:pos + 4] = struct.pack("<i", vtable - obj)
        return obj

    def vector(self, targets):
        self.align(4, 4 * len(targets))
        for target in reversed(targets):
            self.uoffset(target)
        self.prepend(struct.pack("<I", len(targets)))
        return self.off()

    def finish(self, root):
        self.align(8, 4)
        self.uoffset(root)
        return bytes(self.buf)


def trt_table(pairs):
    fb = FB()
    kvs = []
    for k, v in pairs:
        key = fb.string(k)
        value = fb.string(v)
        kvs.append(fb.table([key, value]))
    vec = fb.vector(kvs)
    return fb.finish(fb.table([vec]))


def onnxruntime_flatbuffers():
    t = "onnxruntime-flatbuffers"
    out(t, "calibration.flatbuffers", fixture("formats/onnxruntime/calibration.flatbuffers"))
    # accepted
    out(t, "made", trt_table([("b", "2.5"), ("a", "-1e-05"), ("\u00e9 x", "nan")]))
    out(t, "one", trt_table([("input", "1.237657904624939")]))
    fb = FB()
    out(t, "no-dict", fb.finish(fb.table([0])))
    out(t, "empty-dict", trt_table([]))
    # rejected
    out(t, "empty", b"")
    out(t, "short", b"\x04\x00\x00\x00")
    out(t, "not-a-number", trt_table([("a", "abc")]))
    out(t, "duplicate", trt_table([("a", "1"), ("a", "2")]))
    out(t, "root-past-end", struct.pack("<I", 4096) + b"\x00" * 8)
    out(t, "truncated", trt_table([("input", "1.5")])[:-6])
    fb = FB()
    key = fb.string("k")
    kv = fb.table([key, 0])
    out(t, "no-value", fb.finish(fb.table([fb.vector([kv])])))


def onnxruntime_cache():
    t = "onnxruntime-cache"
    out(t, "calibration.cache", fixture("formats/onnxruntime/calibration.cache"))
    # accepted
    out(t, "spaces-in-names", "a b c 1.5\n\n  \nlast 0\n")
    out(t, "specials", "nan_t nan\ninf_t inf\nneg -inf\nhex 0x1p-3\nbig 1e39\nneg0 -0.0\n")
    out(t, "no-final-newline", "x 3")
    out(t, "empty", b"")
    # rejected
    out(t, "crlf", "a 1.5\r\nb 2\r\n")
    out(t, "no-value", "lonely\n")
    out(t, "leading-space", " 1.0\n")
    out(t, "not-a-number", "a one\n")
    out(t, "duplicate", "a 1\na 2\n")
    out(t, "not-utf8", b"a\xff 1\n")


def tensorrt():
    t = "tensorrt"
    # accepted
    out(t, "cache", "TRT-100300-MinMaxCalibration\ninput: 3c010204\nconv1/output: 3d4ccccd\n")
    out(t, "names-with-colons", "TRT-8601-EntropyCalibration2\nname: with colon: 3c010204\n\n \t\nzero: 00000000\n")
    out(t, "header-only", "TRT-8601-X\n")
    out(t, "no-final-newline", "TRT-1-A-B-C\na: 7f7fffff")
    out(t, "subnormal-and-upper-hex", "TRT-8601-X\na: 00000001\nb: 3C010204\n")
    out(t, "crlf", "TRT-100300-MinMaxCalibration\r\ninput: 3c010204\r\nconv1/output: 3d4ccccd\r\n")
    # rejected
    out(t, "empty", b"")
    out(t, "blank-first-line", "\nTRT-8601-X\n")
    out(t, "bad-header", "TRT-abc-MinMax\n")
    out(t, "no-colon", "TRT-8601-X\ninput 3c010204\n")
    out(t, "short-hex", "TRT-8601-X\ninput: 3c01020\n")
    out(t, "nan", "TRT-8601-X\ninput: 7fc00000\n")
    out(t, "negative", "TRT-8601-X\ninput: bf800000\n")
    out(t, "duplicate", "TRT-8601-X\na: 3c010204\na: 3c010204\n")
    out(t, "not-utf8", b"TRT-8601-X\n\xff: 3c010204\n")


def config():
    t = "config"
    # accepted
    out(t, "readme", json.dumps({"tensors": {
        "*.weight": {"role": "param", "bitwidth": 4},
        "encoder.*.intermediate.gelu": {"per_channel_axis": -1, "symmetric": True},
        "classifier.*": {"per_channel_axis": None, "convention": "pytorch"}}}, indent=2))
    out(t, "interop", '{"tensors": {"layer*": {"bitwidth": 4}, "layer2.*": {"bitwidth": 16, "symmetric": true}}}')
    out(t, "bare-map", json.dumps({"a": {"observer": "ema", "averaging_constant": 0.5}, "b": {"convention": "tensorrt"},
                                   "c": {"signed": False, "reduce_range": True, "averaging_constant": 1}, "[x]?\\*": {}}))
    out(t, "every-key", json.dumps({"t": {"role": "activation", "observer": "minmax", "averaging_constant": 0.01,
                                          "per_channel_axis": 2, "convention": "aimet-legacy", "bitwidth": 16,
                                          "symmetric": False, "signed": True, "reduce_range": False}}))
    out(t, "empty", "{}")
    # rejected
    out(t, "not-object", "[1, 2]")
    out(t, "not-json", "tensors: {}")
    out(t, "empty-file", b"")
    out(t, "bad-role", json.dumps({"a": {"role": "weight"}}))
    out(t, "unknown-key", json.dumps({"a": {"colour": "red"}}))
    out(t, "wrong-type", json.dumps({"a": {"bitwidth": "8"}}))
    out(t, "settings-not-object", json.dumps({"tensors": {"a": 8}}))
    out(t, "float-axis", json.dumps({"a": {"per_channel_axis": 1.5}}))
    out(t, "bad-convention", json.dumps({"a": {"convention": "tflite"}}))


if __name__ == "__main__":
    clean()
    for make in [safetensors, npy, npz, stdin_frames, aimet, onnxruntime_json, onnxruntime_flatbuffers,
                 onnxruntime_cache, tensorrt, config]:
        make()
    total = 0
    for target in sorted(os.listdir(os.path.join(FUZZ, "corpus"))):
        d = os.path.join(FUZZ, "corpus", target)
        files = os.listdir(d)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in files)
        total += size
        print(f"{target:26} {len(files):4} files {size:8} bytes")
    print(f"{'total':26} {total:18} bytes")
