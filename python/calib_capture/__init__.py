"""calib-capture: feed calibration batches from PyTorch, AIMET and ONNX Runtime into calib.

calib (the command-line tool) stores calibration statistics and derives encodings; this package
is a thin client of it. It captures the tensors a quantization tool would calibrate, writes them
as safetensors frames in model order, streams them into ``calib run -``, and reads calib's
exports back into the tool.

- :mod:`calib_capture.frames`: write a batch as a safetensors frame (numpy or torch tensors, any
  dtype calib reads), keeping the tensors' order.
- :mod:`calib_capture.run`: :class:`CalibRun` (stream frames into ``calib run -``, calib's errors as
  :class:`CalibError`), :func:`export`, :func:`show`.
- :mod:`calib_capture.torch`: capture a torch model's module inputs, outputs and weights.
- :mod:`calib_capture.aimet`: calibrate an aimet-torch QuantizationSimModel through calib and load
  calib's encodings back into it.
- :mod:`calib_capture.onnxruntime`: capture the tensors ``quantize_static`` calibrates.

Only numpy is required; torch, aimet-torch and onnxruntime are imported only by the module that
needs them. ``python -m calib_capture`` prints the workflows.
"""

from .frames import FrameError, FrameWriter, RawTensor, encode_frame, write_file, write_frame
from .run import CalibError, CalibNotFoundError, CalibRun, Summary, calib_command, export, find_calib, parse_summary, show

__version__ = "0.1.0"

__all__ = [
    "CalibError",
    "CalibNotFoundError",
    "CalibRun",
    "FrameError",
    "FrameWriter",
    "RawTensor",
    "Summary",
    "calib_command",
    "encode_frame",
    "export",
    "find_calib",
    "parse_summary",
    "show",
    "write_file",
    "write_frame",
]
