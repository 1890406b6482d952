"""LiteRT and ONNX exports of a run's model (the formats beyond the SavedModel), and their runners for the parity
check."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import numpy as np

from .. import private
from ..config import config_error
from .export_serving import FORMATS, serving_function, write_archive

log = logging.getLogger(__name__)


def export_litert(pred, path: Path) -> Callable:
    """A .tflite flatbuffer of the model in its input units as in `serving_function`, except text, which takes
    token ids (batch, length) int32 (vectorise with vocabulary.txt on the device); returns an interpreter call."""
    import tensorflow as tf

    meta = pred.meta
    if meta["kind"] in ("text", "panel"):  # token ids; a panel's per-series scaling stays on the host
        fn, signature = model_function(pred)
    else:
        fn, signature = serving_function(pred)
    # one example per call, as on a device: static shapes let the converter lower the RNN loops to builtins
    signature = [tf.TensorSpec([1] + list(s.shape[1:]), s.dtype, name=s.name) for s in signature]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # the converter reads a SavedModel (concrete functions fail)
        write_archive(pred, fn, signature, tmp)
        flat = _convert(lambda: tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serve"]))
    Path(path).write_bytes(flat)
    return litert_runner(path, pad_to=pred.length if meta["kind"] == "text" else None,
                         names=[t.name for t in signature])


def _convert(make_converter) -> bytes:
    """TFLite builtin ops only where they suffice (any LiteRT runtime); else with TensorFlow (Flex) ops."""
    import tensorflow as tf

    converter = make_converter()
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        return converter.convert()
    except Exception as e:  # noqa: BLE001  the converter raises ConverterError or plain exceptions
        log.warning("LiteRT builtins alone failed (%s): adding the TensorFlow ops (Flex delegate)", str(e)[:200])
    converter = make_converter()
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    private.keep_tensor_list_ops(converter)
    return converter.convert()


def litert_runner(path: Path, pad_to: Optional[int] = None, names: Optional[List[str]] = None) -> Callable:
    """x -> outputs through the LiteRT interpreter (ai-edge-litert when installed, else tf.lite); a model of
    several inputs takes a tuple of them in the order of `names` (the signature's: series, future)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interp = Interpreter(model_path=str(path))
    runner = interp.get_signature_runner("serve")
    details = runner.get_input_details()  # {name: spec}: one input, or series and future

    def run(x):  # (n, ...) -> (n, ...), one invoke per example (the model's batch is 1)
        if isinstance(x, tuple):
            x = dict(zip(names, x))
        else:
            (name, spec), = details.items()
            x = np.asarray(x, spec["dtype"])
            if pad_to is not None and x.shape[1] < pad_to:
                x = np.pad(x, ((0, 0), (0, pad_to - x.shape[1])))
            x = {name: x}
        x = {k: np.asarray(v, details[k]["dtype"]) for k, v in x.items()}
        n = len(next(iter(x.values())))
        return np.stack([runner(**{k: v[i:i + 1] for k, v in x.items()})["outputs"][0] for i in range(n)])

    return run


def litert_inputs(pred, raw):
    """LiteRT text models take token ids, panel models their own (per-series scaled) inputs: the saved
    examples instead of the raw inputs."""
    return model_examples(pred) if pred.meta["kind"] in ("text", "panel") else raw


def model_input_names(pred) -> List[str]:
    """The model's inputs in the order LiteRT and ONNX take them: series[, future][, series_id]."""
    return ["series"] + (["future"] if getattr(pred, "known", None) is not None else []) + \
        (["series_id"] if pred.meta.get("series_id") else [])


def model_examples(pred):
    """The saved test examples in the model's own input form: an array, or a tuple in `model_input_names` order."""
    from .artifacts import read_examples

    x = read_examples(pred.run_dir)[0]
    return tuple(x[n] for n in model_input_names(pred)) if isinstance(x, dict) else x


def model_function(pred) -> Tuple[Callable, list]:
    """(fn(*inputs) -> {"outputs": the model's outputs}, its signature): the model on its own inputs (z-scores,
    token ids), one TensorSpec (any batch size) per input in `model_input_names` order."""
    import tensorflow as tf

    model, names = pred.model, model_input_names(pred)
    if pred.meta["kind"] == "text":
        return (lambda ids: {"outputs": model(ids, training=False)},
                [tf.TensorSpec([None, pred.length], tf.int32, name="tokens")])
    x = model_examples(pred)
    shapes = [v.shape[1:] for v in x] if isinstance(x, tuple) else [tuple(pred.meta["input_shape"])]
    signature = [tf.TensorSpec([None, *shape], tf.int32 if n == "series_id" else tf.float32, name=n)
                 for n, shape in zip(names, shapes)]

    def fn(*args):  # one tensor, or the dict {"series", "future", "series_id"} of a several-input model
        return {"outputs": model(dict(zip(names, args)) if len(args) > 1 else args[0], training=False)}

    return fn, signature


def export_onnx(pred, path: Path) -> Callable:
    """ONNX through tf2onnx (optional dependency: pip install tf2onnx onnxruntime) of the model on its own inputs
    (z-scores, token ids; a panel's windows scaled with their series' statistics, and its series_id and values known
    ahead as further inputs); returns an ONNX Runtime call of the examples' form (an array or a tuple of inputs)."""
    try:
        import onnxruntime
        import tf2onnx
    except ImportError:
        raise config_error("--format", "tf2onnx and onnxruntime installed for onnx (pip install tf2onnx "
                           "onnxruntime)", "onnx", list(FORMATS[:2])) from None
    import tensorflow as tf

    fn, signature = model_function(pred)
    # the model's own inputs: tf2onnx fails on the normalising wrapper (grappler import)
    tf2onnx.convert.from_function(tf.function(lambda *args: fn(*args)["outputs"]), input_signature=signature,
                                  output_path=str(path))
    session = onnxruntime.InferenceSession(str(path))
    given = {i.name.split(":")[0]: i.name for i in session.get_inputs()}  # tf2onnx keeps the signature's names

    def run(x):
        args = x if isinstance(x, tuple) else (x,)
        return session.run(None, {given[s.name]: np.asarray(v, s.dtype.as_numpy_dtype)
                                  for v, s in zip(args, signature)})[0]

    return run
