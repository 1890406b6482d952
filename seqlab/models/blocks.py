"""What every built-in model shares: the input (series, or token ids with an embedding), pooling, regularizers,
the head the data implies, and the window-forecasting wrapper (model.norm / channel_independent / patch).

A built-in model module (rnn.py, conv1d.py) supplies only its backbone: (model_cfg, reg_cfg, x) -> features.
"""

from __future__ import annotations

from typing import Callable

import keras
from keras import layers

from ..config import config_error
from ..spec import DataSpec
from .adversarial import AdversarialNoise
from .build import head_for, resolve_norm, target_channels
from .heads import HEAD_DTYPE, beside_head, forecast, head
from .layers import FoldChannels, JoinSegments, LastStep, MaskedMaxPooling1D, WindowDenorm, WindowNorm

# (model_cfg, reg_cfg, x (batch, time, channels)) -> features (batch, units)
Backbone = Callable
# (model_cfg, reg_cfg, patches (rows, time / patch, width), segments, channels) -> features (rows * segments, units):
# a parallel multi-step decoder, one feature vector per output segment of `patch` steps (channels: rows per example)
Decoder = Callable


def l2(reg_cfg):
    return keras.regularizers.L2(reg_cfg.l2) if reg_cfg.l2 else None


def head_dropout(reg_cfg) -> float:
    """The dropout rate on the head's input: regularizer.head_dropout, or regularizer.dropout when that is null."""
    rate = reg_cfg.head_dropout
    return reg_cfg.dropout if rate is None else rate


def inputs(model_cfg, reg_cfg, spec: DataSpec, mask: bool):
    """Input layer, plus an embedding (masking the padding when the backbone can use a mask) for token ids."""
    if spec.vocab_size:
        inp = keras.Input(shape=spec.input_shape, dtype="int32", name="tokens")
        x = layers.Embedding(spec.vocab_size, model_cfg.embedding_dim, mask_zero=mask, name="embedding")(inp)
        if reg_cfg.adversarial:  # identity except in the adversarial loss hook
            x = AdversarialNoise(reg_cfg.adversarial, name="adversarial_noise")(x)
        return inp, x
    inp = keras.Input(shape=spec.input_shape, name="series")  # (batch, time, features)
    return inp, inp


def extra_inputs(spec: DataSpec) -> dict:
    """The model's inputs beside the series: {"future": (batch, horizon, F)} when values are known ahead, and
    {"series_id": (batch,) int32} with a series embedding (a panel under model.series_embedding)."""
    out = {}
    if spec.future_shape:
        out["future"] = keras.Input(shape=spec.future_shape, name="future")
    if spec.n_series:
        out["series_id"] = keras.Input(shape=(), dtype="int32", name="series_id")
    return out


def embedding_of(model_cfg, spec: DataSpec):
    """(n_series, dim) of the series embedding beside the head, or None (model.series_embedding off)."""
    dim = model_cfg.get("series_embedding")
    return (spec.n_series, int(dim)) if dim and spec.n_series else None


def model_of(inp, extras: dict, out, name: str) -> keras.Model:
    """A single-input model as before, or one with the dict input {"series": ..., **extras}."""
    return keras.Model({"series": inp, **extras} if extras else inp, out, name=name)


def pool(x, pooling: str):
    # (batch, time, channels) -> (batch, channels)
    if pooling == "average":
        return layers.GlobalAveragePooling1D(name="average_pool")(x)
    if pooling == "max":
        return MaskedMaxPooling1D(name="max_pool")(x)
    return LastStep(name="last_step")(x)


def assemble(model_cfg, reg_cfg, spec: DataSpec, backbone: Backbone, masks_padding: bool,
             decoder: Decoder = None) -> keras.Model:
    """input -> backbone -> (dropout) -> head, or the window-forecasting wrapper when its options are set (with
    `decoder`, a segment-wise forecast replaces the backbone and the one-shot head)."""
    if spec.vocab_size is None and len(spec.input_shape) != 2:
        raise ValueError(f"numeric inputs must be (time, features), got {spec.input_shape}")
    norm = resolve_norm(model_cfg, spec)
    if norm != "none" or model_cfg.channel_independent or model_cfg.get("patch"):  # .get: model=linear has no patch
        return _forecaster(model_cfg, reg_cfg, spec, backbone, norm, decoder)
    inp, x = inputs(model_cfg, reg_cfg, spec, mask=masks_padding)
    extras = extra_inputs(spec)
    x = backbone(model_cfg, reg_cfg, x)
    if head_dropout(reg_cfg):
        x = layers.Dropout(head_dropout(reg_cfg), name="head_dropout")(x)
    x = beside_head(x, extras, embedding=embedding_of(model_cfg, spec))
    units, activation, _ = head_for(spec)
    quantiles = model_cfg.get("quantiles")
    if quantiles and spec.task != "regression":
        raise config_error("model.quantiles", "null for a classification task (quantiles are for forecasts)",
                           list(quantiles))
    out = head(x, units, quantiles, activation, l2(reg_cfg))
    if quantiles or spec.task == "regression" and len(spec.output_shape) > 1:
        out = forecast(out, spec.output_shape, quantiles)  # (batch, horizon, targets[, quantiles])
    return model_of(inp, extras, out, f"{model_cfg.name}_{spec.name}")


