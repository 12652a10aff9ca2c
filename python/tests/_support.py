"""Shared test helpers: the package on sys.path, the calib binary, temporary databases, a frame reader."""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
import unittest
from typing import Any, Dict, List, Optional, Tuple

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(PYTHON_DIR)
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)  # test the source tree, installed or not


def find_calib_for_tests() -> Tuple[Optional[str], str]:
    """(path, where) of the calib binary: $CALIB, ../.build/debug, ../.build/release, PATH; (None, why) if none."""
    env = os.environ.get("CALIB")
    if env:
        return env, "$CALIB"  # used even if broken: a wrong $CALIB must fail the tests, not skip them
    for build in ("debug", "release"):
        path = os.path.join(REPO_DIR, ".build", build, "calib")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path, f".build/{build}"
    found = shutil.which("calib")
    if found:
        return found, "PATH"
    return None, (
        "no calib binary: set $CALIB, or build one ('swift build' makes ../.build/debug/calib), or put calib on PATH"
    )


CALIB, CALIB_WHERE = find_calib_for_tests()
requires_calib = unittest.skipUnless(CALIB, CALIB_WHERE)


def optional(module: str):
    """Skip unless ``module`` imports."""
    try:
        __import__(module)
    except Exception as error:  # noqa: BLE001 - any failure to import means "not installed here"
        return unittest.skip(f"{module} is not importable ({type(error).__name__}: {error})")
    return lambda cls: cls


class TempDir(unittest.TestCase):
    """A test case with a fresh temporary directory and database path."""

    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="calib-capture-test-")
        self.tmp = self._tmp.name
        self.db = os.path.join(self.tmp, "calib.sqlite")

    def tearDown(self) -> None:
        self._tmp.cleanup()


def read_frames(data: bytes) -> List[Tuple[Dict[str, Any], bytes]]:
    """Split concatenated safetensors frames into (header with key order kept, data bytes)."""
    frames = []
    at = 0
    while at < len(data):
        (n,) = struct.unpack_from("<Q", data, at)
        header = json.loads(data[at + 8 : at + 8 + n].decode("utf-8"))
        start = at + 8 + n
        end = start + max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
        frames.append((header, data[start:end]))
        at = end
    return frames
