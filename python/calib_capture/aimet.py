"""Calibrate an aimet-torch QuantizationSimModel through calib, and load calib's encodings back into it.

Example (aimet-torch 2.42)::

    from aimet_torch.quantsim import QuantizationSimModel
    from calib_capture import aimet

    sim = QuantizationSimModel(model, dummy_input)          # quant_scheme min_max (the default)

    def forward_pass(m):
        with torch.no_grad():
            for images, _ in calibration_loader:
                m(images)

    aimet.capture(sim, forward_pass, session="resnet-aimet", db="calib.sqlite")
    aimet.load(sim, db="calib.sqlite", session="resnet-aimet")   # calib export --format aimet-torch

Why not hook the float model: AIMET calibrates with quantize-dequantized weights and its
activation quantizers in pass-through mode, so the tensors its quantizers see differ from the float
model's. :func:`capture` runs AIMET's own ``sim.compute_encodings(forward_pass_callback)`` while
forward pre-hooks on every enabled activation quantizer of ``sim.model`` record exactly what that
quantizer observes. They are named after AIMET's module-keyed encodings: input quantizer ``N`` of
module ``M`` is ``M.input.N``, output quantizer ``N`` is ``M.output.N``, the quantizer of parameter
``P`` is ``M.P``. Each forward call of ``sim.model`` is one batch. The parameters that have an
enabled quantizer go in afterwards as one frame with ``--role param``. Each tensor's calib settings
(bitwidth, symmetric, signed, channel axis) are taken from its quantizer through a ``--config``
file, so calib derives the same grid the quantizer uses.

aimet-torch and torch are imported by this module only.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .run import CalibError, CalibRun, Summary, export
from .torch import _Batcher, _snapshot, torch

try:  # aimet-torch >= 2.30 (the v2 API at top level)
    from aimet_torch.nn import BaseQuantizationMixin
    from aimet_torch.quantization.affine import AffineQuantizerBase
    from aimet_torch.quantization.base import QuantizerBase
    from aimet_torch.quantization.encoding_analyzer import MinMaxEncodingAnalyzer
except ImportError:
    try:  # older aimet-torch 2.x: the same classes under aimet_torch.v2
        from aimet_torch.v2.nn import BaseQuantizationMixin  # type: ignore[no-redef]
        from aimet_torch.v2.quantization.affine import AffineQuantizerBase  # type: ignore[no-redef]
        from aimet_torch.v2.quantization.base import QuantizerBase  # type: ignore[no-redef]
        from aimet_torch.v2.quantization.encoding_analyzer import MinMaxEncodingAnalyzer  # type: ignore[no-redef]
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"calib_capture.aimet needs aimet-torch 2.x ({error}): pip install aimet-torch, or pip install 'calib-capture[aimet]'"
        ) from error

__all__ = ["AimetCapture", "UnsupportedQuantizerError", "activation_quantizers", "capture", "load", "param_quantizers", "tensor_config"]

_NOT_SPECIFIED = object()


class UnsupportedQuantizerError(ValueError):
    """A quantizer calib cannot reproduce (not min/max, blockwise, float, ...); the message says which."""


@dataclass
class AimetCapture:
    """What :func:`capture` did: the two runs' summaries, the tensor names, and the config given to calib."""

    summary: Optional[Summary]
    param_summary: Optional[Summary]
    activations: List[str]
    params: List[str]
    config: Dict[str, Any]
    batches: int


def _glob_escape(name: str) -> str:
    """A calib glob (fnmatch(3), escapes on) that matches exactly ``name``."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in name)


def _prefix(module_name: str) -> str:
    return f"{module_name}." if module_name else ""


def _check_quantizer(name: str, q: Any) -> None:
    if not isinstance(q, AffineQuantizerBase):
        raise UnsupportedQuantizerError(
            f"{name}: {type(q).__name__} is not an integer (affine) quantizer; calib derives integer encodings only. "
            "Disable it or leave it out with exclude="
        )
    if getattr(q, "block_size", None) is not None:
        raise UnsupportedQuantizerError(f"{name}: blockwise quantization (block_size={q.block_size}) is not supported by calib")
    if float(getattr(q, "zero_point_shift", 0.0) or 0.0) != 0.0:
        raise UnsupportedQuantizerError(f"{name}: zero_point_shift={q.zero_point_shift} is not supported by calib")
    analyzer = getattr(q, "encoding_analyzer", None)
    if not isinstance(analyzer, MinMaxEncodingAnalyzer):
        raise UnsupportedQuantizerError(
            f"{name}: its encoding analyzer is {type(analyzer).__name__}; calib observes running min/max only. "
            "Build the QuantizationSimModel with quant_scheme='min_max' (QuantScheme.min_max, AIMET's default)"
        )


def _axis(q: Any, name: str, ndim: Optional[int]) -> Optional[int]:
    """The channel axis of a quantizer's encoding shape, or None for per-tensor.

    Shapes broadcast from the right, so without the tensor's rank the axis is given from the end.
    """
    shape = tuple(int(d) for d in q.shape)
    wide = [i for i, d in enumerate(shape) if d > 1]
    if not wide:
        return None
    if len(wide) > 1:
        raise UnsupportedQuantizerError(f"{name}: encoding shape {shape} has more than one channel axis; calib keeps one")
    axis = wide[0] - len(shape)
    return axis + ndim if ndim is not None else axis


def tensor_config(q: Any, name: str, role: str, ndim: Optional[int] = None) -> Dict[str, Any]:
    """calib ``--config`` settings that give ``q``'s grid: role, bitwidth, symmetric, signed, channel axis."""
    _check_quantizer(name, q)
    return {
        "role": role,
        "convention": "aimet",
        "bitwidth": int(q.bitwidth),
        "symmetric": bool(q.symmetric),
        "signed": bool(q.signed),
        "per_channel_axis": _axis(q, name, ndim),
    }


