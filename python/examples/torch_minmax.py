"""PyTorch: calib's ``--convention pytorch`` encodings vs. torch.ao.quantization's min/max observers.

    python examples/torch_minmax.py --calib /path/to/calib

Needs torch and a calib binary. ``calib_capture.torch.capture`` hooks every leaf module of the
Conv-BN-ReLU x2 -> pool -> Linear network and streams 8 seeded batches into
``calib run --convention pytorch`` (activations: quint8, per-tensor affine) and the weights into a
``--role param`` run (qint8, per-channel symmetric on axis 0). Every frame it sends is also fed to
torch's own observers (``MinMaxObserver`` for activations, ``PerChannelMinMaxObserver(ch_axis=0,
qint8, per_channel_symmetric)`` for parameters), so both see exactly the same tensors. Then each
tensor's scale and zero point from ``calib show --json`` are compared with the observer's
``calculate_qparams()``, bit for bit in float32.

Exit status 0 when every tensor matches.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # the calib_capture package next to examples/

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver  # noqa: E402

from _model import calibration_batches, make_model  # noqa: E402
from calib_capture import CalibRun, find_calib, show  # noqa: E402
from calib_capture.torch import capture  # noqa: E402


class Tee:
    """A frame sink: sends each batch to calib and feeds the same tensors to torch observers."""

    def __init__(self, run: CalibRun, make_observer, min_dim: int = 0) -> None:
        self.run = run
        self.make_observer = make_observer
        self.min_dim = min_dim
        self.observers = {}
        self.unobserved = []

    def send(self, tensors) -> None:
        self.run.send(tensors)
        for name, tensor in tensors:
            if tensor.dim() < self.min_dim:
                self.unobserved.append(name)
                continue
            if name not in self.observers:
                self.observers[name] = self.make_observer()
            self.observers[name](tensor.float())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calib", help="the calib binary (default: $CALIB, then PATH)")
    parser.add_argument("--workdir", help="keep the database here (default: a temporary directory)")
    args = parser.parse_args()
    calib = find_calib(args.calib)
    version = subprocess.run([calib, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"torch {torch.__version__}, numpy {np.__version__}, calib {version} ({calib})")
    work = args.workdir or tempfile.mkdtemp(prefix="torch-minmax-")
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "calib.sqlite")
    if os.path.exists(db):
        os.remove(db)
    session = "torch-net"

    model = make_model()
    batches = calibration_batches()
    activations = CalibRun(session, db=db, calib=calib, extra_args=["--convention", "pytorch"])
    params = CalibRun(session, db=db, calib=calib, role="param", extra_args=["--convention", "pytorch"])
    act_tee = Tee(activations, lambda: MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine))
    param_tee = Tee(params, lambda: PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric), min_dim=2)
    # One calib run at a time per session: the activations' run ends before the weights' starts.
    with activations:
        with capture(model, run=act_tee) as cap, torch.no_grad():
            for batch in batches:
                model(batch)
    with params:
        param_tee.send(cap.param_tensors())
    print(f"capture: {cap.batches} forward calls, {cap.frames_sent} frames")
    print(f"  activations: {activations.summary}")
    print(f"  params:      {params.summary}")

    if param_tee.unobserved:
        print(f"  not compared (torch's PerChannelMinMaxObserver refuses 1-D tensors): {', '.join(param_tee.unobserved)}")

    encodings = show(session, db=db, calib=calib)["encodings"]
    observers = {**act_tee.observers, **param_tee.observers}
    failures = []
    for name, observer in observers.items():
        scale, zero_point = observer.calculate_qparams()
        entry = encodings[name]
        calib_scale = np.asarray(entry["scale"], dtype=np.float32).reshape(-1)
        calib_zero = np.asarray(entry["zero_point"], dtype=np.int64).reshape(-1)
        torch_scale = scale.detach().numpy().astype(np.float32).reshape(-1)
        torch_zero = zero_point.detach().numpy().astype(np.int64).reshape(-1)
        same = np.array_equal(calib_scale.view(np.uint32), torch_scale.view(np.uint32)) and np.array_equal(calib_zero, torch_zero)
        kind = "per-channel" if entry["per_channel_axis"] is not None else "per-tensor"
        print(f"  {name:18s} {entry['role']:10s} {kind:11s} scale[0] calib {float(calib_scale[0]):<12.9g} torch {float(torch_scale[0]):<12.9g} "
              f"zero_point[0] {calib_zero[0]} / {torch_zero[0]}  {'identical' if same else 'DIFFERENT'}")
        if not same:
            failures.append(name)
    print(f"{len(observers) - len(failures)}/{len(observers)} tensors with bit-identical scale and zero point")
    print("RESULT: " + ("identical" if not failures else "DIFFERENT: " + ", ".join(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
