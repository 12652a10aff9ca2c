"""calib_capture.aimet (runs only where aimet-torch imports, with a calib binary)."""

from __future__ import annotations

import logging
import subprocess
import unittest
import warnings

import numpy as np

import _support  # noqa: F401  (puts the package on sys.path)
from _support import CALIB, TempDir, optional, requires_calib


def has_aimet_torch_export() -> bool:
    if not CALIB:
        return False
    help_text = subprocess.run([CALIB, "export", "--help"], capture_output=True, text=True).stdout
    return "aimet-torch" in help_text


@optional("aimet_torch")
@requires_calib
class AimetTests(TempDir):
    def setUp(self) -> None:
        super().setUp()
        import torch
        from aimet_torch.quantsim import QuantizationSimModel

        warnings.filterwarnings("ignore")
        logging.disable(logging.WARNING)
        self.torch = torch
        torch.manual_seed(0)

        def model():
            torch.manual_seed(0)
            return torch.nn.Sequential(
                torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3)
            ).eval()

        self.make_sim = lambda: QuantizationSimModel(model(), torch.randn(1, 3, 8, 8))
        generator = torch.Generator().manual_seed(1)
        self.batches = [torch.randn(2, 3, 8, 8, generator=generator) for _ in range(3)]

    def forward_pass(self, model) -> None:
        with self.torch.no_grad():
            for batch in self.batches:
                model(batch)

    def test_capture_matches_compute_encodings(self) -> None:
        from calib_capture import aimet, show

        sim = self.make_sim()
        result = aimet.capture(sim, self.forward_pass, "a", db=self.db, calib=CALIB)
        self.assertEqual(result.batches, 3)
        self.assertEqual(result.summary.added, 3)
        self.assertEqual(result.params, ["0.weight", "3.weight"])
        self.assertIn("0.input.0", result.activations)
        encodings = show("a", db=self.db, calib=CALIB)["encodings"]
        quantizers = dict(aimet.activation_quantizers(sim.model))
        quantizers.update({n: q for n, q, _ in aimet.param_quantizers(sim.model)})
        self.assertEqual(sorted(quantizers), sorted(encodings))
        for name, q in quantizers.items():
            with self.subTest(quantizer=name):
                scale = np.asarray(encodings[name]["scale"], np.float32).reshape(-1)
                offset = np.asarray(encodings[name]["offset"], np.float32).reshape(-1)
                np.testing.assert_array_equal(scale, q.get_scale().detach().numpy().reshape(-1))
                np.testing.assert_array_equal(offset, q.get_offset().detach().numpy().reshape(-1))

    def test_unsupported_analyzer_is_refused(self) -> None:
        from aimet_torch.quantsim import QuantizationSimModel

        from calib_capture import aimet

        sim = QuantizationSimModel(
            self.torch.nn.Sequential(self.torch.nn.Linear(4, 2)).eval(), self.torch.randn(1, 4), quant_scheme="tf_enhanced"
        )
        with self.assertRaises(aimet.UnsupportedQuantizerError) as caught:
            aimet.capture(sim, lambda m: m(self.torch.randn(1, 4)), "u", db=self.db, calib=CALIB)
        self.assertIn("min_max", str(caught.exception))

    def test_load_round_trip(self) -> None:
        if not has_aimet_torch_export():
            self.skipTest(f"{CALIB} has no 'calib export --format aimet-torch' yet")
        from calib_capture import aimet

        reference = self.make_sim()
        reference.compute_encodings(self.forward_pass)
        aimet.capture(self.make_sim(), self.forward_pass, "a", db=self.db, calib=CALIB)
        fresh = self.make_sim()
        aimet.load(fresh, self.db, "a", calib=CALIB)
        x = self.torch.randn(2, 3, 8, 8)
        with self.torch.no_grad():
            self.assertTrue(self.torch.equal(reference.model(x), fresh.model(x)))


if __name__ == "__main__":
    unittest.main()