def activation_quantizers(model: torch.nn.Module) -> List[Tuple[str, Any]]:
    """``(TENSOR NAME, quantizer)`` for every enabled input/output quantizer whose encodings compute_encodings sets.

    Names: ``MODULE.input.N`` / ``MODULE.output.N``. Disabled quantizers are ``None`` in AIMET 2.x and
    are skipped, as are frozen ones (``is_overwrite_allowed()`` False), which compute_encodings keeps.
    """
    found = []
    for module_name, module in model.named_modules():
        if not isinstance(module, BaseQuantizationMixin):
            continue
        for kind, quantizers in (("input", module.input_quantizers), ("output", module.output_quantizers)):
            for index, q in enumerate(quantizers):
                if q is None:
                    continue
                name = f"{_prefix(module_name)}{kind}.{index}"
                if not isinstance(q, QuantizerBase):
                    warnings.warn(f"{name}: nested quantizer lists ({type(q).__name__}) are not captured", RuntimeWarning, stacklevel=3)
                    continue
                if not q.is_overwrite_allowed():
                    continue
                found.append((name, q))
    return found


def param_quantizers(model: torch.nn.Module) -> List[Tuple[str, Any, torch.Tensor]]:
    """``(MODULE.PARAM, quantizer, parameter)`` for every enabled parameter quantizer."""
    found = []
    for module_name, module in model.named_modules():
        if not isinstance(module, BaseQuantizationMixin):
            continue
        for param_name, q in module.param_quantizers.items():
            if q is None or not q.is_overwrite_allowed():
                continue
            param = getattr(module, param_name, None)
            if not isinstance(param, torch.Tensor):
                continue
            found.append((f"{_prefix(module_name)}{param_name}", q, param))
    return found


def _standalone(model: torch.nn.Module) -> List[str]:
    owned = set()
    for module in model.modules():
        if isinstance(module, BaseQuantizationMixin):
            owned |= {id(q) for q in module.modules() if isinstance(q, QuantizerBase)}
    return [n for n, m in model.named_modules() if isinstance(m, QuantizerBase) and id(m) not in owned]


