"""Recurrent models (simplernn, lstm, gru): stacked, optionally bidirectional layers; schema, builder, checks."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..config.schema import SequenceModelConfig
from ..registry import REGISTRIES
from .build import check_sequence_model

CELLS = {"simplernn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}  # option -> keras.layers class
log = logging.getLogger(__name__)


@dataclass
class RNNConfig(SequenceModelConfig):
    units: int = 32
    bidirectional: bool = False
    unroll: bool = False
    # lstm only: keras (keras.layers.LSTM) | hoisted (seqlab.models.fast_lstm: one input matmul for all steps; same
    # weights; measured no faster in fit and slower under XLA, docs/RESULTS.md "seqlab's LSTM vs PyTorch")
    loop: str = "keras"


def backbone(model_cfg, reg_cfg, x):
    """(batch, time, channels) -> (batch, units): `layers` recurrent layers, then pooling if asked."""
    import keras

    from .blocks import l2, pool

    cell = _layer_class(model_cfg.name, model_cfg.get("loop", "keras"))
    _log_no_cudnn(model_cfg, reg_cfg)
    pooled = model_cfg.pooling in ("average", "max")
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

    return assemble(model_cfg, reg_cfg, spec, backbone, masks_padding=True)


def check(cfg) -> None:
    from ..config.checks import check as require
    from ..config.checks import positive
    from ..registry import entry

    check_sequence_model(cfg)
    positive(cfg.model, "model", "units")
    choices = ["keras", "hoisted"] if cfg.model.name == "lstm" else ["keras"]
    require(cfg.model.loop in choices, "model.loop", f"one of the loops of model={cfg.model.name}", cfg.model.loop,
            choices)
    if entry(cfg, "dataset").has("text") and cfg.dataset.get("eval_sequence_length") is not None:
        require(not cfg.model.unroll, "model.unroll",
                "false with dataset.eval_sequence_length (an unrolled RNN needs one fixed length)", cfg.model.unroll)


for _name in CELLS:
    REGISTRIES["model"].add(_name, RNNConfig, target="seqlab.models.rnn:build", check=check, schema_name="rnn",
                            capabilities={"masks_padding", "pooling", "window_options", "adversarial"})
