"""Capture a PyTorch model's module inputs, outputs and weights into a calib session.

Example::

    from calib_capture.torch import capture

    with capture(model, session="resnet-v1", db="calib.sqlite", extra_args=["--convention", "pytorch"]) as cap:
        with torch.no_grad():
            for images, _ in loader:
                model(images)            # each forward call of the model is one batch
    print(cap.summary)                   # the activation run's summary
    print(cap.param_summary)             # the weights' run (--role param)

Forward hooks on the chosen modules (every leaf module by default) record each floating-point
input and output, named ``MODULE.input.N`` / ``MODULE.output.N`` (``N`` is the position among the
module's positional arguments, or in its flattened output tuple). One forward call of ``model``
is one batch: the tensors are sent as one frame, in the order they were produced, which calib keeps
as the model order. On leaving the block, the parameters of the hooked modules (``MODULE.PARAM``)
go into the same session as one frame of a second ``calib run --role param`` (symmetric, signed,
per-channel on axis 0 unless ``param_args`` say otherwise).

A module called more than once in one forward pass (a ReLU module reused, as torchvision's
ResNet blocks do) adds its later calls as extra frames of that batch, so the ranges cover every
call and an EMA observer sees one update per call, as torch's own observers do.

torch is imported by this module only; numpy is the only other requirement.
"""

from __future__ import annotations

import fnmatch
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

try:
    import torch
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"calib_capture.torch needs PyTorch ({error}): pip install torch, or pip install 'calib-capture[torch]'"
    ) from error

from .run import CalibRun, Summary

__all__ = ["capture", "select_modules", "flatten_output"]

Patterns = Union[str, Sequence[str], None]


def _patterns(value: Patterns) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def select_modules(model: torch.nn.Module, modules: Patterns = None, exclude: Patterns = ()) -> List[Tuple[str, torch.nn.Module]]:
    """The ``(name, module)`` pairs to hook, in ``named_modules()`` order.

    ``modules=None`` takes every leaf module (no children; the model itself when it has none).
    Otherwise each entry is a module name or an fnmatch glob (``"layer1.*"``, ``"*.relu"``); a
    pattern that matches nothing is an error listing some names. ``exclude`` globs remove modules.
    """
    named = [(name, module) for name, module in model.named_modules()]
    excluded = _patterns(exclude)
    if modules is None:
        chosen = [(n, m) for n, m in named if not any(True for _ in m.children())]
        if not chosen:
            chosen = [("", model)]
    else:
        chosen = []
        taken = set()
        for pattern in _patterns(modules):
            hits = [(n, m) for n, m in named if n == pattern or fnmatch.fnmatchcase(n, pattern)]
            if not hits:
                sample = ", ".join(repr(n) for n, _ in named[1:9]) or "(the model has no submodules)"
                raise ValueError(f"no module of the model is named or matches {pattern!r}; module names look like {sample}")
            for n, m in hits:
                if n not in taken:
                    taken.add(n)
                    chosen.append((n, m))
        order = {n: i for i, (n, _) in enumerate(named)}
        chosen.sort(key=lambda item: order[item[0]])
    return [(n, m) for n, m in chosen if not any(fnmatch.fnmatchcase(n, p) for p in excluded)]


