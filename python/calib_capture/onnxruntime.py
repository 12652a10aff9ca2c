"""Capture the tensors ONNX Runtime's ``quantize_static`` calibrates, and quantize from calib's ranges.

Example (onnxruntime 1.31)::

    from calib_capture import onnxruntime as ort_capture

    ort_capture.capture("model.onnx", data_reader, session="net-ort", db="calib.sqlite")
    ort_capture.quantize_static("model.onnx", "model.qdq.onnx", session="net-ort", db="calib.sqlite")
    # = calib export net-ort --format onnxruntime-cache -o cache.json, then
    #   onnxruntime.quantization.quantize_static("model.onnx", "model.qdq.onnx", None,
    #                                            calibration_cache_path="cache.json")

:func:`capture` picks the tensors the way ``quantize_static``'s calibrator does
(``CalibraterBase.select_tensors_to_calibrate``: every float32/float16 input and output of a node
whose op type onnxruntime can quantize, after ONNX shape inference, initializers excluded), exposes
them as extra graph outputs, runs each batch of a ``CalibrationDataReader`` through an
``InferenceSession`` with graph optimizations off (as the calibrator runs it), and streams one frame
per batch into ``calib run -`` under the tensors' ONNX names, in graph order. calib's running
min/max over those batches is what onnxruntime's MinMax calibrator computes, so
``calib export --format onnxruntime-cache`` gives ``quantize_static`` the same ranges.

onnx and onnxruntime are imported by this module only.
"""

from __future__ import annotations

import os
import tempfile
import types
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

try:
    import onnx
    import onnxruntime
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"calib_capture.onnxruntime needs onnx and onnxruntime ({error}): pip install onnx onnxruntime, "
        "or pip install 'calib-capture[onnxruntime]'"
    ) from error

from .run import CalibRun, Summary, export, show

__all__ = ["calibrated_op_types", "capture", "export_cache", "quantize_static", "select_tensors", "tensor_quant_overrides"]

PathLike = Union[str, "os.PathLike[str]"]


def calibrated_op_types(op_types_to_quantize: Optional[Sequence[str]] = None) -> List[str]:
    """The op types quantize_static calibrates: ``op_types_to_quantize``, else every type in its QLinear and QDQ registries."""
    if op_types_to_quantize:
        return list(op_types_to_quantize)
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    return sorted(set(QLinearOpsRegistry) | set(QDQRegistry))


def _inferred(model_path: PathLike, tmp: str) -> onnx.ModelProto:
    # As onnxruntime's load_model_with_shape_infer: shape inference on the file, then load.
    inferred = os.path.join(tmp, "inferred.onnx")
    onnx.shape_inference.infer_shapes_path(os.fspath(model_path), inferred)
    return onnx.load(inferred, load_external_data=False)


def _select(model: onnx.ModelProto, op_types: Sequence[str]) -> List[str]:
    try:
        from onnxruntime.quantization.calibrate import CalibraterBase

        chosen, _ = CalibraterBase.select_tensors_to_calibrate(types.SimpleNamespace(op_types_to_calibrate=list(op_types)), model)
    except (ImportError, AttributeError, TypeError):
        chosen = _select_like_onnxruntime(model, op_types)
    # onnxruntime keeps a set; calib keeps an order: the order the graph first mentions each tensor.
    order: Dict[str, int] = {}
    for node in model.graph.node:
        for name in list(node.input) + list(node.output):
            order.setdefault(name, len(order))
    return sorted(chosen, key=lambda n: order.get(n, len(order)))


def _select_like_onnxruntime(model: onnx.ModelProto, op_types: Sequence[str]) -> set:
    """onnxruntime 1.31's select_tensors_to_calibrate, for versions where it cannot be called as is."""
    value_infos = {vi.name: vi for vi in model.graph.value_info}
    value_infos.update({o.name: o for o in model.graph.output})
    value_infos.update({i.name: i for i in model.graph.input})
    initializers = {init.name for init in model.graph.initializer}
    wanted = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16}
    chosen = set()
    for node in model.graph.node:
        if op_types and node.op_type not in op_types:
            continue
        for name in list(node.input) + list(node.output):
            vi = value_infos.get(name)
            if vi is not None and vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type in wanted and name not in initializers:
                chosen.add(name)
    return chosen


