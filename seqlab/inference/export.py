"""`seqlab export RUN_DIR --format saved_model|litert|onnx`: a run's model for TF Serving, LiteRT devices or ONNX
runtimes, each checked for parity against the Keras model on the run's saved test examples."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from .. import private
from ..config import ConfigError, config_error

log = logging.getLogger(__name__)
FORMATS = ("saved_model", "litert", "onnx")


def raw_examples(pred) -> Tuple[np.ndarray, np.ndarray]:
    """(raw inputs as a user sends them, the Keras model's outputs on the same examples) from examples.npz.

    Text: token ids decoded to words (an unknown id to a word outside the vocabulary), which the vectoriser maps
    back to the same ids."""
    from .artifacts import read_example_series, read_examples

    x, _ = read_examples(pred.run_dir)
    kind, meta = pred.meta["kind"], pred.meta
    if kind == "text":
        vocab = np.array(pred.text.vocabulary, dtype=object)
        unknown = next(w for w in (f"zz{i}oov" for i in range(10**6)) if w not in set(pred.text.vocabulary))
        vocab[1] = unknown
        texts = np.array([" ".join(vocab[row[row != 0]]) for row in x], dtype=object)
        width = max(int((x != 0).sum(axis=1).max()), 1)  # serving pads a batch to its longest row
        x = x if meta["input_shape"][0] is not None else x[:, :width]
        return texts, pred.predict_model(x)
    if kind == "series" and isinstance(x, dict):  # inputs known ahead: (series, future) raw, as a user sends them
        raw = (x["series"] * pred.x_std + pred.x_mean, x["future"] * pred.f_std + pred.f_mean)
        return tuple(v.astype(np.float32) for v in raw), pred.predict_model(x)
    if kind == "series":
        return pred.scaler.invert(x, pred.features).astype(np.float32), pred.predict_model(x)
    if kind == "panel":  # (raw windows, each one's series index): the scaling is the series' own
        series = read_example_series(pred.run_dir)
        z = x["series"] if isinstance(x, dict) else x  # a series embedding's model also takes "series_id"
        nf, k = len(pred.features), pred.calendar
        raw = np.concatenate([pred.scaler.invert(z[..., :nf], series, pred.features), z[..., nf:]], axis=-1)
        inputs = (raw.astype(np.float32), series.astype(np.int32))
        if isinstance(x, dict) and "future" in x:  # calendar sin/cos as is, future columns in their own units
            f = x["future"]
            cols = pred.scaler.invert(f[..., k:], series, pred.known.columns)
            inputs += (np.concatenate([f[..., :k], cols], axis=-1).astype(np.float32),)
        return inputs, pred.predict_model(x)
    pad = pred.transforms.get("pad_series")
    if kind == "ucr" and pad is not None and pad.mean is not None:
        return (x * pad.std + pad.mean).astype(np.float32), pred.predict_model(x)
    return x.astype(np.float32), pred.predict_model(x)


def serving_function(pred) -> Tuple[Callable, list]:
    """(function of raw inputs -> {"outputs": the model's outputs, ...}, its input signature).

    Series: raw values in original units (batch, input_len, features) -> "forecast" in original units too
    (normalisation inside). Text: strings (batch,) -> probabilities, class id, label. UCR: raw values
    (batch, length, 1), NaN where padding goes."""
    import tensorflow as tf

    model, meta, kind = pred.model, pred.meta, pred.meta["kind"]
    shape = [None] + [d for d in meta["input_shape"]]
    f32 = lambda v: tf.constant(np.asarray(v, np.float32))  # noqa: E731

    def classes(out):
        probs = pred.labels.probabilities(out)  # the predictor's own arithmetic, in TensorFlow
        ids = tf.argmax(probs, axis=1)
        return {"outputs": out, "probabilities": probs, "class_id": ids,
                "label": tf.gather(tf.constant([str(c) for c in pred.class_names]), ids)}

    if kind == "text":
        vectorizer, length = pred.text, pred.length
        fixed = meta["input_shape"][0] is not None

        def serve(text):  # (batch,) tf.string
            ids = vectorizer.cut(vectorizer.layer(text), length)  # ragged (batch, words), cut as in training
            width = length if fixed else tf.maximum(tf.reduce_max(ids.row_lengths()), 1)
            dense = ids.to_tensor(default_value=0, shape=tf.stack([tf.shape(text, tf.int64)[0],
                                                                   tf.cast(width, tf.int64)]))
            return classes(model(tf.cast(dense, tf.int32), training=False))  # (batch, width) -> (batch, k)

        return serve, [tf.TensorSpec([None], tf.string, name="text")]
    from .export_bands import forecast_outputs

    if kind == "series" and pred.known is not None:
        xm, xs, ym, ys = f32(pred.x_mean), f32(pred.x_std), f32(pred.y_mean), f32(pred.y_std)
        fm, fs = f32(pred.f_mean), f32(pred.f_std)

        def serve_known(series, future):  # (batch, input_len, channels), (batch, horizon, F) raw
            out = model({"series": (series - xm) / xs, "future": (future - fm) / fs}, training=False)
            return {"outputs": out, **forecast_outputs(pred, out, lambda v: v * ys + ym)}

        future_shape = [None, pred.horizon, len(pred.known.future_names)]
        return serve_known, [tf.TensorSpec(shape, tf.float32, name="series"),
                             tf.TensorSpec(future_shape, tf.float32, name="future")]
    if kind == "series":
        xm, xs, ym, ys = f32(pred.x_mean), f32(pred.x_std), f32(pred.y_mean), f32(pred.y_std)  # the fitted z-score

        def serve(series):  # (batch, input_len, features) raw
            out = model((series - xm) / xs, training=False)  # (batch, horizon, targets[, quantiles]), standardised
            return {"outputs": out, **forecast_outputs(pred, out, lambda v: v * ys + ym)}

        return serve, [tf.TensorSpec(shape, tf.float32, name="series")]
    if kind == "panel":  # the fitted per-series z-scores as (series, columns) tables, picked by series_id
        sc, cols, with_id = pred.scaler, pred.scaler.index, bool(meta.get("series_id"))
        fx, ft = [cols[c] for c in pred.features], [cols[c] for c in pred.targets]
        xm, xs, ym, ys = f32(sc.mean[:, fx]), f32(sc.std[:, fx]), f32(sc.mean[:, ft]), f32(sc.std[:, ft])

        nf, k, known = len(fx), pred.calendar, pred.known
        fm, fs = (f32(sc.mean[:, [cols[c] for c in known.columns]]), f32(sc.std[:, [cols[c] for c in known.columns]])) \
            if known is not None else (None, None)

        def serve_known(series, series_id, future=None):  # + (batch, horizon, F) raw values known ahead
            pick = lambda table: tf.gather(table, series_id)[:, None, :]  # noqa: E731  (batch, 1, columns)
            z = tf.concat([(series[..., :nf] - pick(xm)) / pick(xs), series[..., nf:]], axis=-1)  # calendar as is
            inputs = {"series": z}
            if future is not None:  # calendar sin/cos as is, the future columns with the series' statistics
                inputs["future"] = tf.concat([future[..., :k], (future[..., k:] - pick(fm)) / pick(fs)], axis=-1)
            if with_id:
                inputs["series_id"] = series_id
            out = model(inputs if len(inputs) > 1 else z, training=False)
            return {"outputs": out, **forecast_outputs(pred, out, lambda v: v * pick(ys) + pick(ym))}

        def serve(series, series_id):  # (batch, input_len, features) raw, (batch,) int32 index in ids
            return serve_known(series, series_id)

        signature = [tf.TensorSpec(shape, tf.float32, name="series"),
                     tf.TensorSpec([None], tf.int32, name="series_id")]
        if known is None:
            return serve, signature
        future_shape = [None, pred.horizon, len(known.future_names)]
        return serve_known, signature + [tf.TensorSpec(future_shape, tf.float32, name="future")]
    pad = pred.transforms.get("pad_series")
    norm = pad is not None and pad.mean is not None

    def serve(series):
        if kind == "ucr":
            z = (series - f32(pad.mean)) / f32(pad.std) if norm else series
            z = tf.where(tf.math.is_nan(z), tf.zeros_like(z), z)  # padding is 0 after normalisation
            return classes(model(z, training=False))
        return {"outputs": model(series, training=False)}

    return serve, [tf.TensorSpec(shape, tf.float32, name="series")]


def write_archive(pred, fn: Callable, signature: list, path) -> None:
    """A SavedModel whose endpoint `serve` (and `serving_default`) is `fn`, with the model's weights (and, for
    text, the vectoriser's lookup table)."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(pred.model)
    if getattr(pred, "vectorizer", None) is not None:
        archive.track(pred.vectorizer)
    archive.add_endpoint("serve", fn, input_signature=signature)
    archive.write_out(str(path), verbose=False)


def export_saved_model(pred, path: Path) -> Callable:
    """SavedModel with endpoint `serve` (also `serving_default`); returns a callable of the reloaded artifact."""
    import tensorflow as tf

    write_archive(pred, *serving_function(pred), path)
    loaded = tf.saved_model.load(str(path))
    if pred.meta["kind"] == "panel" or "known_ahead" in pred.transforms:  # (series, series_id or future)
        return lambda x: np.asarray(loaded.serve(*map(tf.constant, x))["outputs"])
    return lambda x: np.asarray(loaded.serve(tf.constant(x))["outputs"])


def export_litert(pred, path: Path) -> Callable:
    """A .tflite flatbuffer of the model in its input units as in `serving_function`, except text, which takes
    token ids (batch, length) int32 (vectorise with vocabulary.txt on the device); returns an interpreter call."""
    import tensorflow as tf

    meta = pred.meta
    if meta["kind"] == "text":
        model = pred.model
        fn = lambda ids: {"outputs": model(ids, training=False)}  # noqa: E731
        signature = [tf.TensorSpec([None, pred.length], tf.int32, name="tokens")]
    elif meta["kind"] == "panel":  # the per-series scaling stays on the host (inference.json's transforms)
        from .artifacts import read_examples

        model, names = pred.model, panel_inputs(pred)
        x = read_examples(pred.run_dir)[0]
        signature = [tf.TensorSpec([None] + list((x[n] if isinstance(x, dict) else x).shape[1:]),
                                   tf.int32 if n == "series_id" else tf.float32, name=n) for n in names]

        def fn(*args):  # the model's own inputs, in the order of `names`
            return {"outputs": model(dict(zip(names, args)) if len(names) > 1 else args[0], training=False)}
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
    from .artifacts import read_examples

    if pred.meta["kind"] not in ("text", "panel"):
        return raw
    x = read_examples(pred.run_dir)[0]
    return tuple(x[n] for n in panel_inputs(pred)) if isinstance(x, dict) else x  # several model inputs


def panel_inputs(pred) -> List[str]:
    """The model inputs of a panel run, in the order LiteRT takes them: series[, future][, series_id]."""
    return ["series"] + (["future"] if pred.meta["kind"] == "panel" and pred.known is not None else []) + \
        (["series_id"] if pred.meta.get("series_id") else [])


def export_onnx(pred, path: Path) -> Callable:
    """ONNX through tf2onnx (optional dependency) of the model on its own inputs (z-scores, token ids)."""
    if "known_ahead" in pred.transforms:
        raise config_error("--format", "saved_model or litert for a run with inputs known ahead (a two-input "
                           "model)", "onnx", list(FORMATS[:2]))
    try:
        import onnxruntime
        import tf2onnx
    except ImportError:
        raise config_error("--format", "tf2onnx and onnxruntime installed for onnx (pip install tf2onnx "
                           "onnxruntime)", "onnx", list(FORMATS[:2])) from None
    import tensorflow as tf

    model = pred.model
    shape = [pred.length] if pred.meta["kind"] == "text" else pred.meta["input_shape"]
    dtype = tf.int32 if pred.meta["kind"] == "text" else tf.float32
    # the model's own inputs (z-scores, token ids): tf2onnx fails on the normalising wrapper (grappler import)
    tf2onnx.convert.from_function(tf.function(lambda x: model(x, training=False)),
                                  input_signature=[tf.TensorSpec([None] + list(shape), dtype)], output_path=str(path))
    session = onnxruntime.InferenceSession(str(path))
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: np.asarray(x)})[0]


def latency_ms(run: Callable, example, repeats: int = 20) -> float:
    """Median wall time of one single-example call, after one warm-up call."""
    run(example)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(example)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def export(run_dir: Path, fmt: str, output: Optional[Path] = None, tolerance: Optional[float] = None,
           overwrite: bool = False) -> Dict[str, object]:
    """Export the run, check parity on its saved test examples; returns path, size, max_abs_diff, latency.

    The export is written beside its place and renamed into it only when it succeeds (and, given `tolerance`,
    passes parity): a failed export leaves nothing behind. It never replaces a run's own files, nor an earlier
    export unless `overwrite`."""
    from .outputs import OWN_OUTPUTS

    if fmt not in FORMATS:
        raise config_error("--format", "an export format", fmt, list(FORMATS))
    default = {"saved_model": "saved_model", "litert": "model.tflite", "onnx": "model.onnx"}[fmt]
    own = Path(run_dir) / OWN_OUTPUTS
    made = not output and Path(run_dir).is_dir() and not own.exists()
    if made:
        own.mkdir()
    try:
        return _export_checked(run_dir, fmt, output or own / default, tolerance, overwrite)
    except BaseException:
        if made and not any(own.iterdir()):  # a failed export leaves no folder of its own behind either
            own.rmdir()
        raise


def _export_checked(run_dir, fmt: str, output: Path, tolerance: Optional[float], overwrite: bool) -> Dict[str, object]:
    from . import load
    from .artifacts import read_examples
    from .export_bands import band_parity
    from .outputs import atomic_output, check_output

    path = check_output(output, "--output", run_dir=run_dir, overwrite=overwrite, directory=fmt == "saved_model")
    pred = load(run_dir)
    raw, expected = raw_examples(pred)
    with atomic_output(path) as tmp:
        if fmt == "saved_model":
            run, inputs = export_saved_model(pred, tmp), raw
        else:
            run = (export_litert if fmt == "litert" else export_onnx)(pred, tmp)
            inputs = litert_inputs(pred, raw) if fmt == "litert" else read_examples(pred.run_dir)[0]
        got = np.asarray(run(inputs)).reshape(expected.shape)
        diff = float(np.max(np.abs(got - expected)))
        if fmt == "saved_model":  # the forecast, quantiles and interval bounds it serves, in original units
            diff = max(diff, band_parity(pred, tmp, raw))
        if tolerance is not None and not diff <= tolerance:
            raise ParityFailed(diff, tolerance, len(expected))
        files = [tmp] if tmp.is_file() else [p for p in tmp.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        latency = latency_ms(run, tuple(v[:1] for v in inputs) if isinstance(inputs, tuple) else inputs[:1])
    return {"format": fmt, "path": str(path), "bytes": size, "max_abs_diff": diff, "examples": int(len(expected)),
            "latency_ms": latency}


class ParityFailed(RuntimeError):
    """The exported model's outputs differ from the Keras model's by more than the tolerance: nothing was kept."""

    def __init__(self, diff: float, tolerance: float, examples: int):
        self.diff, self.tolerance, self.examples = diff, tolerance, examples
        super().__init__(f"parity on {examples} test examples: max abs diff {diff:.2e} > tolerance {tolerance:g}")


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `seqlab export`; returns the exit status (1 when parity fails)."""
    p = argparse.ArgumentParser(prog="seqlab export", description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--output", help="default: RUN_DIR/export/{saved_model,model.tflite,model.onnx}")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest max-abs difference that passes")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export at the same place")
    args = p.parse_args(argv)
    from .outputs import write_error

    try:
        res = export(args.run_dir, args.format, args.output, tolerance=args.tolerance, overwrite=args.overwrite)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ParityFailed as e:
        print(f"error: {args.format} export FAILED its {e}; nothing was written", file=sys.stderr)
        return 1
    except OSError as e:  # e.g. the disk filled up while writing: the temporary files are gone
        print(write_error(e, args.output or args.run_dir) + "; nothing was written", file=sys.stderr)
        return 1
    print(f"{res['format']}: {res['path']} ({res['bytes'] / 1024:,.1f} KiB)\n"
          f"  parity on {res['examples']} test examples: max abs diff {res['max_abs_diff']:.2e} "
          f"(ok, tolerance {args.tolerance:g})\n"
          f"  single-example latency {res['latency_ms']:.2f} ms")
    return 0