def capture(
    sim: Any,
    forward_pass_callback: Callable[..., Any],
    session: str,
    db: Optional[str] = None,
    forward_pass_callback_args: Any = _NOT_SPECIFIED,
    *,
    calib: Optional[str] = None,
    extra_args: Sequence[str] = (),
    param_args: Sequence[str] = (),
    params: bool = True,
    model_name: Optional[str] = None,
    dataset: Optional[str] = None,
    note: Optional[str] = None,
    echo_stderr: bool = False,
) -> AimetCapture:
    """Run ``sim.compute_encodings(forward_pass_callback[, args])`` and stream what its quantizers see into calib.

    Every enabled activation quantizer of ``sim.model`` gets a forward pre-hook for the duration;
    each forward call of ``sim.model`` becomes one frame of ``calib run --session SESSION
    --config CFG -``; then, with ``params=True``, the parameters that have an enabled quantizer go
    in as one frame with ``--role param``. ``CFG`` gives each tensor its quantizer's bitwidth,
    symmetry, signedness and channel axis under calib's ``aimet`` convention. ``extra_args`` and
    ``param_args`` are more options of the two runs.

    ``sim`` keeps the encodings AIMET computed itself, as ``compute_encodings`` leaves them;
    :func:`load` replaces them with calib's. Raises :class:`UnsupportedQuantizerError` before
    anything runs when a quantizer is not a min/max integer quantizer calib can reproduce, and
    :class:`~calib_capture.run.CalibError` with calib's message when calib refuses a batch.

    Note: AIMET may enlarge a Conv/Linear weight scale after calibration to keep an int32 bias
    from overflowing (only for extreme bias/scale ratios); calib does not model that adjustment.
    """
    model = sim.model
    acts = activation_quantizers(model)
    prms = param_quantizers(model) if params else []
    config: Dict[str, Any] = {}
    for name, q in acts:
        config[name] = tensor_config(q, name, "activation")
    for name, q, param in prms:
        config[name] = tensor_config(q, name, "param", ndim=param.dim())
    for name in _standalone(model):
        warnings.warn(f"{name}: a standalone quantizer (not owned by a quantized module) is not captured", RuntimeWarning, stacklevel=2)
    if not acts and not prms:
        raise ValueError("sim.model has no enabled quantizer whose encodings compute_encodings would set: nothing to capture")

    common = dict(db=db, calib=calib, model=model_name, dataset=dataset, note=note, echo_stderr=echo_stderr)
    with tempfile.TemporaryDirectory(prefix="calib-aimet-") as tmp:
        config_path = os.path.join(tmp, "config.json")
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump({"tensors": {_glob_escape(n): s for n, s in config.items()}}, f, indent=1)

        summary = None
        batcher = None
        if acts:
            run = CalibRun(session, extra_args=["--config", config_path, *extra_args], **common)  # type: ignore[arg-type]
            handles = []
            with run:
                batcher = _Batcher(run.send)
                handles.append(model.register_forward_pre_hook(lambda _m, _a: batcher.begin()))
                for name, q in acts:
                    def hook(_q: torch.nn.Module, args: Tuple[Any, ...], name: str = name) -> None:
                        if args and isinstance(args[0], torch.Tensor) and args[0].numel() > 0:
                            batcher.add(name, _snapshot(args[0]))  # AIMET skips empty inputs too

                    handles.append(q.register_forward_pre_hook(hook))
                handles.append(model.register_forward_hook(lambda _m, _a, _o: batcher.end()))
                try:
                    if forward_pass_callback_args is _NOT_SPECIFIED:
                        sim.compute_encodings(forward_pass_callback)
                    else:
                        sim.compute_encodings(forward_pass_callback, forward_pass_callback_args)
                finally:
                    for handle in handles:
                        handle.remove()
                if batcher.batches == 0:
                    raise ValueError(
                        "forward_pass_callback ran no forward call of sim.model: call the model it is given, e.g. model(batch)"
                    )
            summary = run.summary
        elif params:
            # No activation quantizer: AIMET still computes the param encodings.
            if forward_pass_callback_args is _NOT_SPECIFIED:
                sim.compute_encodings(forward_pass_callback)
            else:
                sim.compute_encodings(forward_pass_callback, forward_pass_callback_args)

        param_summary = None
        if prms:
            with CalibRun(session, role="param", extra_args=["--config", config_path, *param_args], **common) as prun:  # type: ignore[arg-type]
                prun.send([(name, _snapshot(param)) for name, _, param in prms])
            param_summary = prun.summary

    return AimetCapture(
        summary=summary,
        param_summary=param_summary,
        activations=[n for n, _ in acts],
        params=[n for n, _, _ in prms],
        config=config,
        batches=batcher.batches if batcher else 0,
    )


def load(
    sim: Any,
    db: Optional[str],
    session: str,
    *,
    calib: Optional[str] = None,
    strict: bool = True,
    partial: bool = True,
    requires_grad: Optional[bool] = None,
    allow_overwrite: bool = True,
    extra_args: Sequence[str] = (),
    keep: Optional[str] = None,
) -> Dict[str, Any]:
    """Load a calib session's encodings into ``sim``: ``calib export --format aimet-torch``, then ``sim.load_encodings``.

    ``strict``, ``partial``, ``requires_grad``, ``allow_overwrite`` are passed to
    ``sim.load_encodings`` (its defaults). ``extra_args`` go to ``calib export`` (``["--label", "w4"]``,
    ``["--bitwidth", "4"]``). ``keep`` saves the exported file there as well. Returns the loaded
    encodings (the parsed file).
    """
    with tempfile.TemporaryDirectory(prefix="calib-aimet-") as tmp:
        path = keep or os.path.join(tmp, f"{session}_torch.encodings".replace(os.sep, "_"))
        try:
            export(session, "aimet-torch", path, db=db, calib=calib, extra_args=extra_args)
        except CalibError as error:
            if "aimet-torch" in error.message and ("value" in error.message or "format" in error.message):
                raise CalibError(
                    f"{error.message}\nThis calib binary has no 'aimet-torch' export: build a newer calib "
                    "(the format AIMET's sim.load_encodings reads)",
                    error.returncode, error.stderr, error.command,
                ) from None
            raise
        with open(path, "r", encoding="utf-8") as f:
            encodings = json.load(f)
        sim.load_encodings(path, strict=strict, partial=partial, requires_grad=requires_grad, allow_overwrite=allow_overwrite)
    return encodings
