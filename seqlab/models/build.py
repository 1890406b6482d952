"""Builds SimpleRNN / LSTM / GRU / Conv1D models on a DataSpec, with the head and loss the data implies."""

from __future__ import annotations

import math
from typing import Callable, Dict, Tuple

import keras
from keras import layers

from ..config import config_error
from ..data.base import DataSpec
from .adversarial import AdversarialNoise, attach
from .layers import FoldChannels, LastStep, MaskedMaxPooling1D, UnfoldChannels, WindowDenorm, WindowNorm


def _l2(reg_cfg):
    return keras.regularizers.L2(reg_cfg.l2) if reg_cfg.l2 else None


def _inputs(model_cfg, reg_cfg, spec: DataSpec, mask: bool):
    """Input layer, plus an embedding (with masking of padding for RNNs) for token-id inputs."""
    if spec.vocab_size:
        inp = keras.Input(shape=spec.input_shape, dtype="int32", name="tokens")
        # mask_zero lets recurrent layers and average pooling skip padding; convolutions cannot use a mask
        x = layers.Embedding(spec.vocab_size, model_cfg.embedding_dim, mask_zero=mask, name="embedding")(inp)
        if reg_cfg.get("adversarial"):  # identity except in the adversarial train step
            x = AdversarialNoise(reg_cfg.adversarial, name="adversarial_noise")(x)
        return inp, x
    inp = keras.Input(shape=spec.input_shape, name="series")  # (batch, time, features)
    return inp, inp


def _pool(x, pooling: str):
    # (batch, time, channels) -> (batch, channels)
    if pooling == "average":
        return layers.GlobalAveragePooling1D(name="average_pool")(x)
    if pooling == "max":
        return MaskedMaxPooling1D(name="max_pool")(x)
    return LastStep(name="last_step")(x)


def _rnn(cell: type) -> Callable:
    def build_rnn(model_cfg, reg_cfg, x):
        for i in range(model_cfg.layers):
            last = i == model_cfg.layers - 1
            # the last layer returns the whole sequence only when a pooling layer reads it
            seq = not last or model_cfg.pooling in ("average", "max")
            rnn = cell(
                model_cfg.units,
                return_sequences=seq,
                kernel_regularizer=_l2(reg_cfg),
                recurrent_regularizer=_l2(reg_cfg),
                dropout=reg_cfg.dropout,
                recurrent_dropout=reg_cfg.recurrent_dropout,
                unroll=model_cfg.unroll,
                name=f"{cell.__name__.lower()}_{i}",
            )
            if model_cfg.bidirectional:
                rnn = layers.Bidirectional(rnn, name=f"bidirectional_{i}")
            x = rnn(x)
        if model_cfg.pooling in ("average", "max"):
            x = _pool(x, model_cfg.pooling)
        return x

    return build_rnn


def _conv1d(model_cfg, reg_cfg, x):
    for i in range(model_cfg.layers):
        x = layers.Conv1D(
            model_cfg.filters,
            model_cfg.kernel_size,
            padding=model_cfg.padding,
            dilation_rate=2**i if model_cfg.dilated else 1,
            activation="relu",
            kernel_regularizer=_l2(reg_cfg),
            name=f"conv1d_{i}",
        )(x)
        if reg_cfg.dropout:
            x = layers.SpatialDropout1D(reg_cfg.dropout, name=f"spatial_dropout_{i}")(x)
    return _pool(x, model_cfg.pooling)


# model option -> backbone: (model_cfg, reg_cfg, x (batch, time, channels)) -> features (batch, units)
BUILDERS: Dict[str, Callable] = {
    "simplernn": _rnn(layers.SimpleRNN),
    "lstm": _rnn(layers.LSTM),
    "gru": _rnn(layers.GRU),
    "conv1d": _conv1d,
}


def head_for(spec: DataSpec) -> Tuple[int, str, str]:
    """(units, activation, loss) of the output layer, decided by the data and never by the user."""
    if spec.task == "regression":
        return int(math.prod(spec.output_shape)), "linear", "mse"
    if spec.task == "binary":
        return 1, "sigmoid", "binary_crossentropy"
    if spec.task == "multiclass":
        return int(spec.num_classes), "softmax", "sparse_categorical_crossentropy"
    raise ValueError(f"unknown task {spec.task!r}")


