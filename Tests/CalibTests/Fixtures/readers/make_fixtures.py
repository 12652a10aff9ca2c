#!/usr/bin/env python3
"""Writes the reader fixtures next to this script, and expected.json with what each must decode to.

Run it again only to change the fixtures: the tests read the committed files and never need Python.
numpy writes the .npy/.npz files; safetensors files are written by hand (struct + json), so the
safetensors package is not needed.

expected.json maps each batch source (relative path) to
  {"sha256": hex, "xxh3_128": hex, "bytes": n, "tensors": {name: {"dtype", "shape", "byte_order", "fortran", "values"}}}
with values as float32 numbers in logical C order; the two hashes are the batch's identity under each
ContentHashAlgorithm (xxh3_128 as `xxh128sum` prints it). Needs numpy and xxhash (pip install numpy xxhash).
"""
import hashlib
import json
import os
import shutil
import struct

import numpy as np
import xxhash

ROOT = os.path.dirname(os.path.abspath(__file__))
expected = {}


def path(rel):
    p = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def describe(arr, dtype, byte_order="little"):
    return {
        "dtype": dtype,
        "shape": list(arr.shape),
        "byte_order": byte_order,
        "fortran": bool(arr.flags.f_contiguous and not arr.flags.c_contiguous),
        "values": [float(v) for v in np.asarray(arr, dtype=np.float32).flatten(order="C")],
    }


def file_entry(rel, tensors):
    data = open(path(rel), "rb").read()
    expected[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "xxh3_128": xxhash.xxh3_128_hexdigest(data),
                     "bytes": len(data), "tensors": tensors}


DTYPE_NAMES = {"f2": "F16", "f4": "F32", "f8": "F64", "i1": "I8", "i2": "I16", "i4": "I32", "i8": "I64",
               "u1": "U8", "u2": "U16", "u4": "U32", "u8": "U64", "b1": "BOOL"}


def npy_dtype(arr):
    return DTYPE_NAMES[arr.dtype.str[1:]]


def npy_order(arr):
    return "big" if arr.dtype.str[0] == ">" else "little"


def save_npy(rel, arr, version=None):
    with open(path(rel), "wb") as f:
        if version is None:
            np.save(f, arr)
        else:
            np.lib.format.write_array(f, arr, version=version)
    return describe(arr, npy_dtype(arr), npy_order(arr))


