"""Frames and runs against the calib binary ($CALIB, ../.build/debug|release/calib, or PATH)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest

import numpy as np

import _support  # noqa: F401  (puts the package on sys.path)
from _support import CALIB, PYTHON_DIR, TempDir, requires_calib
from calib_capture import (
    CalibError,
    CalibNotFoundError,
    CalibRun,
    RawTensor,
    encode_frame,
    export,
    find_calib,
    parse_summary,
    show,
    write_file,
)
from calib_capture.run import run_inputs


class SummaryParsingTests(unittest.TestCase):
    def test_parses_calib_run_summary(self) -> None:
        line = "session 's': 2 batches added, 1 skipped as duplicates, 3 in total; 15 tensors; 0.0 MB in 0.01 s (0 MB/s)"
        summary = parse_summary("skipped stdin#0: ...\n" + line + "\n")
        self.assertEqual((summary.session, summary.added, summary.skipped, summary.total, summary.tensors), ("s", 2, 1, 3, 15))
        self.assertEqual(summary.line, line)
        self.assertEqual(str(summary), line)

    def test_singular_forms_and_odd_session_names(self) -> None:
        summary = parse_summary("session 'it's: x': 1 batch added, 0 skipped as duplicate, 1 in total; 1 tensor; …")
        self.assertEqual((summary.session, summary.added, summary.tensors), ("it's: x", 1, 1))

    def test_no_summary(self) -> None:
        with self.assertRaises(ValueError):
            parse_summary("something else\n")


class FindCalibTests(unittest.TestCase):
    def test_missing_path_says_how_to_fix(self) -> None:
        with self.assertRaises(CalibNotFoundError) as caught:
            find_calib("/nonexistent/dir/calib")
        self.assertIn("does not exist", str(caught.exception))
        self.assertIn("$CALIB", str(caught.exception))

    def test_missing_name_on_path(self) -> None:
        with self.assertRaises(CalibNotFoundError) as caught:
            find_calib("calib-that-is-not-installed-anywhere")
        self.assertIn("PATH", str(caught.exception))

    def test_run_with_missing_binary(self) -> None:
        with self.assertRaises(CalibNotFoundError):
            with CalibRun("s", calib="/nonexistent/dir/calib"):
                pass

    def test_env_calib_is_a_binary_when_set(self) -> None:
        if not os.environ.get("CALIB"):
            self.skipTest("$CALIB is not set")
        path = os.environ["CALIB"]
        self.assertTrue(os.path.isfile(path) and os.access(path, os.X_OK), f"$CALIB={path!r} is not an executable file")


@requires_calib
class CalibRunTests(TempDir):
    def run_frames(self, batches, session="s", extra_args=(), **kwargs):
        with CalibRun(session, db=self.db, calib=CALIB, extra_args=extra_args, **kwargs) as run:
            for batch in batches:
                run.send(batch)
        return run

    def encodings(self, session="s"):
        return show(session, db=self.db, calib=CALIB)["encodings"]

    def test_every_dtype_reads_back(self) -> None:
        values = {
            "f32": np.array([-1.5, 2.25], np.float32),
            "f64": np.array([[-3.0], [7.5]], np.float64),
            "f16": np.array([-65504.0, 0.5], np.float16),
            "i8": np.array([-128, 127], np.int8),
            "u8": np.array([0, 255], np.uint8),
            "i16": np.array([-32768, 5], np.int16),
            "u16": np.array([3, 65535], np.uint16),
            "i32": np.array([-100000, 4], np.int32),
            "u32": np.array([1, 4000000], np.uint32),
            "i64": np.array([-7, 9], np.int64),
            "u64": np.array([2, 11], np.uint64),
            "bool": np.array([True, False]),
            "big_endian": np.array([-0.25, 8.0], ">f4"),
            "scalar": np.float32(3.5),
        }
        run = self.run_frames([values])
        self.assertEqual(run.summary.added, 1)
        self.assertEqual(run.summary.tensors, len(values))
        encodings = self.encodings()
        for name, array in values.items():
            with self.subTest(tensor=name):
                as_float = np.asarray(array).astype(np.float64)
                self.assertEqual(encodings[name]["observed_min"], float(as_float.min()))
                self.assertEqual(encodings[name]["observed_max"], float(as_float.max()))
                self.assertEqual(encodings[name]["elements"], np.asarray(array).size)

    def test_bf16_and_f16_values(self) -> None:
        floats = np.array([-3.0, 0.15625, 96.0], np.float32)  # exactly representable in bf16 and f16
        bits = (floats.view(np.uint32) >> 16).astype(np.uint16)
        self.run_frames([{"bf": RawTensor(bits, "BF16"), "half": floats.astype(np.float16), "half_bits": RawTensor(floats.astype(np.float16).view(np.uint16), "F16")}])
        encodings = self.encodings()
        for name in ("bf", "half", "half_bits"):
            with self.subTest(tensor=name):
                self.assertEqual(encodings[name]["observed_min"], -3.0)
                self.assertEqual(encodings[name]["observed_max"], 96.0)

    def test_tensor_order_is_kept(self) -> None:
        names = ["relu2.output.0", "conv1.input.0", "fc.output.0", "a.weight", "Z", "b"]
        self.run_frames([{n: np.ones(2, np.float32) * i for i, n in enumerate(names)}])
        self.assertEqual(list(self.encodings()), names)
        exported = json.loads(export("s", "json", db=self.db, calib=CALIB))
        self.assertEqual(list(exported["encodings"]), names)
        # A later batch listing them in another order does not reorder the session.
        self.run_frames([{n: np.ones(2, np.float32) for n in reversed(names)}])
        self.assertEqual(list(self.encodings()), names)

    def test_summary_counts_added_and_skipped(self) -> None:
        batches = [{"x": np.full(3, i, np.float32)} for i in range(3)]
        first = self.run_frames(batches)
        self.assertEqual((first.summary.added, first.summary.skipped, first.summary.total, first.summary.tensors), (3, 0, 3, 1))
        self.assertEqual(first.batches_sent, 3)
        again = self.run_frames(batches + [{"x": np.full(3, 9, np.float32)}])
        self.assertEqual((again.summary.added, again.summary.skipped, again.summary.total), (1, 3, 4))
        self.assertIn("skipped stdin#0", again.stderr)
        self.assertTrue(again.summary.line.startswith("session 's': 1 batch added"))

    def test_role_param(self) -> None:
        self.run_frames([{"conv.weight": np.arange(6, dtype=np.float32).reshape(3, 2) - 2}], role="param")
        entry = self.encodings()["conv.weight"]
        self.assertEqual((entry["role"], entry["per_channel_axis"], entry["symmetric"]), ("param", 0, True))

    def test_metadata_is_accepted(self) -> None:
        run = self.run_frames([[("x", np.ones(2, np.float32))]], extra_args=["--note", "n"])
        self.assertEqual(run.summary.added, 1)
        with CalibRun("m", db=self.db, calib=CALIB) as meta:
            meta.send({"x": np.ones(2, np.float32)}, metadata={"producer": "tests"})
        self.assertEqual(meta.summary.added, 1)

    def test_invalid_flag_raises_calib_message(self) -> None:
        with self.assertRaises(CalibError) as caught:
            self.run_frames([{"x": np.ones(2, np.float32)}], extra_args=["--bogus"])
        error = caught.exception
        self.assertIn("Unknown option '--bogus'", error.message)
        self.assertEqual(error.returncode, 64)
        self.assertIn("exited with status 64", str(error))

    def test_invalid_value_raises_calib_message(self) -> None:
        with self.assertRaises(CalibError) as caught:
            self.run_frames([{"x": np.ones(2, np.float32)}], extra_args=["--bitwidth", "99"])
        self.assertIn("99", caught.exception.message)
        self.assertNotEqual(caught.exception.returncode, 0)

    def test_shape_change_raises_with_batch_and_tensor(self) -> None:
        with self.assertRaises(CalibError) as caught:
            self.run_frames(
                [{"x": np.ones((2, 3), np.float32)}, {"x": np.ones((2, 4), np.float32)}],
                extra_args=["--per-channel-axis", "1"],
            )
        error = caught.exception
        self.assertEqual(error.returncode, 1)
        self.assertIn("stdin#1", error.message)
        self.assertIn("'x'", error.message)
        self.assertIn("per-channel axis 1", error.message)
        self.assertNotIn("calib: error:", error.message)
        # The batch before the bad one is stored; a re-run resumes after it.
        self.assertEqual(self.encodings()["x"]["batches"], 1)

    def test_early_exit_is_a_calib_error_not_a_broken_pipe(self) -> None:
        big = np.zeros((1024, 1024), np.float32)  # 4 MiB frames: the pipe fills, and the write fails
        raised_in_send = False
        with self.assertRaises(CalibError) as caught:
            with CalibRun("s", db=self.db, calib=CALIB, extra_args=["--per-channel-axis", "0"]) as run:
                run.send({"x": np.ones((3, 2), np.float32)})
                try:
                    for i in range(64):
                        run.send({"x": big + i})
                except CalibError:
                    raised_in_send = True
                    raise
        self.assertTrue(raised_in_send, "send() itself raised CalibError once calib had stopped")
        self.assertIn("stdin#1", caught.exception.message)
        self.assertIn("per-channel axis 0", caught.exception.message)
        self.assertNotIsInstance(caught.exception, BrokenPipeError)

    def test_exception_in_block_keeps_sent_batches(self) -> None:
        with self.assertRaises(KeyError):
            with CalibRun("s", db=self.db, calib=CALIB) as run:
                run.send({"x": np.ones(2, np.float32)})
                run.send({"x": np.zeros(2, np.float32)})
                raise KeyError("loader failed")
        self.assertEqual(run.returncode, 0)
        self.assertEqual(self.encodings()["x"]["batches"], 2)

    def test_stream_cut_mid_frame_names_the_frame(self) -> None:
        first = encode_frame({"x": np.ones(4, np.float32)})
        second = encode_frame({"x": np.zeros(4, np.float32)})
        for cut, what in ((len(second) - 5, "data"), (12, "header"), (3, "header-length")):
            with self.subTest(cut=cut):
                process = subprocess.run(
                    [CALIB, "run", "--db", self.db, "--session", f"cut{cut}", "-"],
                    input=first + second[:cut], capture_output=True,
                )
                stderr = process.stderr.decode()
                self.assertEqual(process.returncode, 1, stderr)
                self.assertIn("stdin#1", stderr)
                self.assertIn("ends mid-frame", stderr)
                self.assertIn(what, stderr)
                self.assertEqual(show(f"cut{cut}", db=self.db, calib=CALIB)["encodings"]["x"]["batches"], 1)

    def test_cut_stream_through_calibrun(self) -> None:
        partial = encode_frame({"x": np.ones(4, np.float32)})[:-3]
        with self.assertRaises(CalibError) as caught:
            with CalibRun("s", db=self.db, calib=CALIB) as run:
                run.send({"x": np.ones(4, np.float32)})
                run._process.stdin.write(partial)  # a producer that died mid-frame
        self.assertIn("stdin#1", caught.exception.message)
        self.assertIn("mid-frame", caught.exception.message)

    def test_run_with_no_batch(self) -> None:
        # calib either reports an empty run or refuses to create a session from nothing; both come back
        # as calib said them.
        try:
            summary = CalibRun("s", db=self.db, calib=CALIB).close()
        except CalibError as error:
            self.assertIn("no batch", error.message)
            self.assertNotEqual(error.returncode, 0)
        else:
            self.assertEqual((summary.added, summary.total), (0, 0))

    def test_export_and_run_inputs_helpers(self) -> None:
        path = os.path.join(self.tmp, "batch.safetensors")
        write_file(path, {"b": np.array([0.0, 2.0], np.float32), "a": np.array([-1.0, 1.0], np.float32)})
        summary = run_inputs("files", [path], db=self.db, calib=CALIB)
        self.assertEqual((summary.added, summary.tensors), (1, 2))
        csv_path = os.path.join(self.tmp, "out.csv")
        self.assertIsNone(export("files", "csv", csv_path, db=self.db, calib=CALIB))
        with open(csv_path) as f:
            rows = f.read().splitlines()
        self.assertTrue(rows[0].startswith("tensor,role,channel"))
        self.assertEqual([r.split(",")[0] for r in rows[1:]], ["b", "a"])
        text = export("files", "aimet", db=self.db, calib=CALIB)
        self.assertIn("activation_encodings", text)
        with self.assertRaises(CalibError) as caught:
            export("no-such-session", "json", db=self.db, calib=CALIB)
        self.assertIn("no-such-session", caught.exception.message)

    def test_python_m_frames_pipes_into_calib(self) -> None:
        npz = os.path.join(self.tmp, "batch.npz")
        np.savez(npz, zeta=np.ones(3, np.float32), alpha=np.arange(4, dtype=np.int16))
        npy = os.path.join(self.tmp, "gamma.npy")
        np.save(npy, np.full(2, 7.0, np.float64))
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
        producer = subprocess.run([sys.executable, "-m", "calib_capture", "frames", npz, npy], capture_output=True, env=env)
        self.assertEqual(producer.returncode, 0, producer.stderr.decode())
        consumer = subprocess.run([CALIB, "run", "--db", self.db, "--session", "np", "-"], input=producer.stdout, capture_output=True)
        self.assertEqual(consumer.returncode, 0, consumer.stderr.decode())
        self.assertEqual(parse_summary(consumer.stdout.decode()).added, 2)
        self.assertEqual(list(show("np", db=self.db, calib=CALIB)["encodings"]), ["zeta", "alpha", "gamma"])


class MainTests(unittest.TestCase):
    def test_help(self) -> None:
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
        done = subprocess.run([sys.executable, "-m", "calib_capture"], capture_output=True, text=True, env=env)
        self.assertEqual(done.returncode, 0)
        for fragment in ("calib_capture.torch", "aimet.capture", "onnxruntime", "CalibRun", "frames"):
            self.assertIn(fragment, done.stdout)

    def test_unknown_command(self) -> None:
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
        done = subprocess.run([sys.executable, "-m", "calib_capture", "nope"], capture_output=True, text=True, env=env)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("python -m calib_capture", done.stderr)


if __name__ == "__main__":
    unittest.main()
