"""AIMET round trip: calib's calibration of a QuantizationSimModel, loaded back, against AIMET's own.

    python examples/aimet_roundtrip.py --calib /path/to/calib

Needs torch and aimet-torch (2.42), and a calib binary. Steps:

1. sim A: a QuantizationSimModel of a Conv-BN-ReLU x2 -> pool -> Linear network computes its own
   encodings (``sim.compute_encodings``) on 8 seeded batches; ``sim.export`` writes AIMET's
   ``_torch.encodings`` for reference.
2. sim B: the same model and batches, calibrated through ``calib_capture.aimet.capture`` (AIMET's
   compute_encodings pass with calib observing what every enabled quantizer sees).
3. calib's own numbers (``calib show --json``) against sim A's quantizers, scale and offset.
4. ``calib export --format aimet-torch``, compared byte for byte with sim A's ``_torch.encodings``,
   then ``sim.load_encodings`` into sim B and into a fresh, never-calibrated sim C.
5. Outputs of A, B and C on a test input, and every quantizer's scale and offset, compared bit for bit.

Exit status 0 when everything is identical, 1 when something differs, 3 when the calib binary has no
``aimet-torch`` export yet (steps 1-3 still run).
"""

from __future__ import annotations

import argparse
import filecmp
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
import torch  # noqa: E402

import aimet_torch  # noqa: E402
from aimet_torch.quantsim import QuantizationSimModel  # noqa: E402

from _model import calibration_batches, make_model, test_input  # noqa: E402
from calib_capture import CalibError, aimet, find_calib, show  # noqa: E402


def quantizers(sim):
    """Every enabled quantizer of sim.model by its calib tensor name."""
    found = dict(aimet.activation_quantizers(sim.model))
    found.update({name: q for name, q, _ in aimet.param_quantizers(sim.model)})
    return found


def same_quantizers(a, b):
    """Names of the quantizers whose scale or offset differ between two sims (bit for bit)."""
    qa, qb = quantizers(a), quantizers(b)
    differ = sorted(set(qa) ^ set(qb))
    for name in sorted(set(qa) & set(qb)):
        sa, sb = qa[name].get_scale(), qb[name].get_scale()
        oa, ob = qa[name].get_offset(), qb[name].get_offset()
        if sa is None or sb is None or not (torch.equal(sa, sb) and torch.equal(oa, ob)):
            differ.append(name)
    return len(qa), differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calib", help="the calib binary (default: $CALIB, then PATH)")
    parser.add_argument("--workdir", help="keep the database and files here (default: a temporary directory)")
    args = parser.parse_args()
    calib = find_calib(args.calib)
    version = subprocess.run([calib, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"torch {torch.__version__}, aimet-torch {aimet_torch.__version__}, numpy {np.__version__}, calib {version} ({calib})")

    work = args.workdir or tempfile.mkdtemp(prefix="aimet-roundtrip-")
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "calib.sqlite")
    if os.path.exists(db):
        os.remove(db)
    session = "aimet-net"

    batches = calibration_batches()
    x = test_input()

    def forward_pass(model):
        with torch.no_grad():
            for batch in batches:
                model(batch)

    # 1. AIMET's own calibration.
    sim_a = QuantizationSimModel(make_model(), x)
    sim_a.compute_encodings(forward_pass)
    sim_a.export(work, "sim_a", x)
    aimet_file = os.path.join(work, "sim_a_torch.encodings")
    names = list(quantizers(sim_a))
    print(f"sim A: AIMET compute_encodings on {len(batches)} batches; {len(names)} enabled quantizers: {', '.join(names)}")

    # 2. Through calib.
    sim_b = QuantizationSimModel(make_model(), x)
    result = aimet.capture(sim_b, forward_pass, session, db=db, calib=calib)
    print(f"sim B: calib_capture.aimet.capture: {result.batches} batches")
    print(f"  activations: {result.summary}")
    print(f"  params:      {result.param_summary}")

    # 3. calib's numbers against sim A's quantizers.
    encodings = show(session, db=db, calib=calib)["encodings"]
    mismatched = []
    for name, q in quantizers(sim_a).items():
        entry = encodings.get(name)
        if entry is None:
            mismatched.append(name)
            continue
        scale = np.asarray(entry["scale"], dtype=np.float32).reshape(-1)
        offset = np.asarray(entry["offset"], dtype=np.float32).reshape(-1)
        aimet_scale = q.get_scale().detach().float().numpy().reshape(-1)
        aimet_offset = q.get_offset().detach().float().numpy().reshape(-1)
        if not (np.array_equal(scale, aimet_scale) and np.array_equal(offset, aimet_offset)):
            mismatched.append(name)
    print(
        f"calib show --json vs sim A: {len(names) - len(mismatched)}/{len(names)} quantizers with identical scale and offset"
        + (f"; differ: {', '.join(mismatched)}" if mismatched else "")
    )

    # 4. Export aimet-torch and load it back.
    calib_file = os.path.join(work, f"{session}_torch.encodings")
    try:
        aimet.load(sim_b, db, session, calib=calib, keep=calib_file)
    except CalibError as error:
        said = " ".join(error.message.split())
        print(f"calib export --format aimet-torch failed (exit status {error.returncode}): {said[:160]}{'…' if len(said) > 160 else ''}")
        if "aimet-torch" in str(error):
            print("STOPPED: this calib binary has no 'aimet-torch' export yet; steps 4-5 (load_encodings, bit-identical outputs)")
            print("need a calib that has it. Rerun this script with that binary: python examples/aimet_roundtrip.py --calib PATH")
            return 3
        raise
    identical_file = filecmp.cmp(aimet_file, calib_file, shallow=False)
    print(f"calib export --format aimet-torch vs sim A's sim.export _torch.encodings: byte-identical: {identical_file}")
    print("sim B: sim.load_encodings(calib's export): loaded")
    sim_c = QuantizationSimModel(make_model(), x)
    aimet.load(sim_c, db, session, calib=calib)
    print("sim C: a fresh QuantizationSimModel, never calibrated, sim.load_encodings(calib's export): loaded")

    # 5. Bit for bit.
    with torch.no_grad():
        out_a, out_b, out_c = sim_a.model(x), sim_b.model(x), sim_c.model(x)
    ok = True
    for label, out, sim in (("B", out_b, sim_b), ("C", out_c, sim_c)):
        equal = torch.equal(out_a, out)
        count, differ = same_quantizers(sim_a, sim)
        print(
            f"sim A vs sim {label}: outputs bit-identical: {equal} (max |diff| {float((out_a - out).abs().max()):.3g}); "
            f"quantizers with identical scale and offset: {count - len(differ)}/{count}"
            + (f"; differ: {', '.join(differ)}" if differ else "")
        )
        ok = ok and equal and not differ
    ok = ok and not mismatched
    print("RESULT: " + ("identical" if ok else "DIFFERENT"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
