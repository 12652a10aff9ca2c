"""The in-tree build backend: the wheel it writes, and its fallback TOML reader."""

from __future__ import annotations

import os
import sys
import tempfile
import unittest
import zipfile

import _support  # noqa: F401  (puts the package on sys.path)
from _support import PYTHON_DIR

sys.path.insert(0, os.path.join(PYTHON_DIR, "build_backend"))
import calib_capture_build as backend  # noqa: E402


class BackendTests(unittest.TestCase):
    def test_wheel_holds_the_package_and_metadata(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            name = backend.build_wheel(tmp)
            self.assertEqual(name, "calib_capture-0.1.0-py3-none-any.whl")
            with zipfile.ZipFile(os.path.join(tmp, name)) as wheel:
                names = wheel.namelist()
                metadata = wheel.read("calib_capture-0.1.0.dist-info/METADATA").decode()
                record = wheel.read("calib_capture-0.1.0.dist-info/RECORD").decode()
        for module in ("__init__", "__main__", "frames", "run", "torch", "aimet", "onnxruntime"):
            self.assertIn(f"calib_capture/{module}.py", names)
        self.assertIn("calib_capture/py.typed", names)
        self.assertFalse([n for n in names if "__pycache__" in n or n.startswith("tests/")])
        self.assertIn("Name: calib-capture", metadata)
        self.assertIn("Requires-Dist: numpy\n", metadata)
        self.assertIn('Requires-Dist: onnxruntime ; extra == "onnxruntime"', metadata)
        self.assertIn("Requires-Python: >=3.9", metadata)
        self.assertEqual(len(record.strip().splitlines()), len(names))

    def test_editable_wheel_points_here(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            name = backend.build_editable(tmp)
            with zipfile.ZipFile(os.path.join(tmp, name)) as wheel:
                self.assertEqual(wheel.read("calib_capture.pth").decode().strip(), PYTHON_DIR)

    def test_minimal_toml_reads_our_pyproject_like_tomllib(self) -> None:
        try:
            import tomllib
        except ImportError:
            self.skipTest("tomllib needs Python 3.11+")
        with open(os.path.join(PYTHON_DIR, "pyproject.toml"), encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(backend._minimal_toml(text), tomllib.loads(text))


if __name__ == "__main__":
    unittest.main()