def select_tensors(model_path: PathLike, op_types_to_quantize: Optional[Sequence[str]] = None) -> List[str]:
    """The names of the tensors quantize_static would calibrate in the model at ``model_path``, in graph order."""
    with tempfile.TemporaryDirectory(prefix="calib-ort-") as tmp:
        return _select(_inferred(model_path, tmp), calibrated_op_types(op_types_to_quantize))


def _batches(data_reader: Any) -> Iterable[Mapping[str, Any]]:
    if hasattr(data_reader, "get_next"):
        while True:
            inputs = data_reader.get_next()
            if not inputs:
                return
            yield inputs
    else:
        yield from data_reader


def capture(
    model_path: PathLike,
    data_reader: Any,
    session: str,
    db: Optional[PathLike] = None,
    *,
    op_types_to_quantize: Optional[Sequence[str]] = None,
    tensors: Optional[Sequence[str]] = None,
    providers: Optional[Sequence[Any]] = None,
    convention: Optional[str] = "onnxruntime",
    calib: Optional[PathLike] = None,
    extra_args: Sequence[str] = (),
    model_name: Optional[str] = None,
    dataset: Optional[str] = None,
    note: Optional[str] = None,
    echo_stderr: bool = False,
) -> Summary:
    """Run ``data_reader``'s batches through the model and stream the calibrated tensors into calib.

    ``data_reader`` is an ``onnxruntime.quantization.CalibrationDataReader`` (``get_next()`` until
    it returns None) or any iterable of input dicts; it is consumed. ``op_types_to_quantize`` is
    the same argument as quantize_static's (default: everything it can quantize); ``tensors``
    replaces the selection with your own list. ``providers`` default to ``CPUExecutionProvider``,
    as the calibrator's. ``convention`` (default ``onnxruntime``) is passed as ``--convention``
    so that ``calib show`` prints ONNX Runtime's numbers; None leaves calib's default. Returns the
    run's summary; raises :class:`~calib_capture.run.CalibError` with calib's message on failure.
    """
    with tempfile.TemporaryDirectory(prefix="calib-ort-") as tmp:
        model = _inferred(model_path, tmp)
        names = list(tensors) if tensors is not None else _select(model, calibrated_op_types(op_types_to_quantize))
        if not names:
            raise ValueError(
                f"{os.fspath(model_path)}: no float tensor of a quantizable node found; "
                "check op_types_to_quantize, or pass tensors= explicitly"
            )
        # Load the weights for the augmented copy (the inferred model was loaded without external data).
        full = onnx.load(os.fspath(model_path))
        inferred_infos = {vi.name: vi for vi in list(model.graph.value_info) + list(model.graph.output) + list(model.graph.input)}
        present = {o.name for o in full.graph.output}
        for name in names:
            if name in present:
                continue
            info = inferred_infos.get(name)
            if info is None:
                raise ValueError(f"tensor {name!r} is not in the model (after shape inference): check the name")
            full.graph.output.append(onnx.helper.make_tensor_value_info(name, info.type.tensor_type.elem_type, None))
            present.add(name)
        augmented = os.path.join(tmp, "augmented.onnx")
        large = full.ByteSize() > 1_800_000_000
        onnx.save(full, augmented, save_as_external_data=large, location="augmented.onnx.data" if large else None)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        inference = onnxruntime.InferenceSession(augmented, sess_options=options, providers=list(providers or ["CPUExecutionProvider"]))

        args: List[str] = []
        if convention is not None and "--convention" not in extra_args:
            args += ["--convention", convention]
        args += list(extra_args)
        with CalibRun(session, db=db, calib=calib, extra_args=args, model=model_name, dataset=dataset, note=note, echo_stderr=echo_stderr) as run:
            batches = 0
            for inputs in _batches(data_reader):
                values = inference.run(names, dict(inputs))
                run.send(list(zip(names, values)))
                batches += 1
            if batches == 0:
                raise ValueError("the data reader gave no batch (get_next() returned None at once): rewind or recreate it")
    assert run.summary is not None
    return run.summary


