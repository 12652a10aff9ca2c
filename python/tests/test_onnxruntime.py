"""calib_capture.onnxruntime (runs only where onnx and onnxruntime import, with a calib binary)."""

from __future__ import annotations

import filecmp
import logging
import os
import unittest

import numpy as np

import _support  # noqa: F401  (puts the package on sys.path)
from _support import CALIB, TempDir, optional, requires_calib


def tiny_model(path: str) -> None:
    """x[N,4] -> MatMul(W) -> Add(b) -> Relu -> MatMul(W2) -> y[N,2], built with onnx.helper."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "B")
    w2 = numpy_helper.from_array(rng.standard_normal((3, 2)).astype(np.float32), "W2")
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
        helper.make_node("Add", ["h", "B"], ["hb"], name="add"),
        helper.make_node("Relu", ["hb"], ["r"], name="relu"),
        helper.make_node("MatMul", ["r", "W2"], ["y"], name="mm2"),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], [w, b, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


class Reader:
    def __init__(self, batches) -> None:
        self._items = iter([{"x": b} for b in batches])

    def get_next(self):
        return next(self._items, None)


@optional("onnxruntime")
@optional("onnx")
@requires_calib
class OnnxRuntimeTests(TempDir):
    def setUp(self) -> None:
        super().setUp()
        logging.disable(logging.WARNING)
        self.model = os.path.join(self.tmp, "tiny.onnx")
        tiny_model(self.model)
        rng = np.random.default_rng(1)
        self.batches = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(4)]

    def test_selection_follows_quantize_static(self) -> None:
        from calib_capture import onnxruntime as ort_capture

        self.assertEqual(ort_capture.select_tensors(self.model), ["x", "h", "hb", "r", "y"])
        self.assertEqual(ort_capture.select_tensors(self.model, ["Relu"]), ["hb", "r"])

    def test_capture_then_quantize_static_is_byte_identical(self) -> None:
        from onnxruntime.quantization import QuantFormat, quantize_static

        from calib_capture import onnxruntime as ort_capture, show

        summary = ort_capture.capture(self.model, Reader(self.batches), "o", db=self.db, calib=CALIB)
        self.assertEqual((summary.added, summary.tensors), (4, 5))
        self.assertEqual(list(show("o", db=self.db, calib=CALIB)["encodings"]), ["x", "h", "hb", "r", "y"])
        own = os.path.join(self.tmp, "own.onnx")
        quantize_static(self.model, own, Reader(self.batches), quant_format=QuantFormat.QDQ)
        ours = os.path.join(self.tmp, "calib.onnx")
        ort_capture.quantize_static(self.model, ours, "o", db=self.db, calib=CALIB, quant_format=QuantFormat.QDQ)
        self.assertTrue(filecmp.cmp(own, ours, shallow=False))

    def test_tensor_quant_overrides_give_the_same_model(self) -> None:
        from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

        from calib_capture import onnxruntime as ort_capture

        ort_capture.capture(self.model, Reader(self.batches), "o", db=self.db, calib=CALIB)
        overrides = ort_capture.tensor_quant_overrides("o", db=self.db, calib=CALIB)
        self.assertEqual(overrides["x"][0]["zero_point"].dtype, np.uint8)
        own = os.path.join(self.tmp, "own.onnx")
        quantize_static(self.model, own, Reader(self.batches), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8)
        ours = os.path.join(self.tmp, "overrides.onnx")
        quantize_static(self.model, ours, Reader(self.batches), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        extra_options={"TensorQuantOverrides": overrides})
        self.assertTrue(filecmp.cmp(own, ours, shallow=False))

    def test_empty_reader(self) -> None:
        from calib_capture import onnxruntime as ort_capture

        with self.assertRaises(ValueError):
            ort_capture.capture(self.model, Reader([]), "e", db=self.db, calib=CALIB)


if __name__ == "__main__":
    unittest.main()
