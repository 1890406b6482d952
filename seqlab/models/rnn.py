"""Recurrent models (simplernn, lstm, gru): stacked, optionally bidirectional layers; schema, builder, checks."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..config.schema import SequenceModelConfig, one_of
from ..registry import REGISTRIES
from .build import check_sequence_model

CELLS = {"simplernn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}  # option -> keras.layers class
log = logging.getLogger(__name__)


@dataclass
class RNNConfig(SequenceModelConfig):
    units: int = 32  # units per recurrent layer
    bidirectional: bool = False  # read the sequence both ways
    unroll: bool = False  # unroll the recurrent loop (short sequences only)
    # lstm only: keras (keras.layers.LSTM) | hoisted (seqlab.models.fast_lstm: one input matmul for all steps; same
    # weights; measured no faster in fit and slower under XLA, docs/results-history.md "seqlab's LSTM vs PyTorch")
    loop: str = "keras"
    # window forecasting with model.patch (SegRNN, Lin et al. 2023). patch_embedding: each patch goes through
    # Dense(units) + ReLU before the recurrence. decoder: dense = one linear head reads the last state and forecasts
    # every horizon step; pmf = parallel multi-step forecasting: from the last state, the same recurrent layer takes
    # one step per output segment of `patch` steps, its input a learned embedding of the segment's position (and of
    # the channel with model.channel_independent), and a linear head turns each step's output into that segment
    patch_embedding: bool = False
    decoder: str = one_of("dense", ("dense", "pmf"))  # pmf needs model.patch_embedding, one layer, one direction
    # pmf with model.channel_independent: half of each segment query is a learned embedding of the channel (SegRNN's
    # channel_id=1); false = the position's embedding fills the query and every channel asks the same (channel_id=0)
    channel_embedding: bool = True


def backbone(model_cfg, reg_cfg, x):
    """(batch, time, channels) -> (batch, units): `layers` recurrent layers, then pooling if asked."""
    import keras

    from .blocks import l2, pool

    cell = _layer_class(model_cfg.name, model_cfg.loop)
    _log_no_cudnn(model_cfg, reg_cfg)
    pooled = model_cfg.pooling in ("average", "max")
    x = _embed_patches(model_cfg, reg_cfg, x)
    for i in range(model_cfg.layers):
        rnn = cell(
            model_cfg.units,
            # the last layer returns the whole sequence only when a pooling layer reads it
            return_sequences=i < model_cfg.layers - 1 or pooled,
            kernel_regularizer=l2(reg_cfg),
            recurrent_regularizer=l2(reg_cfg),
            dropout=reg_cfg.dropout,
            recurrent_dropout=reg_cfg.recurrent_dropout,
            unroll=model_cfg.unroll,
            name=f"{cell.__name__.lower()}_{i}",
        )
        if model_cfg.bidirectional:
            rnn = keras.layers.Bidirectional(rnn, name=f"bidirectional_{i}")
        x = rnn(x)
    return pool(x, model_cfg.pooling) if pooled else x


def _embed_patches(model_cfg, reg_cfg, x):
    """(rows, time / patch, width) -> (rows, time / patch, units) with model.patch_embedding (SegRNN's value
    embedding); unchanged otherwise."""
    import keras

    from .blocks import l2

    if not model_cfg.patch_embedding:
        return x
    return keras.layers.Dense(model_cfg.units, activation="relu", kernel_regularizer=l2(reg_cfg),
                              name="patch_embedding")(x)


def pmf(model_cfg, reg_cfg, x, segments: int, channels: int):
    """SegRNN's parallel multi-step decoder: (rows, time / patch, width) -> (rows * segments, units).

    One recurrent layer encodes the embedded patches; from its last state it takes one more step per output segment,
    all segments side by side, each fed the learned embedding of its position (and channel)."""
    from .blocks import l2
    from .layers import SegmentQueries

    cell = _layer_class(model_cfg.name, "keras")
    _log_no_cudnn(model_cfg, reg_cfg)
    rnn = cell(model_cfg.units, return_state=True, kernel_regularizer=l2(reg_cfg),
               recurrent_regularizer=l2(reg_cfg), dropout=reg_cfg.dropout, recurrent_dropout=reg_cfg.recurrent_dropout,
               unroll=model_cfg.unroll, name=f"{cell.__name__.lower()}_0")
    states = rnn(_embed_patches(model_cfg, reg_cfg, x))[1:]  # [h] or [h, c], each (rows, units)
    channels = channels if model_cfg.channel_embedding else 1
    queries, *states = SegmentQueries(segments, channels, name="segment_queries")(states)
    return rnn(queries, initial_state=states)[0]  # (rows * segments, units)


def _layer_class(name: str, loop: str):
    """keras.layers.SimpleRNN / LSTM / GRU, or with loop=hoisted seqlab's fast_lstm.LSTM (same weights)."""
    import keras

    if loop == "hoisted":
        from . import fast_lstm

        return fast_lstm.LSTM
    return getattr(keras.layers, CELLS[name])


