#!/usr/bin/env python3
"""Builds the AIMET encodings files that aimet-torch 2.42.0 writes for each golden aimet case.

    python3 make_aimet_expected.py      # standard library only

For every ../../golden/cases/aimet_*/expected.json, writes <case>/0.6.1.encodings, 1.0.0.encodings and
2.0.0.encodings here, following QuantizationSimModel.onnx.export (aimet_torch/quantsim/quantsim.py
`_to_json` + `json.dump(..., indent=2)`, no trailing newline) and AffineEncoding.to_qnn_encoding_dict
(aimet_torch/quantization/affine/encoding.py), the same layout as ../../golden/aimet-exports/:

- every tensor of a case is an activation, in the order calib reads them: the order of the case's first
  batch file (batches/000.safetensors header, sorted by safetensors), which is how a calib session lists
  them (aimet-torch writes graph order; these cases have no graph);
- a case with per_channel_axis gets PER_CHANNEL entries;
- 0.6.1 and 1.0.0 offsets are on the unsigned grid: file offset = offset - 2**(b-1) when signed, else offset;
- 2.0.0 writes activations as unsigned (onnx.export's default force_activation_as="unsigned"): output_dtype
  uint<b>, y_zero_point = 2**(b-1) when symmetric (the grid's centroid), else the unsigned zero point
  -(file offset); omitted when every channel's is 0; axis only for per-channel entries;
- quantizer_args: quant_scheme "min_max", param_bitwidth 8, activation_bitwidth = the case's bitwidth,
  dtype "int", is_symmetric = the case's symmetric, per_channel_quantization = per_channel_axis is not None.
Floats are expected.json's float32 values (printed as doubles, so float() gives them back exactly).
"""

import glob
import json
import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "..", "golden", "cases")
PRODUCER = {"package": "aimet-torch", "version": "2.42.0"}


def batch_order(case_dir):
    with open(os.path.join(case_dir, "batches", "000.safetensors"), "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return [k for k in header if k != "__metadata__"]


def case_encodings(expected, order):
    cfg = expected["config"]
    bw, symmetric, signed, axis = cfg["bitwidth"], cfg["symmetric"], cfg["signed"], cfg["per_channel_axis"]
    shift = -(2 ** (bw - 1)) if signed else 0
    out = []
    assert sorted(order) == sorted(expected["tensors"])
    for name in order:
        t = expected["tensors"][name]
        offsets = [int(o) for o in t["offset"]]
        out.append(
            {
                "name": name,
                "scale": [float(s) for s in t["scale"]],
                "min": [float(v) for v in t["min"]],
                "max": [float(v) for v in t["max"]],
                "file_offset": [o + shift for o in offsets],
                "per_channel": axis is not None and len(offsets) > 1,
            }
        )
    return bw, symmetric, axis, out


def quantizer_args(bw, symmetric, axis):
    return {
        "quant_scheme": "min_max",
        "param_bitwidth": 8,
        "activation_bitwidth": bw,
        "dtype": "int",
        "is_symmetric": symmetric,
        "per_channel_quantization": axis is not None,
    }


def v061(bw, symmetric, axis, encs):
    return {
        "producer": PRODUCER,
        "version": "0.6.1",
        "activation_encodings": {
            e["name"]: [
                {"min": lo, "max": hi, "scale": s, "offset": o, "bitwidth": bw, "dtype": "int", "is_symmetric": str(symmetric)}
                for lo, hi, s, o in zip(e["min"], e["max"], e["scale"], e["file_offset"])
            ]
            for e in encs
        },
        "param_encodings": {},
        "excluded_layers": [],
        "quantizer_args": quantizer_args(bw, symmetric, axis),
    }


def v100(bw, symmetric, axis, encs):
    return {
        "producer": PRODUCER,
        "version": "1.0.0",
        "activation_encodings": [
            {
                "name": e["name"],
                "dtype": "INT",
                "bw": bw,
                "is_sym": symmetric,
                "scale": e["scale"],
                "offset": e["file_offset"],
                "enc_type": "PER_CHANNEL" if e["per_channel"] else "PER_TENSOR",
            }
            for e in encs
        ],
        "param_encodings": [],
        "excluded_layers": [],
        "quantizer_args": quantizer_args(bw, symmetric, axis),
    }


def v200(bw, symmetric, axis, encs):
    entries = []
    for e in encs:
        centroid = math.ceil((2**bw - 1) / 2)
        zps = [centroid if symmetric else -o for o in e["file_offset"]]
        entry = {"name": e["name"], "output_dtype": f"uint{bw}"}
        if e["per_channel"]:
            entry["y_scale"] = e["scale"]
            if any(z != 0 for z in zps):
                entry["y_zero_point"] = zps
            entry["axis"] = axis
        else:
            entry["y_scale"] = e["scale"][0]
            if zps[0] != 0:
                entry["y_zero_point"] = zps[0]
        entries.append(entry)
    return {"producer": PRODUCER, "version": "2.0.0", "encodings": entries}


def main():
    for path in sorted(glob.glob(os.path.join(CASES, "aimet_*", "expected.json"))):
        case = os.path.basename(os.path.dirname(path))
        with open(path) as f:
            expected = json.load(f)
        bw, symmetric, axis, encs = case_encodings(expected, batch_order(os.path.dirname(path)))
        os.makedirs(os.path.join(HERE, case), exist_ok=True)
        for version, build in (("0.6.1", v061), ("1.0.0", v100), ("2.0.0", v200)):
            with open(os.path.join(HERE, case, f"{version}.encodings"), "w", encoding="utf-8") as f:
                json.dump(build(bw, symmetric, axis, encs), f, indent=2)


if __name__ == "__main__":
    main()
