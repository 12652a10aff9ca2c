"""Stress cases for calib's OnnxRuntimeHistogram, computed by onnxruntime's own HistogramCollector.

Beyond ../golden/hist_cases_ort (4 batches, 3 tensors): more batches, growth at every collect, an
all-zero first batch (threshold 0), a constant batch (numpy's +-0.5 range), NaN, a single huge outlier,
a shrinking |x| range. Run with onnxruntime 1.31.1 and numpy 2.4:

    python make_cases.py   # writes sequences.safetensors and expected.json here

sequences.safetensors: tensor "SEQ.bNN" is batch NN of sequence SEQ (float32, 1-D; the batches of a
sequence have one length, as onnxruntime needs to stack them).
expected.json: for each sequence, kind (signed or abs), num_bins and collect (once or per_batch),
the final histogram (counts as int64, edges as float32, little-endian, base64), min, max, and the
ranges of each method onnxruntime's compute_collection_result gives on it.
"""

import base64
import contextlib
import io
import json
import struct

import numpy as np
import onnxruntime
from onnxruntime.quantization.calibrate import HistogramCollector

assert onnxruntime.__version__ == "1.31.1", onnxruntime.__version__

rng = np.random.default_rng(20261202)
f32 = np.float32


def normal(n, scale):
    return (rng.standard_normal(n) * scale).astype(f32)


sequences = {
    "growing": [normal(3000, 1 + 0.6 * i) for i in range(8)],
    "heavy_tail": [(rng.standard_t(2, 2500) * 0.7).astype(f32) for _ in range(6)],
    "relu_shrinking": [np.maximum(normal(2000, 4.0 / (i + 1)), 0).astype(f32) for i in range(5)],
    "zeros_first": [np.zeros(1500, f32)] + [normal(1500, 2.0) for _ in range(4)],
    "constant_first": [np.full(1000, 1.5, f32)] + [normal(1000, 0.5) + f32(1) for _ in range(3)],
    "outlier": [normal(2000, 1.0), normal(2000, 1.0), np.append(normal(1999, 1.0), f32(250.0)), normal(2000, 1.0)],
    "tiny": [normal(1000, 1e-6) for _ in range(3)],
}
# NaN: nanmin/nanmax skip it, numpy's histogram drops it (a first |x| collect would raise, so the
# NaN batches come later).
sequences["with_nan"] = [normal(1000, 1.0)] + [np.where(rng.random(1000) < 0.05, np.nan, normal(1000, 1.5)).astype(f32) for _ in range(3)]


def b64(a, dtype):
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode()


def collector(method, bins, symmetric, nq=128, p=99.999):
    return HistogramCollector(method=method, symmetric=symmetric, num_bins=bins, num_quantized_bins=nq, percentile=p, scenario="same")


def run(method, bins, symmetric, batches, collect, **kw):
    c = collector(method, bins, symmetric, **kw)
    with contextlib.redirect_stdout(io.StringIO()):
        if collect == "once":
            c.collect({"t": list(batches)})
        else:
            for b in batches:
                c.collect({"t": [b]})
        result = c.compute_collection_result()["t"]
    if hasattr(result, "range_value"):
        lo, hi = result.range_value
    else:
        lo, hi = result[0], result[1]
    return c.histogram_dict["t"], [float(f32(lo)), float(f32(hi))]


cases = []
for name, batches in sequences.items():
    for kind in ("signed", "abs"):
        for bins in (128, 2048):
            for collect in ("once", "per_batch"):
                methods = {}
                if kind == "signed":
                    hist, methods["entropy128"] = run("entropy", bins, False, batches, collect)
                    if bins == 2048:
                        _, methods["entropy512"] = run("entropy", bins, False, batches, collect, nq=512)
                        _, methods["distribution"] = run("distribution", bins, False, batches, collect)
                    for p in (99.9, 99.99):
                        _, methods[f"percentile{p}"] = run("percentile", bins, False, batches, collect, p=p)
                else:
                    if name in ("with_nan",) and collect == "once":
                        continue  # onnxruntime raises: a first |x| collect cannot autodetect a NaN range
                    hist = None
                    for p in (99.0, 99.999):
                        hist, methods[f"percentile{p}"] = run("percentile", bins, True, batches, collect, p=p)
                counts, edges, mn, mx = hist[0], hist[1], hist[2], hist[3]
                assert counts.dtype == np.int64 and edges.dtype == np.float32, (counts.dtype, edges.dtype)
                case = {
                    "sequence": name, "kind": kind, "num_bins": bins, "collect": collect,
                    "bin_count": len(counts), "counts": b64(counts, "<i8"), "edges": b64(edges, "<f4"),
                    "min": float(mn), "max": float(mx), "ranges": methods,
                }
                if kind == "signed":
                    case["threshold"] = float(hist[4])
                cases.append(case)

tensors = {f"{name}.b{i:02d}": b for name, batches in sequences.items() for i, b in enumerate(batches)}
header, offset, blobs = {}, 0, []
for key in sorted(tensors):
    data = tensors[key].astype("<f4").tobytes()
    header[key] = {"dtype": "F32", "shape": [len(tensors[key])], "data_offsets": [offset, offset + len(data)]}
    offset += len(data)
    blobs.append(data)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-(8 + len(h)) % 8)
with open("sequences.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
with open("expected.json", "w") as f:
    json.dump({"reference": f"onnxruntime {onnxruntime.__version__} HistogramCollector, numpy {np.__version__}",
               "cases": cases}, f, indent=1)
    f.write("\n")
print(len(cases), "cases")
