#!/usr/bin/env python3
"""numpy and torch baselines for calib-bench: the same shapes and dtypes, one thread, GB/s.

    python3 bench/baseline.py            # table
    python3 bench/baseline.py --json     # what calib-bench reads when it runs this script itself
    python3 bench/baseline.py --quick    # 16 MiB inputs instead of 256 MiB

GB/s is input bytes / wall time, best of --reps runs. Each case lists every baseline it has; torch
ones are skipped when torch is not importable. torch runs with torch.set_num_threads(1); numpy
reductions are single-threaded by construction.

Page size matters as much as the code on this kind of machine (a 4 KiB page walk per 4 KiB read), so
every case runs on both kinds of memory (--pages both, the default):
  huge   numpy's own allocation, which asks for transparent huge pages (madvise) for large arrays;
         the torch tensors share that memory (torch.from_numpy).
  small  numpy with its huge-page request switched off, and tensors allocated by torch itself
         (its default CPU allocator makes no such request): 4 KiB pages, like torch.randn gives and
         like a memory-mapped file.
"""
import argparse
import importlib
import json
import os
import platform
import sys
import time

# One thread everywhere, and no OpenBLAS core-type overrides (they slow a current numpy); set before
# numpy/torch load their libraries.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"
os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ.pop("OPENBLAS_L2_SIZE", None)

import numpy as np  # noqa: E402

try:
    import torch  # noqa: E402

    torch.set_num_threads(1)
except Exception:  # torch missing, or broken install
    torch = None

MIB = 1 << 20


def cases(quick):
    """name → (shape, dtype name, channel axis or None). Must match Sources/CalibBench."""
    if quick:
        return {
            "minmax-f32": ((4 * MIB,), "f32", None),
            "minmax-f16": ((8 * MIB,), "f16", None),
            "minmax-bf16": ((8 * MIB,), "bf16", None),
            "nchw": ((16, 64, 64, 64), "f32", 1),
            "nchw7": ((512, 160, 7, 7), "f32", 1),
            "btd": ((4, 256, 4096), "f32", 2),
            "rows": ((1024, 4096), "f32", 0),
        }
    return {
        "minmax-f32": ((64 * MIB,), "f32", None),
        "minmax-f16": ((128 * MIB,), "f16", None),
        "minmax-bf16": ((128 * MIB,), "bf16", None),
        "nchw": ((64, 256, 64, 64), "f32", 1),
        "nchw7": ((2048, 640, 7, 7), "f32", 1),
        "btd": ((16, 1024, 4096), "f32", 2),
        "rows": ((4096, 16384), "f32", 0),
    }


def numpy_hugepages(on):
    """numpy's madvise(MADV_HUGEPAGE) on large allocations (on by default on Linux)."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            importlib.import_module(module)._set_madvise_hugepage(on)
            return True
        except Exception:
            continue
    return False


def best(fn, reps):
    fn()  # warm-up (page faults, lazy init)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def baselines(shape, dtype, axis):
    """(label, make-callable) pairs for one case; each callable gets the numpy/torch inputs."""
    out = []
    others = tuple(d for d in range(len(shape)) if d != axis) if axis is not None else None
    if dtype != "bf16":
        if axis is None:
            out.append(("numpy min()+max()", "np", lambda a: (a.min(), a.max())))
            out.append(("numpy min() alone", "np", lambda a: a.min()))
        else:
            out.append(("numpy min/max(axis=others)", "np", lambda a: (a.min(axis=others), a.max(axis=others))))
    if torch is not None:
        if axis is None:
            out.append(("torch.aminmax", "t", lambda t: torch.aminmax(t)))
        else:
            # torch.ao.quantization.PerChannelMinMaxObserver: move the axis first, flatten (a copy), aminmax(dim=1).
            def observer(t):
                perm = [axis] + [d for d in range(t.dim()) if d != axis]
                return torch.aminmax(torch.flatten(t.permute(perm), start_dim=1), dim=1)

            out.append(("torch observer: permute+flatten+aminmax(dim=1)", "t", observer))
            if axis == t_last(shape):
                # The channel axis last: aminmax over the rows, no copy.
                out.append(("torch.aminmax(x.reshape(-1, C), dim=0)", "t",
                            lambda t: torch.aminmax(t.reshape(-1, shape[-1]), dim=0)))
            elif axis == 0 and len(shape) == 2:
                out.append(("torch.aminmax(x, dim=1)", "t", lambda t: torch.aminmax(t, dim=1)))
            else:
                out.append(("torch.amin+amax(dim=others)", "t",
                            lambda t: (torch.amin(t, dim=others), torch.amax(t, dim=others))))
    return out


def t_last(shape):
    return len(shape) - 1


def info():
    d = {"python": platform.python_version(), "numpy": np.__version__, "torch": None}
    if torch is not None:
        d["torch"] = torch.__version__
        d["torch_threads"] = torch.get_num_threads()
        try:
            d["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        except Exception:
            pass
    try:
        import threadpoolctl

        d["threadpools"] = [
            {k: p.get(k) for k in ("internal_api", "num_threads", "architecture")}
            for p in threadpoolctl.threadpool_info()
        ]
    except Exception:
        pass
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--case", action="append", help="only these cases (repeatable)")
    ap.add_argument("--pages", choices=["both", "huge", "small"], default="both")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    results = []
    pages = ["huge", "small"] if args.pages == "both" else [args.pages]
    for name, (shape, dtype, axis) in cases(args.quick).items():
        if args.case and name not in args.case:
            continue
        n = int(np.prod(shape))
        nbytes = n * (4 if dtype == "f32" else 2)
        for page in pages:
            numpy_hugepages(page == "huge")
            base = rng.standard_normal(n, dtype=np.float32).reshape(shape)
            if dtype == "f32":
                a = base
            elif dtype == "f16":
                a = base.astype(np.float16)
            else:
                a = None  # numpy has no bfloat16
            t = None
            if torch is not None:
                if page == "huge":  # share numpy's memory
                    if dtype == "bf16":
                        bits = (base.view(np.uint32) >> 16).astype(np.uint16)
                        t = torch.from_numpy(bits).view(torch.bfloat16)
                    else:
                        t = torch.from_numpy(a)
                else:  # torch's own allocation
                    tdtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
                    t = torch.empty(shape, dtype=tdtype)
                    t.copy_(torch.from_numpy(base))
            for label, kind, fn in baselines(shape, dtype, axis):
                x = a if kind == "np" else t
                if x is None:
                    continue
                seconds = best(lambda: fn(x), args.reps)
                gbps = nbytes / seconds / 1e9
                results.append({"case": name, "baseline": label, "pages": page, "gbps": gbps, "bytes": nbytes})
                if not args.json:
                    print(f"{name:<12} {page:<6} {label:<48} {gbps:7.2f} GB/s", flush=True)
            del base, a, t
    numpy_hugepages(True)

    if args.json:
        json.dump({"info": info(), "results": results}, sys.stdout)
        print()
    else:
        print(json.dumps(info()))


if __name__ == "__main__":
    main()