def _log_no_cudnn(model_cfg, reg_cfg) -> None:
    """On a GPU, say which option keeps LSTM/GRU layers off the cuDNN kernel (Keras falls back silently)."""
    import tensorflow as tf

    blockers = [key for key, on in (("regularizer.recurrent_dropout", reg_cfg.recurrent_dropout),
                                    ("model.unroll", model_cfg.unroll)) if on]
    if model_cfg.name != "simplernn" and blockers and tf.config.list_physical_devices("GPU"):
        log.warning("model=%s: no cuDNN kernel on the GPU because of %s (Keras' generic loop, several times "
                    "slower)", model_cfg.name, " and ".join(blockers))


def build(model_cfg, reg_cfg, spec):
    """The keras.Model (uncompiled); recurrent layers skip the padding of token-id inputs (mask)."""
    from .blocks import assemble

    return assemble(model_cfg, reg_cfg, spec, backbone, masks_padding=True,
                    decoder=pmf if model_cfg.decoder == "pmf" else None)


def check(cfg) -> None:
    from ..config.checks import check as require
    from ..config.checks import positive
    from ..registry import entry

    check_sequence_model(cfg)
    positive(cfg.model, "model", "units")
    choices = ["keras", "hoisted"] if cfg.model.name == "lstm" else ["keras"]
    require(cfg.model.loop in choices, "model.loop", f"one of the loops of model={cfg.model.name}", cfg.model.loop,
            choices)
    m = cfg.model
    if m.patch_embedding or m.decoder == "pmf":
        key = "model.patch_embedding" if m.patch_embedding else "model.decoder"
        require(m.patch > 0, key, "a positive model.patch with it (it works on patches)", m.patch)
    if m.decoder == "pmf":
        require(m.patch_embedding, "model.patch_embedding", "true with model.decoder=pmf (the recurrent layer reads "
                "both the embedded patches and the segments' embeddings, so both must be model.units wide)",
                m.patch_embedding)
        for key, ok, want in (("layers", m.layers == 1, "1"), ("bidirectional", not m.bidirectional, "false"),
                              ("pooling", m.pooling == "last", "last"), ("loop", m.loop == "keras", "keras")):
            require(ok, f"model.{key}", f"{want} with model.decoder=pmf (one forward layer steps on from its last "
                    "state)", m.get(key))
        require(m.channel_embedding or m.channel_independent, "model.channel_embedding",
                "true without model.channel_independent=true (false only turns off the channel half of the queries "
                "of a channel-independent model)",
                m.channel_embedding)
        horizon = cfg.dataset.get("horizon")
        if isinstance(horizon, int) and m.patch and horizon % m.patch:
            require(False, "model.decoder", f"pmf only with a model.patch ({m.patch}) that divides dataset.horizon "
                    f"({horizon}); or model.decoder=dense", m.decoder)
    elif not m.channel_embedding:
        require(False, "model.channel_embedding", "true unless model.decoder=pmf (only its segment queries embed the "
                "channel)", m.channel_embedding)
    if entry(cfg, "dataset").has("text") and cfg.dataset.eval_sequence_length is not None:
        require(not cfg.model.unroll, "model.unroll",
                "false with dataset.eval_sequence_length (an unrolled RNN needs one fixed length)", cfg.model.unroll)


for _name in CELLS:
    REGISTRIES["model"].add(_name, RNNConfig, target="seqlab.models.rnn:build", check=check, schema_name="rnn",
                            capabilities={"masks_padding", "pooling", "window_options", "adversarial", "quantiles"})
