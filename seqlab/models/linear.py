"""linear: the output layer alone on the whole input window (Zeng et al. 2023's Linear / NLinear baseline); schema,
builder, checks.

With `model.norm=last` and `model.channel_independent=true` it is NLinear: one shared `input_len -> horizon` map per
channel on the window minus its last value. On text it is a bag of embeddings (the mean of the review's word vectors,
padding left out) under a linear classifier, as fastText.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.schema import NORMS, ModelConfig, one_of
from ..registry import REGISTRIES


@dataclass
class LinearConfig(ModelConfig):
    # window forecasting only, as for the other models (docs/results-history.md, the ETT benchmark)
    norm: str = one_of("auto", NORMS)
    channel_independent: bool = False  # one shared map per channel (NLinear)
    embedding_dim: int = 64  # text datasets only


def _backbone(text: bool):
    def backbone(model_cfg, reg_cfg, x):
        """(batch, time, channels) -> (batch, time * channels); text: (batch, time, embedding) -> (batch,
        embedding), the mean over the words that are not padding."""
        import keras

        if text:
            return keras.layers.GlobalAveragePooling1D(name="average_pool")(x)
        return keras.layers.Flatten(name="flatten")(x)

    return backbone


def build(model_cfg, reg_cfg, spec):
    """The keras.Model (uncompiled): inputs, the window options, dropout on the head's input, the head."""
    from .blocks import assemble

    return assemble(model_cfg, reg_cfg, spec, _backbone(bool(spec.vocab_size)), masks_padding=True)


def check(cfg) -> None:
    from ..config.checks import check as require
    from ..config.checks import positive

    positive(cfg.model, "model", "embedding_dim")
    require(not cfg.regularizer.recurrent_dropout, "regularizer.recurrent_dropout",
            "0 for model=linear (it has no recurrence)", cfg.regularizer.recurrent_dropout)


REGISTRIES["model"].add("linear", LinearConfig, target="seqlab.models.linear:build", check=check,
                        capabilities={"masks_padding", "window_options", "least_squares", "quantiles"})


def _only(model, kind):
    """The model's one layer of class `kind` (None without one): the structure build() made, whatever its names."""
    found = [layer for layer in model.layers if isinstance(layer, kind)]
    if len(found) > 1:
        raise ValueError(f"{model.name}: {len(found)} {kind.__name__} layers, a linear model has at most one")
    return found[0] if found else None


def head_layer(model):
    """The linear model's head: its one Dense layer (the kernel and bias trainer=lstsq solves for)."""
    import keras

    head = _only(model, keras.layers.Dense)
    if head is None:
        raise ValueError(f"{model.name}: no Dense head, not a model=linear model")
    return head


def head_problem(model):
    """For trainer=lstsq: a function (x, y) -> (features, targets, weights) in float64 such that the model's squared
    error on (x, y) is sum(weights * (features @ kernel + bias - targets) ** 2) over the head's rows.

    The head reads the (normalised, channel-folded) window flattened; a window's forecast is the head's output
    unfolded, times the window's scale plus its level, so the head's target is the forecast's inverse: each row's
    future minus its level, over its scale (RevIN's scale makes the rows' weights scale ** 2)."""
    import keras
    import numpy as np

    from .layers import FoldChannels, WindowDenorm, WindowNorm

    norm = _only(model, WindowNorm)
    probe = keras.Model(model.inputs, [head_layer(model).input] + (list(norm.output[1:]) if norm is not None else []))
    channels = _only(model, WindowDenorm).channels if norm is not None else None
    folded = _only(model, FoldChannels) is not None

    def rows(x, y):
        out = probe(x, training=False)
        out = out if isinstance(out, (list, tuple)) else [out]  # a one-output model returns the tensor itself
        features = np.asarray(out[0], np.float64)
        y = np.asarray(y, np.float64)  # (batch, horizon, targets)
        scale = np.ones((len(y), 1, y.shape[-1]))
        if norm is not None:
            loc, scale = (np.asarray(v, np.float64) for v in out[1:])  # (batch, 1, inputs)
            if channels is not None:
                loc, scale = loc[..., channels], scale[..., channels]
            y = (y - loc) / scale
        if folded:  # rows batch-major, channel-minor, as FoldChannels orders them
            targets = np.transpose(y, (0, 2, 1)).reshape(-1, y.shape[1])
            weights = np.transpose(scale, (0, 2, 1)).reshape(-1, 1) ** 2
        else:
            if not np.all(scale == 1):
                raise ValueError("per-target scales need model.channel_independent=true")
            targets, weights = y.reshape(len(y), -1), np.ones((len(y), 1))
        return features, targets, weights

    return rows
