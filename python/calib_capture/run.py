"""Drive the ``calib`` command-line tool: stream batches into ``calib run -``, and run its other commands.

The binary is found in this order: the ``calib=`` argument (a path, or a name looked up on
``PATH``), the ``$CALIB`` environment variable, then ``calib`` on ``PATH``.

Example::

    from calib_capture import CalibRun

    with CalibRun("resnet-v1", db="calibration.sqlite") as run:
        for images in loader:
            run.send({"conv1.input.0": images})
    print(run.summary)   # session 'resnet-v1': 32 batches added, 0 skipped as duplicates, ...

Nothing here computes an encoding: calib does that, and this module only moves bytes and reports
calib's own messages as :class:`CalibError`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Union

from .frames import Tensors, frame_parts, _write_parts

__all__ = [
    "CalibError",
    "CalibNotFoundError",
    "CalibRun",
    "Summary",
    "calib_command",
    "export",
    "find_calib",
    "parse_summary",
    "run_inputs",
    "show",
]

PathLike = Union[str, "os.PathLike[str]"]


class CalibError(RuntimeError):
    """calib failed. ``message`` is calib's own error text (``calib: error: ...`` without the prefix).

    Attributes: ``message``, ``returncode`` (None when calib never ran), ``stderr`` (all of it),
    ``command`` (the argument list).
    """

    def __init__(self, message: str, returncode: Optional[int] = None, stderr: str = "", command: Sequence[str] = ()) -> None:
        self.message = message
        self.returncode = returncode
        self.stderr = stderr
        self.command = list(command)
        what = " ".join(self.command[:2]) if self.command else "calib"
        if returncode is None:
            text = message
        else:
            text = f"{message} ({os.path.basename(what)} exited with status {returncode})"
        super().__init__(text)


class CalibNotFoundError(CalibError):
    """The calib binary could not be found or started."""


def find_calib(calib: Optional[PathLike] = None) -> str:
    """The path of the calib binary: ``calib`` if given, else ``$CALIB``, else ``calib`` on PATH.

    Raises :class:`CalibNotFoundError` saying how to point at the binary.
    """
    sources = []
    if calib is not None:
        sources.append((os.fspath(calib), "the calib= argument"))
    elif os.environ.get("CALIB"):
        sources.append((os.environ["CALIB"], "$CALIB"))
    else:
        sources.append(("calib", "PATH"))
    candidate, origin = sources[0]
    if os.sep in candidate or (os.altsep and os.altsep in candidate):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        state = "is not executable" if os.path.isfile(candidate) else "does not exist"
        raise CalibNotFoundError(
            f"calib binary {candidate!r} (from {origin}) {state}: build it with 'swift build -c release' "
            "and pass its path (.build/release/calib) as calib= or in $CALIB"
        )
    found = shutil.which(candidate)
    if found:
        return found
    raise CalibNotFoundError(
        f"cannot find {candidate!r} on PATH (from {origin}): build calib with 'swift build -c release', then "
        "put .build/release on PATH, set $CALIB to the binary, or pass calib='/path/to/calib'"
    )


def _error_message(stderr: str) -> str:
    """calib's error text out of its stderr: the ``calib: error:`` lines, else a usage error, else all of it."""
    lines = [line.rstrip() for line in stderr.splitlines()]
    errors = [line[len("calib: error: "):] for line in lines if line.startswith("calib: error: ")]
    if errors:
        return "\n".join(errors)
    for start, line in enumerate(lines):
        if line.startswith("Error: "):  # a usage error: the message runs until the Help:/Usage: lines
            text = line[len("Error: "):]
            items = []
            for more in lines[start + 1:]:
                if more.startswith(("Help:", "Usage:")) or not more.strip():
                    break
                if more.strip().startswith("- "):
                    items.append(more.strip()[2:])  # the list of allowed values
                else:
                    text += " " + more.strip()
            return text + (" " + ", ".join(items) if items else "")
    text = "\n".join(line for line in lines if line).strip()
    return text or "calib printed no message"