def flatten_output(output: Any) -> List[Any]:
    """A module's output as a flat list: a tensor alone, tuple/list elements in order, dict values in order."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [leaf for item in output for leaf in flatten_output(item)]
    if isinstance(output, Mapping):
        return [leaf for item in output.values() for leaf in flatten_output(item)]
    return [output]


def _prefix(module_name: str) -> str:
    return f"{module_name}." if module_name else ""


class _Batcher:
    """Collects the tensors of one model forward pass into frames and sends them.

    Each tensor goes into the first frame of the batch that does not hold its name yet, so repeated
    calls of one module within a pass become extra frames instead of a name clash.
    """

    def __init__(self, send: Callable[[List[Tuple[str, Any]]], None]) -> None:
        self._send = send
        self.frames: Optional[List[Dict[str, Any]]] = None
        self.batches = 0
        self.frames_sent = 0
        self.outside = 0

    def begin(self) -> None:
        # A pass that raised never reached end(); its partial batch is dropped here.
        self.frames = []

    def add(self, name: str, tensor: Any) -> None:
        if self.frames is None:
            self.outside += 1
            return
        for frame in self.frames:
            if name not in frame:
                frame[name] = tensor
                return
        self.frames.append({name: tensor})

    def end(self) -> None:
        frames, self.frames = self.frames, None
        if not frames:
            return
        for frame in frames:
            self._send(list(frame.items()))
            self.frames_sent += 1
        self.batches += 1


def _snapshot(tensor: torch.Tensor) -> torch.Tensor:
    """A CPU copy taken now: the module may modify the tensor in place later (ReLU(inplace=True))."""
    t = tensor.detach()
    if type(t) is not torch.Tensor:
        t = t.as_subclass(torch.Tensor)  # quantized-tensor subclasses (AIMET) as plain tensors
    return t.to(device="cpu", copy=True)


class capture:
    """Context manager: hook ``model``'s modules and stream each forward call's tensors into calib.

    Arguments:

    - ``model``: the ``torch.nn.Module`` whose forward calls delimit batches.
    - ``session``, ``db``, ``calib``, ``extra_args``, ``model_name``, ``dataset``, ``note``,
      ``echo_stderr``: as for :class:`~calib_capture.run.CalibRun` (``extra_args`` are options of
      the activation run, e.g. ``["--convention", "pytorch"]``; ``model_name`` is ``--model``).
    - ``modules``: names or fnmatch globs of the modules to hook (default: every leaf module);
      ``exclude``: globs to leave out.
    - ``inputs``, ``outputs``: capture module inputs / outputs (both by default).
    - ``float_only``: capture floating-point tensors only (default True: integer inputs such as
      token ids are not calibrated).
    - ``params``: True (every parameter of the hooked modules), False, or globs of ``MODULE.PARAM``
      names (``"*.weight"``); sent on exit with ``--role param`` plus ``param_args``.
    - ``run``, ``param_run``: send frames to these instead (anything with ``send(tensors)``: a
      started :class:`~calib_capture.run.CalibRun` or a :class:`~calib_capture.frames.FrameWriter`);
      you then own their lifecycle. With ``run`` and no ``param_run``, no parameters are sent
      (:meth:`param_tensors` returns them).

    Attributes after the block: ``summary`` and ``param_summary`` (:class:`~calib_capture.run.Summary`,
    None when not run), ``batches`` (forward calls captured), ``frames_sent``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        session: Optional[str] = None,
        db: Optional[str] = None,
        *,
        modules: Patterns = None,
        exclude: Patterns = (),
        inputs: bool = True,
        outputs: bool = True,
        float_only: bool = True,
        params: Union[bool, str, Sequence[str]] = True,
        calib: Optional[str] = None,
        extra_args: Sequence[str] = (),
        param_args: Sequence[str] = (),
        model_name: Optional[str] = None,
        dataset: Optional[str] = None,
        note: Optional[str] = None,
        echo_stderr: bool = False,
        run: Any = None,
        param_run: Any = None,
    ) -> None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"capture() takes a torch.nn.Module, got {type(model).__name__}")
        if run is None and session is None:
            raise ValueError("pass session='NAME' (the calib session to stream into), or run= a CalibRun/FrameWriter")
        if not (inputs or outputs or params):
            raise ValueError("inputs, outputs and params are all off: nothing would be captured")
        self.model = model
        self.session = session
        self.db = db
        self.calib = calib
        self.extra_args = list(extra_args)
        self.param_args = list(param_args)
        self.provenance = {"model": model_name, "dataset": dataset, "note": note}
        self.echo_stderr = echo_stderr
        self.inputs = inputs
        self.outputs = outputs
        self.float_only = float_only
        self.params = params
        self.modules = select_modules(model, modules, exclude)
        if not self.modules:
            raise ValueError("no module left to hook: check modules= and exclude=")
        self._run = run
        self._owns_run = run is None
        self._param_run = param_run
        self._handles: List[Any] = []
        self._batcher: Optional[_Batcher] = None
        self.summary: Optional[Summary] = None
        self.param_summary: Optional[Summary] = None

    # -- what is captured ------------------------------------------------------------------------

    def _wanted(self, value: Any) -> bool:
        if not isinstance(value, torch.Tensor) or value.numel() == 0:
            return False
        if value.is_complex():
            return False
        return value.is_floating_point() or not self.float_only

    def param_tensors(self) -> List[Tuple[str, torch.Tensor]]:
        """The ``(MODULE.PARAM, tensor)`` pairs the param frame holds: the hooked modules' own parameters."""
        if self.params is False:
            return []
        globs = [] if self.params is True else _patterns(self.params)  # type: ignore[arg-type]
        seen = set()
        pairs = []
        for module_name, module in self.modules:
            for param_name, param in module.named_parameters(recurse=False):
                name = _prefix(module_name) + param_name
                if globs and not any(fnmatch.fnmatchcase(name, g) for g in globs):
                    continue
                if id(param) in seen or not self._wanted(param):
                    continue
                seen.add(id(param))
                pairs.append((name, _snapshot(param)))
        return pairs

    # -- hooks -----------------------------------------------------------------------------------

    def _install(self) -> None:
        batcher = self._batcher
        assert batcher is not None

        def begin(_module: torch.nn.Module, _args: Tuple[Any, ...]) -> None:
            batcher.begin()

        def end(_module: torch.nn.Module, _args: Tuple[Any, ...], _output: Any) -> None:
            batcher.end()

        # The model's begin hook goes first and its end hook last, so that the model's own tensors
        # (when the model itself is hooked) fall inside the batch.
        self._handles.append(self.model.register_forward_pre_hook(begin))
        for module_name, module in self.modules:
            prefix = _prefix(module_name)
            if self.inputs:
                def pre_hook(_m: torch.nn.Module, args: Tuple[Any, ...], prefix: str = prefix) -> None:
                    for index, value in enumerate(args):
                        if self._wanted(value):
                            batcher.add(f"{prefix}input.{index}", _snapshot(value))

                self._handles.append(module.register_forward_pre_hook(pre_hook))
            if self.outputs:
                def post_hook(_m: torch.nn.Module, _args: Tuple[Any, ...], output: Any, prefix: str = prefix) -> None:
                    for index, value in enumerate(flatten_output(output)):
                        if self._wanted(value):
                            batcher.add(f"{prefix}output.{index}", _snapshot(value))

                self._handles.append(module.register_forward_hook(post_hook))
        self._handles.append(self.model.register_forward_hook(end))

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # -- lifecycle -------------------------------------------------------------------------------

    def _new_run(self, role: Optional[str], args: Sequence[str]) -> CalibRun:
        assert self.session is not None
        return CalibRun(
            self.session, db=self.db, calib=self.calib, extra_args=args, role=role,
            model=self.provenance["model"], dataset=self.provenance["dataset"], note=self.provenance["note"],
            echo_stderr=self.echo_stderr,
        )

    def __enter__(self) -> "capture":
        if self._handles:
            raise RuntimeError("this capture is already active")
        if self._run is None:
            self._run = self._new_run(None, self.extra_args)
        if self._owns_run and (self.inputs or self.outputs):
            self._run.__enter__()  # finds the binary now; calib itself starts with the first batch
        self._batcher = _Batcher(self._run.send)
        self._install()
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        self._remove()
        if exc_type is None and (self.inputs or self.outputs) and self.frames_sent == 0:
            raise ValueError(
                "capture saw no forward call of the model: call model(batch) inside the with block "
                "(or pass inputs=False, outputs=False to send only the parameters)"
            )
        if self._owns_run and (self.inputs or self.outputs):
            self._run.__exit__(exc_type, exc, traceback)
            if exc_type is None:
                self.summary = self._run.summary
        if exc_type is not None:
            return
        if self._batcher is not None and self._batcher.outside:
            warnings.warn(
                f"{self._batcher.outside} tensors came from hooked modules called outside a forward call of the model "
                "and were not captured: call the model itself, or pass that module as the model",
                RuntimeWarning, stacklevel=2,
            )
        self._send_params()

    def _send_params(self) -> None:
        if self.params is False:
            return
        pairs = self.param_tensors()
        if not pairs:
            return
        if self._param_run is not None:
            self._param_run.send(pairs)
            return
        if not self._owns_run:
            return
        with self._new_run("param", self.param_args) as run:
            run.send(pairs)
        self.param_summary = run.summary

    @property
    def batches(self) -> int:
        """Forward calls of the model captured so far."""
        return self._batcher.batches if self._batcher else 0

    @property
    def frames_sent(self) -> int:
        return self._batcher.frames_sent if self._batcher else 0
