#!/usr/bin/env python3
"""Records what onnxruntime.quantization itself computes and writes, for FormatTests.

Run (from this directory) in a throwaway venv:

    python3 -m venv /tmp/ortvenv && /tmp/ortvenv/bin/pip install onnxruntime==1.31.1 onnx numpy flatbuffers
    /tmp/ortvenv/bin/python make_onnxruntime_reference.py

Writes, next to this script:
- reference.json: versions; (a) get_qmin_qmax_for_qType for UINT4, INT4, UINT8, INT8, UINT16, INT16
  x symmetric x reduce_range; (b) compute_scale_zp for 40 float32 (rmin, rmax) pairs x those qtypes x
  symmetric x reduce_range (qmin/qmax from (a)); (c) the tensors given to write_calibration_table and the
  flatbuffers table decoded with onnxruntime's own generated reader.
- calibration.json, calibration.flatbuffers, calibration.cache: written by write_calibration_table.
- quantize_static_cache.json: written by save_tensors_data(smooth_quant=False), the file that
  quantize_static(calibration_cache_path=...) writes and reads back.
"""

import json
import os
import struct
import sys

import flatbuffers
import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto
from onnxruntime.quantization import quant_utils
from onnxruntime.quantization.calibrate import CalibrationMethod, TensorData, TensorsData, save_tensors_data
from onnxruntime.quantization.CalTableFlatBuffers import TrtTable

HERE = os.path.dirname(os.path.abspath(__file__))
QTYPES = ["UINT4", "INT4", "UINT8", "INT8", "UINT16", "INT16"]


def f32(x):
    return np.float32(x)


def bits(x):
    return struct.unpack(">I", struct.pack(">f", float(x)))[0]


def pairs():
    """40 float32 (rmin, rmax) pairs: zero, tiny, denormal, one-sided, huge, ordinary, random."""
    tiny = np.finfo(np.float32).tiny
    denorm = np.float32(1e-45)
    fixed = [
        (0.0, 0.0),
        (-0.0, 0.0),
        (0.0, 1.0),
        (-1.0, 1.0),
        (-1.0, 0.0),
        (0.5, 0.5),
        (1.0, 5.0),
        (-5.0, -1.0),
        (-1e-3, -1e-6),
        (2.0, 1000.0),
        (-2.1152193546295166, 1.237657904624939),
        (-2.7330002784729004, 3.9300038814544678),
        (-7.1328125, 6.3359375),
        (-0.1, 0.2),
        (-0.3, 0.7),
        (-1e-8, 1.0),
        (-1.0000001, 3.3333333),
        (-3.0, 1e-7),
        (float(denorm), float(denorm)),
        (-float(denorm), float(denorm) * 3),
        (0.0, 1e-40),
        (-1e-39, 1e-39),
        (0.0, float(tiny)),
        (-float(tiny), float(tiny)),
        (0.0, 1e-37),
        (0.0, 3.4028234663852886e38),
        (-3.4028234663852886e38, 0.0),
        (-3e38, 3e38),
        (-1e38, 3.4e38),
        (-1e30, 1e30),
    ]
    rng = np.random.default_rng(20240601)
    rand = []
    while len(rand) < 10:
        a, b = (rng.standard_normal(2) * rng.choice([0.01, 1.0, 100.0])).astype(np.float32)
        rand.append((float(min(a, b)), float(max(a, b))))
    out = [(f32(a), f32(b)) for a, b in fixed + rand]
    assert len(out) == 40
    return out


def qrange_table():
    rows = []
    for q in QTYPES:
        for symmetric in (False, True):
            for reduce_range in (False, True):
                qmin, qmax = quant_utils.get_qmin_qmax_for_qType(
                    getattr(TensorProto, q), reduce_range=reduce_range, symmetric=symmetric
                )
                rows.append(
                    {"qtype": q, "symmetric": symmetric, "reduce_range": reduce_range, "qmin": int(qmin), "qmax": int(qmax)}
                )
    return rows


def scale_zp_table():
    rows = []
    for rmin, rmax in pairs():
        for q in QTYPES:
            for symmetric in (False, True):
                for reduce_range in (False, True):
                    qmin, qmax = quant_utils.get_qmin_qmax_for_qType(
                        getattr(TensorProto, q), reduce_range=reduce_range, symmetric=symmetric
                    )
                    zp, scale = quant_utils.compute_scale_zp(
                        np.array(rmin, dtype=np.float32),
                        np.array(rmax, dtype=np.float32),
                        qmin,
                        qmax,
                        symmetric=symmetric,
                    )
                    scale = np.float32(scale)
                    rows.append(
                        {
                            "rmin": float(rmin),
                            "rmax": float(rmax),
                            "rmin_bits": f"{bits(rmin):08x}",
                            "rmax_bits": f"{bits(rmax):08x}",
                            "qtype": q,
                            "symmetric": symmetric,
                            "reduce_range": reduce_range,
                            "qmin": int(qmin),
                            "qmax": int(qmax),
                            "scale": float(scale),
                            "scale_bits": f"{bits(scale):08x}",
                            "zero_point": int(zp),
                        }
                    )
    return rows


# Tensors for write_calibration_table: shape-(1,) float32 arrays, as MinMaxCalibrater.compute_data
# produces them (ReduceMin/ReduceMax with keepdims, reshaped to [-1]). Not in sorted order; one name is
# non-ASCII; one tensor is all-negative (its cache value is `highest`, a negative number).
TENSORS = [
    ("input", -2.1152193546295166, 1.237657904624939),
    ("/conv/Conv_output_0", -7.1328125, 6.3359375),
    ("relu_é_out", 0.0, 0.30000001192092896),
    ("neg_only", -0.3333333432674408, -1e-05),
]


def calibration_files():
    data = {
        name: TensorData(lowest=np.array([lo], dtype=np.float32), highest=np.array([hi], dtype=np.float32))
        for name, lo, hi in TENSORS
    }
    tensors = TensorsData(CalibrationMethod.MinMax, data)
    # The TensorsData itself, as calibrator.compute_data() returns it (json: {"CLS": "TensorsData", ...}).
    quant_utils.write_calibration_table(tensors, dir=HERE)
    cache_path = os.path.join(HERE, "quantize_static_cache.json")
    save_tensors_data(tensors, cache_path, smooth_quant=False)
    os.chmod(cache_path, 0o644)  # save_tensors_data writes through mkstemp (0600)

    with open(os.path.join(HERE, "calibration.flatbuffers"), "rb") as f:
        buf = f.read()
    table = TrtTable.TrtTable.GetRootAsTrtTable(buf, 0)
    decoded = [
        {"key": table.Dict(i).Key().decode("utf-8"), "value": table.Dict(i).Value().decode("utf-8")}
        for i in range(table.DictLength())
    ]
    return {
        "tensors": [{"name": n, "lowest": float(np.float32(lo)), "highest": float(np.float32(hi))} for n, lo, hi in TENSORS],
        "flatbuffers_decoded": decoded,
    }


def main():
    reference = {
        "onnxruntime": onnxruntime.__version__,
        "onnx": onnx.__version__,
        "numpy": np.__version__,
        "flatbuffers": flatbuffers.__version__,
        "python": sys.version.split()[0],
        "qmin_qmax": qrange_table(),
        "compute_scale_zp": scale_zp_table(),
        "write_calibration_table": calibration_files(),
    }
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
