"""ONNX Runtime round trip: quantize_static with its own calibration vs. with calib's ranges.

    python examples/onnxruntime_roundtrip.py --calib /path/to/calib

Needs torch (to export the model), onnx, onnxruntime (1.31) and a calib binary. Steps:

1. The Conv-BN-ReLU x2 -> pool -> Linear network is exported to ONNX.
2. A: ``quantize_static`` (QDQ, MinMax, its defaults) calibrates on 8 seeded batches itself and
   saves its calibration cache (``calibration_cache_path`` of a file that does not exist yet).
3. B: ``calib_capture.onnxruntime.capture`` streams the tensors quantize_static calibrates, for
   the same batches, into calib; ``calib export --format onnxruntime-cache``; ``quantize_static``
   with ``calibration_cache_path`` set to calib's cache (no calibration data).
4. The two caches' ranges and the two quantized model files are compared byte for byte.

Exit status 0 when the two quantized models are byte-identical.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import logging
import os
import subprocess
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # the calib_capture package next to examples/

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402
import torch  # noqa: E402
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static  # noqa: E402

from _model import calibration_batches, make_model  # noqa: E402
from calib_capture import find_calib  # noqa: E402
from calib_capture import onnxruntime as ort_capture  # noqa: E402


class Reader(CalibrationDataReader):
    """The calibration batches as onnxruntime input dicts."""

    def __init__(self, batches, input_name: str) -> None:
        self._items = iter([{input_name: b.numpy()} for b in batches])

    def get_next(self):
        return next(self._items, None)


def ranges(path: str) -> dict:
    """{tensor: (lowest, highest)} of an onnxruntime calibration cache, as float32 arrays."""
    with open(path) as f:
        data = json.load(f)["data"]
    return {
        name: tuple(np.asarray(entry[k]["data"], dtype=np.float32) for k in ("lowest", "highest"))
        for name, entry in data.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calib", help="the calib binary (default: $CALIB, then PATH)")
    parser.add_argument("--workdir", help="keep the database and files here (default: a temporary directory)")
    args = parser.parse_args()
    calib = find_calib(args.calib)
    version = subprocess.run([calib, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"numpy {np.__version__}, calib {version} ({calib})")

    work = args.workdir or tempfile.mkdtemp(prefix="ort-roundtrip-")
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "calib.sqlite")
    for stale in ("calib.sqlite", "ort_cache.json", "calib_cache.json"):
        if os.path.exists(os.path.join(work, stale)):
            os.remove(os.path.join(work, stale))

    # 1. The model in ONNX.
    model = make_model()
    model_path = os.path.join(work, "net.onnx")
    torch.onnx.export(model, (torch.zeros(1, 3, 32, 32),), model_path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    ops = [node.op_type for node in onnx.load(model_path).graph.node]
    print(f"exported {os.path.basename(model_path)}: {len(ops)} nodes ({', '.join(ops)})")
    batches = calibration_batches()

    # 2. onnxruntime's own calibration.
    ort_model = os.path.join(work, "net.ort.qdq.onnx")
    ort_cache = os.path.join(work, "ort_cache.json")
    quantize_static(model_path, ort_model, Reader(batches, "input"), quant_format=QuantFormat.QDQ, calibration_cache_path=ort_cache)
    print(f"A: quantize_static with its own MinMax calibration on {len(batches)} batches -> {os.path.basename(ort_model)}")

    # 3. Through calib.
    names = ort_capture.select_tensors(model_path)
    print(f"tensors quantize_static calibrates ({len(names)}): {', '.join(names)}")
    summary = ort_capture.capture(model_path, Reader(batches, "input"), "ort-net", db=db, calib=calib)
    print(f"B: calib_capture.onnxruntime.capture: {summary}")
    calib_cache = ort_capture.export_cache("ort-net", os.path.join(work, "calib_cache.json"), db, calib=calib)
    calib_model = os.path.join(work, "net.calib.qdq.onnx")
    quantize_static(model_path, calib_model, None, quant_format=QuantFormat.QDQ, calibration_cache_path=calib_cache)
    print(f"B: calib export --format onnxruntime-cache; quantize_static(calibration_cache_path=...) -> {os.path.basename(calib_model)}")

    # 4. Compare.
    a, b = ranges(ort_cache), ranges(calib_cache)
    same_ranges = sorted(a) == sorted(b) and all(
        np.array_equal(a[n][0], b[n][0]) and np.array_equal(a[n][1], b[n][1]) for n in a
    )
    print(f"calibration caches: onnxruntime's {len(a)} tensors, calib's {len(b)}; every range identical: {same_ranges}")
    with open(ort_cache) as f1, open(calib_cache) as f2:
        same_json = json.load(f1) == json.load(f2)
    print(f"cache files byte-identical: {filecmp.cmp(ort_cache, calib_cache, shallow=False)}; "
          f"equal as JSON (onnxruntime writes its tensors in set order, calib in graph order): {same_json}")
    identical = filecmp.cmp(ort_model, calib_model, shallow=False)
    size = os.path.getsize(ort_model)
    print(f"quantized models byte-identical: {identical} ({size} bytes vs {os.path.getsize(calib_model)} bytes)")
    print("RESULT: " + ("identical" if identical and same_ranges else "DIFFERENT"))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
