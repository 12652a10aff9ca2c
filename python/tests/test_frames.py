"""The frame encoder on its own (numpy only, no calib binary)."""

from __future__ import annotations

import io
import os
import struct
import unittest

import numpy as np

import _support  # noqa: F401  (puts the package on sys.path)
from _support import TempDir, read_frames
from calib_capture import frames
from calib_capture.frames import FrameError, FrameWriter, RawTensor, encode_frame, write_file, write_frame


class LayoutTests(unittest.TestCase):
    def test_header_layout_and_alignment(self) -> None:
        data = encode_frame({"b": np.arange(3, dtype=np.float32), "a": np.ones((2, 2), dtype=np.int8)})
        (n,) = struct.unpack_from("<Q", data)
        self.assertEqual((8 + n) % 8, 0, "data starts 8-byte aligned")
        [(header, body)] = read_frames(data)
        self.assertEqual(list(header), ["b", "a"], "keys in the order given, not sorted")
        self.assertEqual(header["b"], {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]})
        self.assertEqual(header["a"], {"dtype": "I8", "shape": [2, 2], "data_offsets": [12, 16]})
        self.assertEqual(body, np.arange(3, dtype="<f4").tobytes() + b"\x01" * 4)
        self.assertEqual(len(data), 8 + n + 16)

    def test_order_of_many_tensors_is_kept(self) -> None:
        names = [f"layer{i}.output.0" for i in (9, 3, 7, 1, 0, 8)]
        [(header, _)] = read_frames(encode_frame({n: np.zeros(1, np.float32) for n in names}))
        self.assertEqual(list(header), names)

    def test_pairs_are_accepted_in_order(self) -> None:
        [(header, _)] = read_frames(encode_frame([("z", [1.0]), ("y", [2.0])]))
        self.assertEqual(list(header), ["z", "y"])

    def test_metadata_goes_first(self) -> None:
        [(header, _)] = read_frames(encode_frame({"x": np.ones(2, np.float32)}, metadata={"source": "test"}))
        self.assertEqual(list(header), ["__metadata__", "x"])
        self.assertEqual(header["__metadata__"], {"source": "test"})

    def test_every_dtype_maps_to_its_safetensors_name(self) -> None:
        expected = {
            np.float16: "F16", np.float32: "F32", np.float64: "F64", np.int8: "I8", np.uint8: "U8",
            np.int16: "I16", np.uint16: "U16", np.int32: "I32", np.uint32: "U32", np.int64: "I64",
            np.uint64: "U64", np.bool_: "BOOL",
        }
        for numpy_type, name in expected.items():
            with self.subTest(dtype=numpy_type):
                array = np.arange(4).astype(numpy_type)
                [(header, body)] = read_frames(encode_frame({"t": array}))
                self.assertEqual(header["t"]["dtype"], name)
                self.assertEqual(body, array.astype(array.dtype.newbyteorder("<")).tobytes())

    def test_big_endian_and_fortran_order_become_little_endian_c_order(self) -> None:
        big = np.arange(6, dtype=">f4").reshape(2, 3)
        fortran = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3))
        [(header, body)] = read_frames(encode_frame({"big": big, "f": fortran}))
        self.assertEqual(header["big"]["dtype"], "F32")
        self.assertEqual(body[:24], np.arange(6, dtype="<f4").tobytes())
        self.assertEqual(body[24:], np.arange(6, dtype="<f8").tobytes())

    def test_strided_view_is_written_contiguously(self) -> None:
        base = np.arange(20, dtype=np.float32).reshape(4, 5)
        [(header, body)] = read_frames(encode_frame({"v": base[:, ::2]}))
        self.assertEqual(header["v"]["shape"], [4, 3])
        self.assertEqual(body, np.ascontiguousarray(base[:, ::2]).tobytes())

    def test_scalar_and_lists(self) -> None:
        [(header, body)] = read_frames(encode_frame({"s": np.float32(2.5), "l": [[1, 2], [3, 4]]}))
        self.assertEqual(header["s"]["shape"], [])
        self.assertEqual(header["l"]["dtype"], "I64")
        self.assertEqual(body[:4], np.float32(2.5).tobytes())

    def test_raw_bf16(self) -> None:
        bits = (np.array([1.0, -2.0], np.float32).view(np.uint32) >> 16).astype(np.uint16)
        [(header, body)] = read_frames(encode_frame({"b": RawTensor(bits, "BF16")}))
        self.assertEqual(header["b"], {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]})
        self.assertEqual(body, bits.tobytes())

    def test_ml_dtypes_bfloat16_if_installed(self) -> None:
        try:
            import ml_dtypes
        except ImportError:
            self.skipTest("ml_dtypes is not installed")
        array = np.array([1.0, 0.5], dtype=ml_dtypes.bfloat16)
        [(header, body)] = read_frames(encode_frame({"b": array}))
        self.assertEqual(header["b"]["dtype"], "BF16")
        self.assertEqual(body, array.view(np.uint16).tobytes())

    def test_unicode_names(self) -> None:
        [(header, _)] = read_frames(encode_frame({"état.sortie": np.ones(1, np.float32)}))
        self.assertEqual(list(header), ["état.sortie"])

    def test_copy_detaches_from_the_source(self) -> None:
        source = np.ones(3, np.float32)
        array, _ = frames.to_numpy("x", source, copy=True)
        source[:] = 5
        self.assertTrue((array == 1).all())