@dataclass(frozen=True)
class Summary:
    """The summary line of ``calib run``: ``session 'S': N batches added, K skipped as duplicates, T in total; M tensors; ...``."""

    session: str
    added: int
    skipped: int
    total: int
    tensors: int
    line: str

    def __str__(self) -> str:
        return self.line


_SUMMARY = re.compile(
    r"^session '(?P<session>.*)': (?P<added>\d+) batch(?:es)? added, (?P<skipped>\d+) skipped as duplicates?, "
    r"(?P<total>\d+) in total; (?P<tensors>\d+) tensors?\b"
)


def parse_summary(text: str) -> Summary:
    """Parse calib run's summary line (the last matching line of ``text``); ValueError if there is none."""
    for line in reversed(text.strip().splitlines()):
        match = _SUMMARY.match(line.strip())
        if match:
            return Summary(
                session=match["session"],
                added=int(match["added"]),
                skipped=int(match["skipped"]),
                total=int(match["total"]),
                tensors=int(match["tensors"]),
                line=line.strip(),
            )
    raise ValueError(f"no calib run summary line in {text!r}")


def _with_db(subcommand: str, args: Sequence[str], db: Optional[PathLike]) -> List[str]:
    command = [subcommand]
    if db is not None:
        command += ["--db", os.fspath(db)]
    return command + [os.fspath(a) for a in args]


def calib_command(
    subcommand: str,
    *args: Any,
    db: Optional[PathLike] = None,
    calib: Optional[PathLike] = None,
    input: Optional[bytes] = None,
    check: bool = True,
    env: Optional[Mapping[str, str]] = None,
) -> "subprocess.CompletedProcess[bytes]":
    """Run ``calib SUBCOMMAND [--db DB] ARGS...`` and return the finished process (stdout/stderr as bytes).

    With ``check=True`` (the default) a non-zero exit raises :class:`CalibError` with calib's message.
    ``calib diff`` exits 1 for "above the threshold": pass ``check=False`` and read ``returncode``.
    """
    binary = find_calib(calib)
    command = [binary] + _with_db(subcommand, [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in args], db)
    try:
        done = subprocess.run(
            command, input=input, stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True, env=None if env is None else dict(env),
        )
    except OSError as error:
        raise CalibNotFoundError(f"cannot start {binary!r}: {error}", command=command) from error
    if check and done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        raise CalibError(_error_message(stderr), done.returncode, stderr, command)
    return done


def export(
    session: str,
    format: str = "json",
    output: Optional[PathLike] = None,
    *,
    db: Optional[PathLike] = None,
    calib: Optional[PathLike] = None,
    extra_args: Sequence[str] = (),
) -> Optional[str]:
    """``calib export SESSION --format FORMAT [-o OUTPUT]``; returns the text when ``output`` is None.

    Formats: json, aimet, aimet-0.6.1, aimet-2.0.0, aimet-torch (calib versions that have it),
    onnxruntime (``output`` is a directory), onnxruntime-cache, tensorrt, csv. ``extra_args`` are
    more export options (``["--bitwidth", "4"]``, ``["--allow-incomplete"]``).
    """
    args: List[Any] = [session, "--format", format]
    if output is not None:
        args += ["-o", os.fspath(output)]
    done = calib_command("export", *args, *extra_args, db=db, calib=calib)
    return None if output is not None else done.stdout.decode("utf-8")


def show(
    session: str, *, db: Optional[PathLike] = None, calib: Optional[PathLike] = None, extra_args: Sequence[str] = ()
) -> Dict[str, Any]:
    """``calib show SESSION --json`` parsed: ``{"session", "convention", "encodings": {NAME: ...}, "details"}``.

    ``encodings`` keeps calib's model order (dicts keep insertion order).
    """
    done = calib_command("show", session, "--json", *extra_args, db=db, calib=calib)
    return json.loads(done.stdout.decode("utf-8"))


