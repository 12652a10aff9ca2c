"""calib_capture.torch (runs only where torch imports; the calib tests also need the binary)."""

from __future__ import annotations

import io
import unittest

import numpy as np

import _support  # noqa: F401  (puts the package on sys.path)
from _support import CALIB, TempDir, optional, read_frames, requires_calib

try:
    import torch
except Exception:  # noqa: BLE001
    torch = None


def small_model():
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 3, 3)
            self.act = torch.nn.ReLU(inplace=True)
            self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5))

        def forward(self, x):
            return self.head(self.act(self.conv(x)))

    return Net().eval()


@optional("torch")
class TorchFrameTests(unittest.TestCase):
    def test_torch_tensors_in_frames(self) -> None:
        from calib_capture import encode_frame

        t = torch.arange(6, dtype=torch.float32).reshape(2, 3).requires_grad_()
        bf = torch.tensor([1.0, -2.5], dtype=torch.bfloat16)
        [(header, body)] = read_frames(encode_frame({"t": t.t(), "bf": bf, "h": t.detach().half()}))
        self.assertEqual([header[k]["dtype"] for k in ("t", "bf", "h")], ["F32", "BF16", "F16"])
        self.assertEqual(header["t"]["shape"], [3, 2])
        self.assertEqual(body[:24], t.detach().t().contiguous().numpy().tobytes())
        self.assertEqual(body[24:28], bf.view(torch.int16).numpy().tobytes())

    def test_unsupported_torch_dtype_says_what_to_do(self) -> None:
        from calib_capture import FrameError, encode_frame

        with self.assertRaises(FrameError) as caught:
            encode_frame({"c": torch.ones(2, dtype=torch.complex64)})
        self.assertIn("complex", str(caught.exception))

    def test_capture_to_a_frame_writer(self) -> None:
        from calib_capture import FrameWriter
        from calib_capture.torch import capture

        model = small_model()
        stream = io.BytesIO()
        with capture(model, run=FrameWriter(stream)) as cap, torch.no_grad():
            model(torch.randn(2, 2, 6, 6))
            model(torch.randn(2, 2, 6, 6))
        frames = read_frames(stream.getvalue())
        self.assertEqual(cap.batches, 2)
        self.assertEqual(len(frames), 2)
        self.assertEqual(
            list(frames[0][0]),
            ["conv.input.0", "conv.output.0", "act.input.0", "act.output.0", "head.0.input.0", "head.0.output.0",
             "head.1.input.0", "head.1.output.0"],
        )
        # conv's output was copied before the in-place ReLU overwrote it.
        conv_out = np.frombuffer(frames[0][1], np.float32, offset=frames[0][0]["conv.output.0"]["data_offsets"][0],
                                 count=2 * 3 * 4 * 4)
        self.assertLess(conv_out.min(), 0.0)
        names = [n for n, _ in cap.param_tensors()]
        self.assertEqual(names, ["conv.weight", "conv.bias", "head.1.weight", "head.1.bias"])

    def test_module_selection(self) -> None:
        from calib_capture.torch import select_modules

        model = small_model()
        self.assertEqual([n for n, _ in select_modules(model, ["conv", "head.*"])], ["conv", "head.0", "head.1"])
        self.assertEqual([n for n, _ in select_modules(model, None, exclude="head.*")], ["conv", "act"])
        with self.assertRaises(ValueError) as caught:
            select_modules(model, ["nope*"])
        self.assertIn("'conv'", str(caught.exception))


@optional("torch")
@requires_calib
class TorchCalibTests(TempDir):
    def test_capture_streams_batches_and_params(self) -> None:
        from calib_capture import show
        from calib_capture.torch import capture

        model = small_model()
        with capture(model, session="t", db=self.db, calib=CALIB, outputs=False, extra_args=["--convention", "pytorch"]) as cap:
            with torch.no_grad():
                for _ in range(3):
                    model(torch.randn(2, 2, 6, 6))
        self.assertEqual((cap.summary.added, cap.summary.tensors), (3, 4))
        self.assertEqual(cap.param_summary.added, 1)
        encodings = show("t", db=self.db, calib=CALIB)["encodings"]
        self.assertEqual(
            list(encodings),
            ["conv.input.0", "act.input.0", "head.0.input.0", "head.1.input.0",
             "conv.weight", "conv.bias", "head.1.weight", "head.1.bias"],
        )
        self.assertEqual(encodings["conv.weight"]["role"], "param")
        self.assertEqual(encodings["conv.input.0"]["convention"], "pytorch")

    def test_reused_module_adds_frames(self) -> None:
        from calib_capture.torch import capture

        relu = torch.nn.ReLU()

        class Twice(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.relu = relu

            def forward(self, x):
                return self.relu(self.relu(x) - 1)

        model = Twice()
        with capture(model, session="r", db=self.db, calib=CALIB) as cap:
            model(torch.randn(4))
        self.assertEqual((cap.batches, cap.frames_sent, cap.summary.added), (1, 2, 2))

    def test_bf16_model(self) -> None:
        from calib_capture import show
        from calib_capture.torch import capture

        model = torch.nn.Sequential(torch.nn.Linear(4, 3)).to(torch.bfloat16)
        x = torch.tensor([[1.0, -2.0, 0.5, 4.0]], dtype=torch.bfloat16)
        with capture(model, session="bf", db=self.db, calib=CALIB, params=False):
            with torch.no_grad():
                model(x)
        entry = show("bf", db=self.db, calib=CALIB)["encodings"]["0.input.0"]
        self.assertEqual((entry["observed_min"], entry["observed_max"]), (-2.0, 4.0))

    def test_calib_error_surfaces_from_the_forward_call(self) -> None:
        from calib_capture import CalibError
        from calib_capture.torch import capture

        model = torch.nn.Sequential(torch.nn.Identity())
        with self.assertRaises(CalibError) as caught:
            with capture(model, session="e", db=self.db, calib=CALIB, extra_args=["--per-channel-axis", "1"]):
                model(torch.ones(2, 3))
                for i in range(64):
                    model(torch.ones(1024, 1024 + i))
        self.assertIn("stdin#1", caught.exception.message)


if __name__ == "__main__":
    unittest.main()