def export_cache(session: str, path: PathLike, db: Optional[PathLike] = None, *, calib: Optional[PathLike] = None, extra_args: Sequence[str] = ()) -> str:
    """``calib export SESSION --format onnxruntime-cache -o PATH``: the JSON quantize_static's ``calibration_cache_path`` loads."""
    export(session, "onnxruntime-cache", path, db=db, calib=calib, extra_args=extra_args)
    return os.fspath(path)


def quantize_static(
    model_input: PathLike,
    model_output: PathLike,
    session: str,
    db: Optional[PathLike] = None,
    *,
    calib: Optional[PathLike] = None,
    cache_path: Optional[PathLike] = None,
    **kwargs: Any,
) -> None:
    """``onnxruntime.quantization.quantize_static`` with calib's ranges instead of its own calibration.

    Exports the session as an onnxruntime cache (to ``cache_path``, else a temporary file) and calls
    ``quantize_static(model_input, model_output, None, calibration_cache_path=cache, **kwargs)``;
    ``kwargs`` are quantize_static's other arguments (``quant_format``, ``per_channel``,
    ``activation_type``, ...). The cache holds MinMax ranges, so ``calibrate_method`` must stay MinMax.
    """
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    if kwargs.get("calibration_data_reader") is not None:
        raise TypeError("quantize_static takes its ranges from calib: pass no calibration_data_reader")
    kwargs.pop("calibration_data_reader", None)
    with tempfile.TemporaryDirectory(prefix="calib-ort-") as tmp:
        cache = os.fspath(cache_path) if cache_path is not None else os.path.join(tmp, "calibration_cache.json")
        export_cache(session, cache, db, calib=calib)
        ort_quantize_static(os.fspath(model_input), os.fspath(model_output), None, calibration_cache_path=cache, **kwargs)


def tensor_quant_overrides(
    session: str,
    db: Optional[PathLike] = None,
    *,
    calib: Optional[PathLike] = None,
    tensors: Optional[Sequence[str]] = None,
    extra_args: Sequence[str] = ("--convention", "onnxruntime"),
) -> Dict[str, List[Dict[str, Any]]]:
    """calib's scales and zero points as quantize_static's ``extra_options["TensorQuantOverrides"]``.

    The other way to hand calib's numbers to onnxruntime: ``{name: [{"scale": ..., "zero_point": ...}]}``
    with each value a 0-d numpy array (``float32`` scale; ``uint8``/``int8``/``uint16``/``int16``
    zero point, by the encoding's signedness and bitwidth). onnxruntime 1.31 refuses plain JSON
    numbers and numpy scalars there. The encodings come from ``calib show --json`` under
    ``extra_args`` (by default ``--convention onnxruntime``; add ``--signed`` for QInt8
    activations, ``--symmetric`` for symmetric ones) and must match the ``activation_type`` you
    pass to quantize_static. Per-tensor encodings only; use :func:`quantize_static` (the cache)
    otherwise.
    """
    import numpy as np

    encodings = show(session, db=db, calib=calib, extra_args=list(extra_args))["encodings"]
    names = list(tensors) if tensors is not None else [n for n, e in encodings.items() if e["role"] == "activation"]
    overrides: Dict[str, List[Dict[str, Any]]] = {}
    for name in names:
        entry = encodings.get(name)
        if entry is None:
            raise KeyError(f"tensor {name!r} is not in session {session!r}")
        if entry["per_channel_axis"] is not None:
            raise ValueError(f"tensor {name!r} is per-channel: pass its ranges with quantize_static(calibration_cache_path=...) instead")
        bits = int(entry["bitwidth"])
        if bits not in (8, 16):
            raise ValueError(f"tensor {name!r} has {bits} bits: TensorQuantOverrides here supports 8 and 16")
        zero_type = {(8, False): np.uint8, (8, True): np.int8, (16, False): np.uint16, (16, True): np.int16}[(bits, bool(entry["signed"]))]
        overrides[name] = [{"scale": np.array(entry["scale"], dtype=np.float32), "zero_point": np.array(entry["zero_point"], dtype=zero_type)}]
    return overrides
