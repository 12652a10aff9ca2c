#!/usr/bin/env python3
"""Histogram baselines for calib-bench: the reference tools' own histogram observers on the same
float32 data calib-bench measures (a raw little-endian file it writes), one thread.

  torch.ao.quantization.HistogramObserver (2048 bins): forward() per batch (no calculate_qparams)
  onnxruntime.quantization.calibrate.HistogramCollector: collect() of every batch at once, as
    quantize_static calls it (entropy: the signed histogram, 128 and 2048 bins; percentile
    symmetric: the |x| one, 2048 bins)

GB/s is input bytes / wall time, best of --reps. A tool that is not importable is skipped.

  python3 bench/histogram_baseline.py --data FILE --batches 16 [--reps 3] [--json]
"""
import argparse
import contextlib
import io
import json
import os
import sys
import time

for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[v] = "1"

import numpy as np


def best(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--batches", type=int, default=16)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    data = np.fromfile(args.data, dtype="<f4")
    batches = np.array_split(data, args.batches)
    nbytes = data.nbytes
    results = []
    info = {"numpy": np.__version__}

    def report(label, seconds):
        results.append({"baseline": label, "gbps": nbytes / seconds / 1e9, "seconds": seconds})
        if not args.json:
            print(f"{label:<56} {nbytes / seconds / 1e9:8.3f} GB/s", flush=True)

    try:
        import torch

        torch.set_num_threads(1)
        info["torch"] = torch.__version__
        from torch.ao.quantization import HistogramObserver

        tensors = [torch.from_numpy(b) for b in batches]

        def torch_observer():
            obs = HistogramObserver(bins=2048)
            for t in tensors:
                obs(t)

        report("torch HistogramObserver (2048 bins) forward", best(torch_observer, args.reps))
    except ImportError:
        pass

    try:
        import onnxruntime
        from onnxruntime.quantization.calibrate import HistogramCollector

        info["onnxruntime"] = onnxruntime.__version__

        def ort(method, symmetric, bins):
            def run():
                c = HistogramCollector(
                    method=method, symmetric=symmetric, num_bins=bins, num_quantized_bins=128, percentile=99.999,
                    scenario="same")
                with contextlib.redirect_stdout(io.StringIO()):  # it prints progress
                    c.collect({"x": list(batches)})
            return run

        report("onnxruntime HistogramCollector entropy 128 bins (collect)", best(ort("entropy", False, 128), args.reps))
        report("onnxruntime HistogramCollector entropy 2048 bins (collect)", best(ort("entropy", False, 2048), args.reps))
        report("onnxruntime HistogramCollector percentile |x| 2048 (collect)", best(ort("percentile", True, 2048), args.reps))
    except ImportError:
        pass

    if args.json:
        json.dump({"info": info, "results": results}, sys.stdout)
        print()


if __name__ == "__main__":
    main()