def _forecaster(model_cfg, reg_cfg, spec: DataSpec, backbone: Backbone, norm: str,
                decoder: Decoder = None) -> keras.Model:
    """Window forecasting as in NLinear / PatchTST / SegRNN: normalise each input window, optionally treat every
    channel as its own series (shared weights) and feed the backbone patches of `patch` steps; a linear head
    forecasts all horizon steps at once (or, with `decoder`, each segment of `patch` steps from its own features)
    and the window's level is added back."""
    from ..registry import registry

    (length, channels), out_shape = spec.input_shape, spec.output_shape
    if spec.vocab_size or spec.task != "regression" or len(out_shape) != 2:
        raise config_error("model.norm / model.channel_independent / model.patch", "a window-forecasting dataset",
                           spec.name, registry("dataset").with_capability("window_forecasting"))
    if model_cfg.channel_independent and out_shape[1] != channels:
        raise config_error("model.channel_independent", "as many target columns as input columns "
                           "(dataset.targets = dataset.features)", f"{channels} in, {out_shape[1]} out")
    levels = target_channels(spec)  # the input channel each target's window level comes from
    if norm != "none" and levels is None:
        raise config_error("model.norm", "targets that are all input columns (each target's level is read from "
                           "the input window; or model.norm=none)",
                           f"targets {list(spec.target_names)}, features {list(spec.feature_names)}")
    patch = model_cfg.get("patch") or 1  # model=linear has no patches
    if length % patch:
        raise config_error("model.patch", f"a divisor of dataset.input_len ({length})", patch)
    horizon = out_shape[0]
    inp = keras.Input(shape=spec.input_shape, name="series")  # (batch, time, channels)
    extras = extra_inputs(spec)
    x = inp
    if norm != "none":
        x, loc, scale = WindowNorm(norm, name="window_norm", dtype=HEAD_DTYPE)(x)
    if model_cfg.channel_independent:
        x = FoldChannels(name="fold_channels")(x)  # (batch * channels, time, 1)
    if patch > 1:
        x = layers.Reshape((length // patch, patch * x.shape[-1]), name="patches")(x)  # (., time / patch, patch * c)
    per_step = 1 if model_cfg.channel_independent else out_shape[1]  # forecast values per step and row
    if decoder is not None:
        if horizon % patch:
            raise config_error("model.decoder", f"a model.patch ({patch}) that divides dataset.horizon ({horizon})",
                               model_cfg.decoder)
        segments = horizon // patch
        x = decoder(model_cfg, reg_cfg, x, segments, channels if model_cfg.channel_independent else 1)
    else:
        x = backbone(model_cfg, reg_cfg, x)
    if head_dropout(reg_cfg):
        x = layers.Dropout(head_dropout(reg_cfg), name="head_dropout")(x)
    quantiles = model_cfg.get("quantiles")
    rows = channels if model_cfg.channel_independent else 1  # head rows per example
    if decoder is not None:  # (rows * segments, units) -> (rows * segments, patch * per_step) -> (rows, horizon ...)
        # each segment beside its own steps of the future
        x = beside_head(x, extras, rows, segments, embedding_of(model_cfg, spec))
        out = head(x, patch * per_step, quantiles, kernel_regularizer=l2(reg_cfg))
        out = JoinSegments(segments, name="join_segments", dtype=HEAD_DTYPE)(out)
    else:
        x = beside_head(x, extras, rows, embedding=embedding_of(model_cfg, spec))
        out = head(x, horizon * per_step, quantiles, kernel_regularizer=l2(reg_cfg))
    # (batch, horizon, targets[, quantiles]): channel-independent rows unfolded back into channels
    out = forecast(out, out_shape, quantiles, unfold_channels=channels if model_cfg.channel_independent else None)
    if norm != "none":
        subset = None if levels == tuple(range(channels)) else levels  # targets a subset/reordering of inputs
        out = WindowDenorm(subset, name="window_denorm", dtype=HEAD_DTYPE)([out, loc, scale])
    return model_of(inp, extras, out, f"{model_cfg.name}_{spec.name}")
