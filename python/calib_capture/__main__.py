"""``python -m calib_capture``: what the package does, and a .npy/.npz to frame-stream converter."""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional, Sequence

HELP = """\
calib-capture: stream calibration batches from PyTorch, AIMET or ONNX Runtime into calib.

calib (the command-line tool; build it with 'swift build -c release') keeps the statistics and
derives the encodings. This package captures the tensors each tool would calibrate, in model
order, and pipes them into 'calib run --session S -' as safetensors frames (one per batch). The
calib binary is found from calib=..., then $CALIB, then PATH.

PyTorch (module inputs, outputs and weights, named MODULE.input.N / MODULE.output.N / MODULE.PARAM):

    from calib_capture.torch import capture
    with capture(model, session="resnet-v1", db="calib.sqlite", extra_args=["--convention", "pytorch"]):
        for images, _ in loader:
            model(images)                 # one batch per forward call; weights go in at the end

AIMET (exactly what each enabled quantizer of a QuantizationSimModel sees during compute_encodings):

    from calib_capture import aimet
    aimet.capture(sim, forward_pass_callback, session="resnet-aimet", db="calib.sqlite")
    aimet.load(sim, db="calib.sqlite", session="resnet-aimet")   # calib export --format aimet-torch

ONNX Runtime (the tensors quantize_static calibrates, under their ONNX names):

    from calib_capture import onnxruntime as ort_capture
    ort_capture.capture("model.onnx", data_reader, session="resnet-ort", db="calib.sqlite")
    ort_capture.quantize_static("model.onnx", "model.qdq.onnx", session="resnet-ort", db="calib.sqlite")
    # = calib export resnet-ort --db calib.sqlite --format onnxruntime-cache -o cache.json, then
    #   onnxruntime.quantization.quantize_static(..., None, calibration_cache_path="cache.json")

Plain numpy (any dtype calib reads; tensors keep the order given):

    from calib_capture import CalibRun
    with CalibRun("live", db="calib.sqlite") as run:
        run.send({"conv1.input.0": array})
    print(run.summary)

Commands:
    python -m calib_capture                     this help
    python -m calib_capture frames FILE... [-o OUT] [--one-batch]
                                                .npy/.npz files -> frames on stdout, for
                                                '| calib run --session S -'
    python -m calib_capture version
"""


def _frames(argv: Sequence[str]) -> int:
    import numpy as np

    from .frames import FrameError, write_frame

    parser = argparse.ArgumentParser(
        prog="python -m calib_capture frames",
        description="Write .npy/.npz files as concatenated safetensors frames (one batch per file, or one in all "
        "with --one-batch), for 'calib run --session S -'. An .npz file's members keep their archive order; "
        "an .npy file's tensor is named after its stem.",
    )
    parser.add_argument("files", nargs="+", help=".npy or .npz files, in batch order")
    parser.add_argument("-o", "--output", help="write the stream to this file instead of stdout")
    parser.add_argument("--one-batch", action="store_true", help="put every tensor of every file into one frame")
    args = parser.parse_args(argv)

    if args.output is None and sys.stdout.isatty():
        parser.error("the frame stream is binary: pipe it into 'calib run --session S -' or use -o FILE")

    def load(path: str) -> List:
        stem, ext = os.path.splitext(os.path.basename(path))
        if ext == ".npy":
            return [(stem, np.load(path, allow_pickle=False))]
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return [(name, archive[name]) for name in archive.files]
        raise SystemExit(f"calib_capture frames: error: {path}: not a .npy or .npz file")

    out = open(args.output, "wb") if args.output else sys.stdout.buffer
    try:
        batches = [[item for path in args.files for item in load(path)]] if args.one_batch else None
        try:
            if batches is not None:
                write_frame(out, batches[0])
            else:
                for path in args.files:
                    write_frame(out, load(path))
            out.flush()
        except FrameError as error:
            raise SystemExit(f"calib_capture frames: error: {error}") from None
        except BrokenPipeError:
            sys.stderr.write("calib_capture frames: error: the reader closed the pipe (see its message above)\n")
            return 1
    finally:
        if args.output:
            out.close()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(HELP)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "frames":
        return _frames(rest)
    if command in ("version", "--version"):
        from . import __version__

        print(f"calib-capture {__version__}")
        return 0
    sys.stderr.write(f"calib_capture: error: unknown command {command!r}: run 'python -m calib_capture' for help\n")
    return 64


if __name__ == "__main__":
    sys.exit(main())
