"""Recurrent models (simplernn, lstm, gru): stacked, optionally bidirectional layers; schema, builder, checks."""

from __future__ import annotations

from dataclasses import dataclass

from ..config.schema import SequenceModelConfig
from ..registry import REGISTRIES
from .build import check_sequence_model

CELLS = {"simplernn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}  # option -> keras.layers class


@dataclass
class RNNConfig(SequenceModelConfig):
    units: int = 32
    bidirectional: bool = False
    unroll: bool = False


def backbone(model_cfg, reg_cfg, x):
    """(batch, time, channels) -> (batch, units): `layers` recurrent layers, then pooling if asked."""
    import keras

    from .blocks import l2, pool

    cell = getattr(keras.layers, CELLS[model_cfg.name])
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
    if entry(cfg, "dataset").has("text") and cfg.dataset.get("eval_sequence_length") is not None:
        require(not cfg.model.unroll, "model.unroll",
                "false with dataset.eval_sequence_length (an unrolled RNN needs one fixed length)", cfg.model.unroll)


for _name in CELLS:
    REGISTRIES["model"].add(_name, RNNConfig, target="seqlab.models.rnn:build", check=check, schema_name="rnn",
                            capabilities={"masks_padding", "pooling", "window_options", "adversarial"})