class ValidationTests(unittest.TestCase):
    def assertFrameError(self, tensors, *fragments: str, **kwargs) -> None:
        with self.assertRaises(FrameError) as caught:
            encode_frame(tensors, **kwargs)
        for fragment in fragments:
            self.assertIn(fragment, str(caught.exception))

    def test_names(self) -> None:
        self.assertFrameError({"": np.ones(1)}, "empty")
        self.assertFrameError({"a\0b": np.ones(1)}, "NUL")
        self.assertFrameError({3: np.ones(1)}, "must be str")
        self.assertFrameError({"__metadata__": np.ones(1)}, "reserved")
        self.assertFrameError([("a", np.ones(1)), ("a", np.ones(1))], "appears twice")

    def test_empty_batch_and_tensor(self) -> None:
        self.assertFrameError({}, "no tensors")
        self.assertFrameError({"e": np.zeros((0, 3), np.float32)}, "empty", "leave it out")

    def test_unreadable_dtypes_say_what_to_do(self) -> None:
        self.assertFrameError({"c": np.ones(2, np.complex64)}, "complex64", "astype(numpy.float32)")
        self.assertFrameError({"s": np.array(["a"])}, "astype")
        self.assertFrameError({"o": np.array([object()], dtype=object)}, "astype")
        self.assertFrameError({"l": np.ones(2, np.longdouble)}, "astype")

    def test_metadata_must_be_strings(self) -> None:
        self.assertFrameError({"x": np.ones(1)}, "str to str", metadata={"n": 1})

    def test_raw_tensor_checks_size(self) -> None:
        with self.assertRaises(FrameError):
            RawTensor(np.ones(2, np.float32), "BF16")
        with self.assertRaises(FrameError):
            RawTensor(np.ones(2, np.uint16), "F8")

    def test_bad_tensor_writes_nothing(self) -> None:
        stream = io.BytesIO()
        with self.assertRaises(FrameError):
            write_frame(stream, {"ok": np.ones(2, np.float32), "bad": np.ones(2, np.complex64)})
        self.assertEqual(stream.getvalue(), b"")

    def test_write_frame_wants_a_stream(self) -> None:
        with self.assertRaises(TypeError):
            write_frame("out.safetensors", {"x": np.ones(1)})  # type: ignore[arg-type]


class StreamTests(TempDir):
    def test_write_frame_and_writer_concatenate(self) -> None:
        stream = io.BytesIO()
        written = write_frame(stream, {"x": np.ones(2, np.float32)})
        writer = FrameWriter(stream)
        writer.send({"x": np.zeros(2, np.float32)})
        self.assertEqual(writer.frames, 1)
        self.assertEqual(len(stream.getvalue()), written + writer.bytes)
        self.assertEqual(len(read_frames(stream.getvalue())), 2)

    def test_write_file(self) -> None:
        path = os.path.join(self.tmp, "batch.safetensors")
        size = write_file(path, {"x": np.ones(2, np.float32)})
        with open(path, "rb") as f:
            self.assertEqual(f.read(), encode_frame({"x": np.ones(2, np.float32)}))
        self.assertEqual(os.path.getsize(path), size)

    def test_safetensors_package_reads_our_file_if_installed(self) -> None:
        try:
            from safetensors.numpy import load_file
        except ImportError:
            self.skipTest("safetensors is not installed")
        path = os.path.join(self.tmp, "batch.safetensors")
        tensors = {"b": np.arange(6, dtype=np.float16).reshape(2, 3), "a": np.array([True, False])}
        write_file(path, tensors)
        loaded = load_file(path)
        for name, array in tensors.items():
            np.testing.assert_array_equal(loaded[name], array)


if __name__ == "__main__":
    unittest.main()
