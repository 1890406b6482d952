"""The output head every built-in model shares, and the quantile head of `model.quantiles`: its monotone output
layer, the pinball loss it trains on and the point-forecast metrics (docs/intervals.md).

features -> [the extra inputs beside the head] -> head(units) -> forecast(shape): (batch, horizon, targets), or
with quantiles (batch, horizon, targets, quantiles), increasing along the last axis by construction.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import keras
from keras import layers, ops

from ..scores import median_index

# trainer.precision=mixed_*: the head, the window's level (norm / denorm) and so the loss stay float32
HEAD_DTYPE = "float32"


def beside_head(x, extras: Dict[str, object], channels: int = 1, segments: int = 1,
                embedding: Optional[Sequence[int]] = None):
    """features (rows, units) -> (rows, units + extra): the backbone's representation concatenated with the
    flattened known-ahead values (extras["future"], (batch, horizon, F)) of each row and, with `embedding` (n_series,
    dim), the learned vector of its series (extras["series_id"], (batch,) int32; model.series_embedding).
    `channels` and `segments`: rows per example (model.channel_independent, a parallel decoder's segments), each
    with the example's series vector. No extras: x itself."""
    from .layers import RowsOfFuture

    parts, name = [x], "features_and_future"
    if extras.get("future") is not None:
        parts.append(RowsOfFuture(channels, segments, name="future_beside_head")(extras["future"]))
    if extras.get("series_id") is not None and embedding:
        n_series, dim = embedding
        vec = layers.Embedding(n_series, dim, name="series_embedding")(extras["series_id"])  # (batch, dim)
        vec = layers.Reshape((1, dim), name="series_vector")(vec)
        parts.append(RowsOfFuture(channels * segments, 1, name="series_beside_head")(vec))  # (rows, dim)
        name = "features_and_extras"
    return x if len(parts) == 1 else layers.Concatenate(name=name)(parts)


def head(x, units: int, quantiles: Optional[Sequence[float]] = None, activation: str = "linear",
         kernel_regularizer=None, name: str = "head"):
    """The Dense output layer: `units` values (times the number of quantiles) per example."""
    per_unit = len(quantiles) if quantiles else 1
    return layers.Dense(units * per_unit, activation=activation, kernel_regularizer=kernel_regularizer, name=name,
                        dtype=HEAD_DTYPE)(x)


def forecast(out, shape, quantiles: Optional[Sequence[float]] = None, unfold_channels: Optional[int] = None):
    """The head's flat output as the forecast: reshaped to `shape` (horizon, targets), or with `unfold_channels`
    (model.channel_independent) rows of (horizon,) back to (batch, horizon, channels); quantiles last, monotone."""
    from .layers import UnfoldChannels

    q = (len(quantiles),) if quantiles else ()
    if unfold_channels:
        if q:
            out = layers.Reshape((shape[0],) + q, name="quantile_steps", dtype=HEAD_DTYPE)(out)
        out = UnfoldChannels(unfold_channels, name="forecast" if not q else "unfold_channels", dtype=HEAD_DTYPE)(out)
    else:
        out = layers.Reshape(tuple(shape) + q, name="forecast" if not q else "quantile_values", dtype=HEAD_DTYPE)(out)
    if q:
        out = MonotoneQuantiles(quantiles, name="forecast", dtype=HEAD_DTYPE)(out)
    return out


@keras.saving.register_keras_serializable(package="seqlab")
class MonotoneQuantiles(keras.layers.Layer):
    """(..., Q) free values -> (..., Q) increasing quantiles: the lowest, then cumulative softplus increments above
    it, so that quantiles never cross (no sort at the end, whose gradient would swap the heads)."""

    def __init__(self, quantiles: Sequence[float], **kwargs):
        super().__init__(**kwargs)
        self.quantiles = [float(q) for q in quantiles]

    def call(self, x):
        if len(self.quantiles) == 1:
            return x
        steps = ops.softplus(x[..., 1:])
        return ops.concatenate([x[..., :1], x[..., :1] + ops.cumsum(steps, axis=-1)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles}


def quantiles_of(model) -> Optional[list]:
    """The quantile levels of a model with a quantile head (its MonotoneQuantiles layer), else None."""
    found = [layer for layer in model.layers if isinstance(layer, MonotoneQuantiles)]
    return found[0].quantiles if found else None


@keras.saving.register_keras_serializable(package="seqlab")
class PinballLoss(keras.losses.Loss):
    """The mean pinball loss over the quantiles: y_true (batch, horizon, targets), y_pred with a last quantile axis."""

    def __init__(self, quantiles: Sequence[float], name: str = "pinball", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = [float(q) for q in quantiles]

    def call(self, y_true, y_pred):
        tau = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
        e = ops.expand_dims(ops.cast(y_true, y_pred.dtype), -1) - y_pred  # (batch, horizon, targets, Q)
        return ops.mean(ops.maximum(tau * e, (tau - 1.0) * e), axis=-1)

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles}


@keras.saving.register_keras_serializable(package="seqlab")
class PointError(keras.metrics.Mean):
    """mse / mae of a quantile model's point forecast (the quantile nearest 0.5), under the point model's names."""

    def __init__(self, quantiles: Sequence[float], kind: str = "mse", name: Optional[str] = None, **kwargs):
        super().__init__(name=name or kind, **kwargs)
        self.quantiles, self.kind = [float(q) for q in quantiles], kind
        self.index = median_index(self.quantiles)

    def update_state(self, y_true, y_pred, sample_weight=None):
        e = ops.cast(y_true, y_pred.dtype) - y_pred[..., self.index]
        err = ops.square(e) if self.kind == "mse" else ops.abs(e)
        return super().update_state(ops.mean(ops.reshape(err, (ops.shape(err)[0], -1)), axis=-1), sample_weight)

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles, "kind": self.kind}
