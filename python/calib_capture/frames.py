"""Safetensors frames: one calibration batch as bytes that ``calib run -`` reads.

A frame is the safetensors layout: an 8-byte little-endian header length ``N``, ``N`` bytes of
JSON header ``{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}``
(plus an optional ``"__metadata__"`` object of strings), then the tensors' little-endian, C-order
bytes. ``calib run -`` reads concatenated frames on its standard input, one batch per frame
(``stdin#0``, ``stdin#1``, ...).

calib keeps the header's key order as the session's tensor order ("model order"), so this module
writes the tensors in exactly the order it is given them. (The ``safetensors`` package sorts the
keys; do not use it to write frames for calib.)

Values may be numpy arrays (or anything ``numpy.asarray`` accepts) and torch tensors, which are
converted with ``.detach().cpu()``; torch itself is never imported here.

Example::

    import sys
    import numpy as np
    from calib_capture.frames import write_frame

    for batch in loader:                       # python dump.py | calib run --session s -
        write_frame(sys.stdout.buffer, {"conv1.input.0": batch, "conv1.output.0": conv1(batch)})
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, BinaryIO, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

__all__ = [
    "DTYPES",
    "FrameError",
    "FrameWriter",
    "RawTensor",
    "Tensors",
    "encode_frame",
    "frame_parts",
    "to_numpy",
    "write_file",
    "write_frame",
]

#: numpy dtype (native or little-endian) -> safetensors dtype string that calib reads.
DTYPES: Dict[str, str] = {
    "float16": "F16",
    "float32": "F32",
    "float64": "F64",
    "int8": "I8",
    "uint8": "U8",
    "int16": "I16",
    "uint16": "U16",
    "int32": "I32",
    "uint32": "U32",
    "int64": "I64",
    "uint64": "U64",
    "bool": "BOOL",
}

#: What a batch may be: a mapping of names to arrays, or (name, array) pairs in order.
Tensors = Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]

_SUPPORTED = "float16, bfloat16, float32, float64, int8/16/32/64, uint8/16/32/64 and bool"


class FrameError(ValueError):
    """A tensor or name that cannot go into a frame; the message says which and what to do."""


_SIZES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8, "I8": 1, "U8": 1, "I16": 2, "U16": 2,
          "I32": 4, "U32": 4, "I64": 8, "U64": 8, "BOOL": 1}


class RawTensor:
    """Bytes already in a safetensors dtype: ``RawTensor(bits, "BF16")`` for bfloat16 held as uint16.

    ``data`` is a numpy array whose element size is the dtype's (``uint16`` bit patterns for
    ``BF16``/``F16``, for example); it is written as is, in native little-endian order, with
    ``data``'s shape.
    """

    def __init__(self, data: Any, dtype: str) -> None:
        if dtype not in _SIZES:
            raise FrameError(f"unknown safetensors dtype {dtype!r}: calib reads {', '.join(_SIZES)}")
        array = np.asarray(data)
        if array.dtype.itemsize != _SIZES[dtype] or array.dtype.kind not in "biuf":
            raise FrameError(
                f"RawTensor of {dtype} needs {_SIZES[dtype]}-byte integer or float elements, got {array.dtype}"
            )
        self.data = array
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"RawTensor(shape={list(self.data.shape)}, dtype={self.dtype!r})"


def _is_torch_tensor(value: Any) -> bool:
    module = type(value).__module__ or ""
    return (module == "torch" or module.startswith("torch.")) and hasattr(value, "detach")


def _torch_to_numpy(name: str, tensor: Any) -> Tuple[np.ndarray, str]:
    import torch  # only reached with a torch tensor in hand, so torch is installed

    t = tensor.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.is_quantized:
        raise FrameError(
            f"tensor {name!r} is a quantized torch tensor ({t.dtype}): pass .dequantize() (or .int_repr()) instead"
        )
    if t.is_complex():
        raise FrameError(f"tensor {name!r} is complex ({t.dtype}): calib reads real tensors; pass .real / .imag / .abs()")
    t = t.cpu().contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: ship the raw 16-bit patterns and label them BF16.
        return t.view(torch.int16).numpy().view(np.uint16), "BF16"
    try:
        array = t.numpy()
    except (TypeError, RuntimeError) as error:
        raise FrameError(
            f"tensor {name!r} has torch dtype {t.dtype}, which calib does not read ({_SUPPORTED}): "
            f"convert it first, e.g. tensor.float() ({error})"
        ) from None
    return array, ""


def to_numpy(name: str, value: Any, copy: bool = False) -> Tuple[np.ndarray, str]:
    """Return ``(array, dtype)``: a little-endian, C-contiguous numpy array and its safetensors dtype.

    ``value`` may be a numpy array, a torch tensor (``.detach().cpu()``; bfloat16 becomes BF16), a
    numpy ``bfloat16`` array (ml_dtypes), or anything ``numpy.asarray`` takes (lists, scalars).
    With ``copy=True`` the result never shares memory with ``value`` (use it when the tensor may be
    modified in place before it is written, as a hook's tensors are).
    Raises :class:`FrameError` for a dtype calib cannot read or an empty tensor.
    """
    _check_name(name)
    if isinstance(value, RawTensor):
        array, dtype = value.data, value.dtype
    elif _is_torch_tensor(value):
        array, dtype = _torch_to_numpy(name, value)
    else:
        array = np.asarray(value)
        dtype = ""
    if not dtype:
        if array.dtype.name == "bfloat16":  # ml_dtypes.bfloat16 (as jax and tensorflow make them)
            array, dtype = array.view(np.uint16), "BF16"
        elif array.dtype.names is None and array.dtype.kind in "biuf":
            dtype = DTYPES.get(array.dtype.name, "")
        if not dtype:
            raise FrameError(
                f"tensor {name!r} has dtype {array.dtype}, which calib does not read ({_SUPPORTED}): "
                "convert it with .astype(numpy.float32)"
            )
    if array.size == 0:
        raise FrameError(
            f"tensor {name!r} is empty (shape {list(array.shape)}): calib refuses tensors with no elements; leave it out of the batch"
        )
    little = array.dtype.newbyteorder("<")
    if array.dtype != little:
        array = array.astype(little)
    elif copy or not array.flags.c_contiguous:
        array = np.array(array, order="C", copy=True)
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    return array, dtype


def _check_name(name: Any) -> None:
    if not isinstance(name, str):
        raise FrameError(f"tensor names must be str, got {type(name).__name__} {name!r}: use str(name)")
    if not name:
        raise FrameError("a tensor name is empty: give every tensor a non-empty name")
    if "\0" in name:
        raise FrameError(f"tensor name {name!r} contains a NUL character: remove it")
    if name == "__metadata__":
        raise FrameError("'__metadata__' is reserved by safetensors: rename the tensor, or pass metadata=")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise FrameError(f"tensor name {name!r} is not valid Unicode (lone surrogate): fix the name") from None


def _items(tensors: Tensors) -> List[Tuple[str, Any]]:
    if isinstance(tensors, Mapping):
        items = list(tensors.items())
    else:
        try:
            items = [tuple(item) for item in tensors]  # type: ignore[arg-type]
        except TypeError:
            raise FrameError(
                f"a batch must be a mapping of names to tensors or (name, tensor) pairs, got {type(tensors).__name__}"
            ) from None
        if any(len(item) != 2 for item in items):
            raise FrameError("a batch given as pairs must hold (name, tensor) pairs")
    if not items:
        raise FrameError("a batch holds no tensors: calib refuses an empty frame; send at least one tensor")
    seen = set()
    for name, _ in items:
        _check_name(name)
        if name in seen:
            raise FrameError(f"tensor {name!r} appears twice in one batch: give each tensor its own name")
        seen.add(name)
    return items


def _check_metadata(metadata: Optional[Mapping[str, str]]) -> Optional[Dict[str, str]]:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise FrameError(f"metadata must be a mapping of str to str, got {type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise FrameError(f"metadata must map str to str (safetensors' rule), got {key!r}: {value!r}; use str(value)")
    return dict(metadata)


def frame_parts(tensors: Tensors, metadata: Optional[Mapping[str, str]] = None, copy: bool = False) -> List[Any]:
    """The pieces of one frame, in order: the length prefix and header as bytes, then each array.

    Writing each piece in turn (``stream.write(memoryview(part))``) writes the frame without
    joining large tensors into one buffer.
    """
    items = _items(tensors)
    meta = _check_metadata(metadata)
    header: Dict[str, Any] = {}
    if meta is not None:
        header["__metadata__"] = meta
    arrays = []
    offset = 0
    for name, value in items:
        array, dtype = to_numpy(name, value, copy=copy)
        end = offset + array.nbytes
        header[name] = {"dtype": dtype, "shape": [int(d) for d in array.shape], "data_offsets": [offset, end]}
        arrays.append(array)
        offset = end
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # Pad the header with spaces so the data starts 8-byte aligned, as the safetensors package does.
    text += b" " * (-(8 + len(text)) % 8)
    return [struct.pack("<Q", len(text)) + text] + arrays


def encode_frame(tensors: Tensors, metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """One batch as the bytes of one safetensors frame, tensors in the order given."""
    return b"".join(part if isinstance(part, bytes) else part.tobytes() for part in frame_parts(tensors, metadata))


def _write_parts(stream: BinaryIO, parts: List[Any]) -> int:
    total = 0
    for part in parts:
        view = memoryview(part if isinstance(part, bytes) else part.reshape(-1).view(np.uint8))
        while view:
            written = stream.write(view)
            if written is None:  # a non-blocking raw stream that took nothing
                raise BlockingIOError("the stream accepted no bytes: write frames to a blocking stream")
            total += written
            view = view[written:]
    return total


def write_frame(stream: BinaryIO, tensors: Tensors, metadata: Optional[Mapping[str, str]] = None) -> int:
    """Write one batch to a binary stream as one safetensors frame; returns the bytes written.

    ``tensors`` maps names to arrays (or is a sequence of ``(name, array)`` pairs) and is written
    in its own order, which calib keeps as the tensors' model order. ``stream`` is any binary
    file object (``sys.stdout.buffer``, an open file, a pipe). Everything is validated before the
    first byte is written, so a bad tensor never leaves half a frame behind.
    """
    if isinstance(stream, (str, bytes, os.PathLike)):
        raise TypeError("write_frame takes an open binary stream; use write_file(path, tensors) for a path")
    return _write_parts(stream, frame_parts(tensors, metadata))


def write_file(path: Union[str, "os.PathLike[str]"], tensors: Tensors, metadata: Optional[Mapping[str, str]] = None) -> int:
    """Write one batch as a ``.safetensors`` file (one frame) that ``calib run PATH`` reads."""
    parts = frame_parts(tensors, metadata)
    with open(path, "wb") as stream:
        return _write_parts(stream, parts)


class FrameWriter:
    """Writes batches as frames to a binary stream: the same ``send`` as :class:`~calib_capture.run.CalibRun`.

    Use it to produce a stream for ``| calib run --session S -`` from a script, or to save
    batches to a file that ``calib run - < FILE`` reads later::

        writer = FrameWriter(sys.stdout.buffer)
        with calib_capture.torch.capture(model, run=writer):
            ...
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.frames = 0
        self.bytes = 0

    def send(self, tensors: Tensors, metadata: Optional[Mapping[str, str]] = None) -> None:
        """Write one batch as one frame."""
        self.bytes += write_frame(self.stream, tensors, metadata)
        self.frames += 1

    def flush(self) -> None:
        self.stream.flush()

    def __enter__(self) -> "FrameWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.flush()