def write_safetensors(rel, tensors, metadata=None):
    """tensors: list of (name, dtype name, shape, raw little-endian bytes)."""
    header, offset, blobs = {}, 0, []
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    with open(path(rel), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def bf16(values):
    """bfloat16 bytes of values that bfloat16 represents exactly (the high half of each float32)."""
    bits = np.asarray(values, dtype="<f4").view("<u4")
    assert not (bits & 0xFFFF).any(), "value not exact in bfloat16"
    return (bits >> 16).astype("<u2").tobytes()


for sub in ["npy", "npz", "safetensors", "tree"]:
    shutil.rmtree(os.path.join(ROOT, sub), ignore_errors=True)

# --- single .npy files: one directory holding only .npy files, so it is also one directory batch.
base = (np.arange(12, dtype="<f4").reshape(3, 4) - 5.5) * 0.25
npy = {
    "v1": save_npy("npy/v1.npy", base, version=(1, 0)),
    "v2": save_npy("npy/v2.npy", base + 1, version=(2, 0)),
    "v3": save_npy("npy/v3.npy", base + 2, version=(3, 0)),
    "be_f4": save_npy("npy/be_f4.npy", (base * 3).astype(">f4")),
    "be_f8": save_npy("npy/be_f8.npy", np.array([1.0 / 3, -2.5e-3, 1e10], dtype=">f8")),
    "fortran": save_npy("npy/fortran.npy", np.asfortranarray(np.arange(24, dtype="<f4").reshape(2, 3, 4) * 0.5)),
    "f2": save_npy("npy/f2.npy", np.array([[0.5, -1.25], [65504.0, 6.1035156e-05]], dtype="<f2")),
    "i4": save_npy("npy/i4.npy", np.array([-7, 0, 123456, -2147483648], dtype="<i4")),
    "u1": save_npy("npy/u1.npy", np.array([[0, 1, 2], [128, 254, 255]], dtype="|u1")),
    "i8": save_npy("npy/i8.npy", np.array([-(2**40), 3, 2**53], dtype="<i8")),
    "b1": save_npy("npy/b1.npy", np.array([True, False, True], dtype="|b1")),
    "scalar": save_npy("npy/scalar.npy", np.array(3.25, dtype="<f4")),
}
for name, t in npy.items():
    file_entry(f"npy/{name}.npy", {name: t})

# The npy/ directory as one batch: tensors in byte-wise file name order; hash over name, 0,
# 8-byte little-endian length, bytes for each file.
h, x, total, tensors = hashlib.sha256(), xxhash.xxh3_128(), 0, {}
for fname in sorted(os.listdir(os.path.join(ROOT, "npy")), key=lambda s: s.encode()):
    data = open(path("npy/" + fname), "rb").read()
    for hasher in (h, x):
        hasher.update(fname.encode() + b"\0" + struct.pack("<Q", len(data)) + data)
    total += len(data)
    tensors[fname[:-4]] = npy[fname[:-4]]
expected["npy"] = {"sha256": h.hexdigest(), "xxh3_128": x.hexdigest(), "bytes": total, "tensors": tensors,
                   "order": list(tensors)}

# --- npz: stored (np.savez) and deflated (np.savez_compressed), same arrays.
members = {
    "weights": np.linspace(-1, 1, 10, dtype="<f4").reshape(2, 5),
    "counts": np.array([1, -2, 3], dtype="<i8"),
    "half": np.array([0.25, 2.0], dtype="<f2"),
    "zeros": np.zeros(64, dtype="<f4"),
}
np.savez(path("npz/stored.npz"), **members)
np.savez_compressed(path("npz/deflated.npz"), **members)
member_tensors = {k: describe(v, npy_dtype(v)) for k, v in members.items()}
file_entry("npz/stored.npz", member_tensors)
file_entry("npz/deflated.npz", member_tensors)

# --- safetensors with five dtypes and metadata.
f32 = np.array([[1.5, -2.0, 0.1], [3.0, 4.25, -1e-3]], dtype="<f4")
f16 = np.array([0.5, -3.0, 1024.0, 0.099975586], dtype="<f2")
bfv = [1.5, -2.25, 0.15625, 300.0]
f64 = np.array([2.0 ** -30, -7.75, 1e6], dtype="<f8")
i32 = np.array([[-5, 6], [70000, -1]], dtype="<i4")
write_safetensors(
    "safetensors/mixed.safetensors",
    [("layer.f32", "F32", f32.shape, f32.tobytes()),
     ("layer.f16", "F16", f16.shape, f16.tobytes()),
     ("layer.bf16", "BF16", (2, 2), bf16(bfv)),
     ("layer.f64", "F64", f64.shape, f64.tobytes()),
     ("layer.i32", "I32", i32.shape, i32.tobytes())],
    metadata={"format": "pt"},
)
file_entry("safetensors/mixed.safetensors", {
    "layer.f32": describe(f32, "F32"),
    "layer.f16": describe(f16, "F16"),
    "layer.bf16": describe(np.array(bfv, dtype="<f4").reshape(2, 2), "BF16"),
    "layer.f64": describe(f64, "F64"),
    "layer.i32": describe(i32, "I32"),
})

# --- a tree to expand: batch files and subdirectories in byte-wise order; hidden and other files skipped.
one = np.array([1.0, 2.0], dtype="<f4")
write_safetensors("tree/a.safetensors", [("t", "F32", one.shape, one.tobytes())])
np.save(path("tree/b/x.npy"), one)
np.save(path("tree/b/y.npy"), one * 2)
np.savez(path("tree/c.npz"), m=one * 3)
np.save(path("tree/d/e.npy"), one * 4)
write_safetensors("tree/d/f/g.safetensors", [("t", "F32", one.shape, (one * 5).tobytes())])
np.save(path("tree/.hidden.npy"), one)
np.save(path("tree/.cache/z.npy"), one)
with open(path("tree/notes.txt"), "w") as f:
    f.write("not a batch\n")
expected["tree"] = {"order": ["tree/a.safetensors", "tree/b", "tree/c.npz", "tree/d/e.npy", "tree/d/f/g.safetensors"]}

# One line per batch source keeps the file small and its diffs readable.
with open(os.path.join(ROOT, "expected.json"), "w") as f:
    lines = [f"{json.dumps(k)}: {json.dumps(expected[k], sort_keys=True)}" for k in sorted(expected)]
    f.write("{\n" + ",\n".join(lines) + "\n}\n")