def build(model_cfg, reg_cfg, spec: DataSpec) -> keras.Model:
    """An uncompiled model for `spec`; regularizers from `reg_cfg` applied inside."""
    if model_cfg.name not in BUILDERS:
        raise config_error("model", "a model option", model_cfg.name, sorted(BUILDERS))
    if spec.vocab_size is None and len(spec.input_shape) != 2:
        raise ValueError(f"numeric inputs must be (time, features), got {spec.input_shape}")
    if model_cfg.get("norm", "none") != "none" or model_cfg.get("channel_independent") or model_cfg.get("patch"):
        return _forecaster(model_cfg, reg_cfg, spec)
    inp, x = _inputs(model_cfg, reg_cfg, spec, mask=model_cfg.name != "conv1d")  # convolutions cannot use a mask
    x = BUILDERS[model_cfg.name](model_cfg, reg_cfg, x)
    if reg_cfg.dropout:
        x = layers.Dropout(reg_cfg.dropout, name="head_dropout")(x)
    units, activation, _ = head_for(spec)
    out = layers.Dense(units, activation=activation, kernel_regularizer=_l2(reg_cfg), name="head")(x)
    if spec.task == "regression" and len(spec.output_shape) > 1:
        out = layers.Reshape(spec.output_shape, name="forecast")(out)  # (batch, horizon, targets)
    model = keras.Model(inp, out, name=f"{model_cfg.name}_{spec.name}")
    return attach(model) if reg_cfg.get("adversarial") else model


def _forecaster(model_cfg, reg_cfg, spec: DataSpec) -> keras.Model:
    """Window forecasting as in NLinear / PatchTST / SegRNN: normalise each input window, optionally treat every
    channel as its own series (shared weights) and feed the backbone patches of `patch` steps; a linear head
    forecasts all horizon steps at once and the window's level is added back."""
    (length, channels), out_shape = spec.input_shape, spec.output_shape
    if spec.vocab_size or spec.task != "regression" or len(out_shape) != 2:
        raise config_error("model.norm / model.channel_independent / model.patch",
                           "a window-forecasting dataset (sine, csv, etth1, ettm1)", spec.name)
    per_channel = model_cfg.norm != "none" or model_cfg.channel_independent
    if per_channel and out_shape[1] != channels:
        raise config_error("model.norm / model.channel_independent", "as many target columns as input columns "
                           "(dataset.targets = dataset.features)", f"{channels} in, {out_shape[1]} out")
    patch = model_cfg.patch or 1
    if length % patch:
        raise config_error("model.patch", f"a divisor of dataset.input_len ({length})", model_cfg.patch)
    horizon = out_shape[0]
    inp = keras.Input(shape=spec.input_shape, name="series")  # (batch, time, channels)
    x = inp
    if model_cfg.norm != "none":
        x, loc, scale = WindowNorm(model_cfg.norm, name="window_norm")(x)
    if model_cfg.channel_independent:
        x = FoldChannels(name="fold_channels")(x)  # (batch * channels, time, 1)
    if patch > 1:
        x = layers.Reshape((length // patch, patch * x.shape[-1]), name="patches")(x)  # (., time / patch, patch * c)
    x = BUILDERS[model_cfg.name](model_cfg, reg_cfg, x)
    if reg_cfg.dropout:
        x = layers.Dropout(reg_cfg.dropout, name="head_dropout")(x)
    units = horizon if model_cfg.channel_independent else horizon * out_shape[1]
    out = layers.Dense(units, kernel_regularizer=_l2(reg_cfg), name="head")(x)
    if model_cfg.channel_independent:
        out = UnfoldChannels(channels, name="forecast")(out)  # (batch, horizon, channels)
    else:
        out = layers.Reshape(out_shape, name="forecast")(out)
    if model_cfg.norm != "none":
        out = WindowDenorm(name="window_denorm")([out, loc, scale])
    return keras.Model(inp, out, name=f"{model_cfg.name}_{spec.name}")
