"""The serving side of `seqlab export`: a run's model wrapped with its fitted transforms (raw inputs in, original
units out), the saved examples it is checked on, and the SavedModel archive every format starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Tuple

import numpy as np

FORMATS = ("saved_model", "litert", "onnx")  # what `seqlab export --format` writes


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