def run_inputs(
    session: str,
    inputs: Sequence[PathLike],
    *,
    db: Optional[PathLike] = None,
    calib: Optional[PathLike] = None,
    extra_args: Sequence[str] = (),
) -> Summary:
    """``calib run --session SESSION [--db DB] EXTRA INPUT...`` on files or directories; returns the summary."""
    done = calib_command("run", "--session", session, *extra_args, *[os.fspath(p) for p in inputs], db=db, calib=calib)
    return parse_summary(done.stdout.decode("utf-8"))


class CalibRun:
    """A running ``calib run --session SESSION [--db DB] [EXTRA ARGS] -`` fed batches as safetensors frames.

    Use it as a context manager; each :meth:`send` is one batch (one frame, ``stdin#N``). calib
    starts at the first :meth:`send` (or :meth:`start`), and one run at a time may write a session::

        with CalibRun("s", db="c.sqlite", extra_args=["--convention", "pytorch"]) as run:
            run.send({"x": array})
        run.summary.added   # 1

    Leaving the ``with`` block closes calib's input and waits for it: a failure raises
    :class:`CalibError` with calib's message and exit status, success sets :attr:`summary`. When
    calib stops early (a shape change, a bad flag), the next :meth:`send` raises that CalibError
    instead of a BrokenPipeError. When the block itself raises, the batches sent so far are still
    closed off cleanly and stored (calib commits whole batches; a re-run skips those already stored),
    and the block's own exception propagates.

    Arguments: ``session``; ``db`` (else ``$CALIB_DB``, else ``./calibration.sqlite``, as calib
    decides); ``calib`` (the binary; see :func:`find_calib`); ``extra_args`` (more ``calib run``
    options: ``["--convention", "pytorch"]``, ``["--per-channel-axis", "1"]``); ``role``
    (``"activation"`` or ``"param"``); ``model``, ``dataset``, ``note`` (provenance stored with the
    session); ``echo_stderr`` (copy calib's stderr notes, such as skipped duplicates, to
    ``sys.stderr`` as they come); ``env`` (the child's environment).
    """

    def __init__(
        self,
        session: str,
        db: Optional[PathLike] = None,
        calib: Optional[PathLike] = None,
        extra_args: Sequence[str] = (),
        role: Optional[str] = None,
        *,
        model: Optional[str] = None,
        dataset: Optional[str] = None,
        note: Optional[str] = None,
        echo_stderr: bool = False,
        env: Optional[Mapping[str, str]] = None,
    ) -> None:
        if not isinstance(session, str) or not session:
            raise ValueError("session must be a non-empty str: the name of the calib session to create or append to")
        if role not in (None, "activation", "param"):
            raise ValueError(f"role must be 'activation' or 'param', got {role!r}")
        if isinstance(extra_args, (str, bytes)):
            raise TypeError("extra_args must be a list of arguments, e.g. ['--convention', 'pytorch'], not one string")
        self.session = session
        self.db = db
        self.calib = calib
        args: List[str] = ["--session", session]
        if role is not None:
            args += ["--role", role]
        for flag, value in (("--model", model), ("--dataset", dataset), ("--note", note)):
            if value is not None:
                args += [flag, value]
        args += [os.fspath(a) for a in extra_args]
        self._args = args
        self.echo_stderr = echo_stderr
        self.env = None if env is None else dict(env)
        self.command: List[str] = []
        self.batches_sent = 0
        self.bytes_sent = 0
        self.summary: Optional[Summary] = None
        self.returncode: Optional[int] = None
        self._process: Optional["subprocess.Popen[bytes]"] = None
        self._stderr: List[str] = []
        self._stdout: List[bytes] = []
        self._threads: List[threading.Thread] = []
        self._error: Optional[CalibError] = None
        self._binary: Optional[str] = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "CalibRun":
        """Start the calib child process (``with`` does this)."""
        if self._process is not None:
            raise RuntimeError("this CalibRun was already started; make a new one for another run")
        binary = self._binary or find_calib(self.calib)
        self.command = [binary] + _with_db("run", self._args, self.db) + ["-"]
        try:
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env
            )
        except OSError as error:
            raise CalibNotFoundError(f"cannot start {binary!r}: {error}", command=self.command) from error
        self._threads = [
            threading.Thread(target=self._drain_stderr, args=(self._process.stderr,), daemon=True),
            threading.Thread(target=self._drain_stdout, args=(self._process.stdout,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _drain_stderr(self, pipe: IO[bytes]) -> None:
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace")
            self._stderr.append(line)
            if self.echo_stderr:
                sys.stderr.write(line)
                sys.stderr.flush()
        pipe.close()

    def _drain_stdout(self, pipe: IO[bytes]) -> None:
        self._stdout.append(pipe.read())
        pipe.close()

    @property
    def stderr(self) -> str:
        """Everything calib wrote to stderr so far (notes such as skipped duplicates, and errors)."""
        return "".join(self._stderr)

    @property
    def running(self) -> bool:
        return self._process is not None and self.returncode is None

    def send(self, tensors: Tensors, metadata: Optional[Mapping[str, str]] = None) -> None:
        """Send one batch (one frame): a mapping of names to numpy arrays or torch tensors, in model order.

        Raises :class:`CalibError` with calib's message if calib has stopped, and
        :class:`~calib_capture.frames.FrameError` (before anything is written) for a bad tensor.
        """
        if self._error is not None:
            raise self._error
        if self._process is None:
            self.start()
        elif self.returncode is not None:
            raise RuntimeError("this CalibRun is closed; make a new one for more batches")
        parts = frame_parts(tensors, metadata)
        assert self._process is not None and self._process.stdin is not None
        try:
            self.bytes_sent += _write_parts(self._process.stdin, parts)
        except (BrokenPipeError, ConnectionResetError, ValueError, OSError) as error:
            self._finish()
            failure = self._failure() or CalibError(
                f"calib stopped reading its input at batch {self.batches_sent} ({error}) but exited successfully",
                self.returncode, self.stderr, self.command,
            )
            self._error = failure
            raise failure from None
        self.batches_sent += 1

    def _finish(self) -> None:
        assert self._process is not None
        stdin = self._process.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.close()
            except (BrokenPipeError, OSError):
                pass
        self.returncode = self._process.wait()
        for thread in self._threads:
            thread.join()

    def _failure(self) -> Optional[CalibError]:
        if self.returncode:
            return CalibError(_error_message(self.stderr), self.returncode, self.stderr, self.command)
        return None

    def close(self) -> Summary:
        """Close calib's input, wait for it, and return the parsed summary (also in :attr:`summary`).

        Raises :class:`CalibError` with calib's message and exit status when calib failed.
        """
        if self._error is not None:
            raise self._error
        if self._process is None:
            self.start()  # a run with no batch: calib still applies its flags (re-derives encodings)
        if self.returncode is None:
            self._finish()
        failure = self._failure()
        if failure is not None:
            self._error = failure
            raise failure
        if self.summary is None:
            stdout = b"".join(self._stdout).decode("utf-8", "replace")
            try:
                self.summary = parse_summary(stdout)
            except ValueError:
                raise CalibError(
                    f"calib exited successfully but printed no summary line (stdout: {stdout!r}); is {self.command[0]!r} calib?",
                    self.returncode, self.stderr, self.command,
                ) from None
        return self.summary

    def __enter__(self) -> "CalibRun":
        # calib starts at the first send (or at close), so a block that fails before its first batch
        # leaves no trace; the binary is looked up now, so a missing one fails at once.
        if self._process is None and self._binary is None:
            self._binary = find_calib(self.calib)
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc_type is None:
            self.close()
            return
        # The block failed: end calib's input at a frame boundary so what was sent is stored, and let
        # the block's exception propagate. Report calib's own failure, if any, as a warning.
        if self._process is not None and self.returncode is None:
            self._finish()
        failure = self._failure()
        if failure is not None and failure is not exc and not isinstance(exc, CalibError):
            warnings.warn(f"calib also failed: {failure}", RuntimeWarning, stacklevel=2)
