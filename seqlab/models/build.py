"""models.build: the chosen model's builder from its registry entry, plus the head and loss the data implies.

No Keras at module level: the model modules register (and validate) without importing TensorFlow.
"""

from __future__ import annotations

import math
from typing import Tuple

from ..spec import DataSpec


def head_for(spec: DataSpec) -> Tuple[int, str, str]:
    """(units, activation, loss) of the output layer, decided by the data and never by the user."""
    if spec.task == "regression":
        return int(math.prod(spec.output_shape)), "linear", "mse"
    if spec.task == "binary":
        return 1, "sigmoid", "binary_crossentropy"
    if spec.task == "multiclass":
        return int(spec.num_classes), "softmax", "sparse_categorical_crossentropy"
    raise ValueError(f"unknown task {spec.task!r}")


def output_shape_for(spec: DataSpec) -> Tuple[int, ...]:
    """The per-example output shape a model for `spec` must have: the forecast's, (1,) or (classes,)."""
    units, _, _ = head_for(spec)
    return tuple(spec.output_shape) if spec.task == "regression" else (units,)


def build(model_cfg, reg_cfg, spec: DataSpec):
    """An uncompiled keras.Model for `spec` from option `model_cfg.name`; regularizers from `reg_cfg` inside.

    regularizer.adversarial makes it a HookedModel whose training loss both trainers take through the hook.
    """
    from ..registry import registry

    model = registry("model").get(model_cfg.name).load()(model_cfg, reg_cfg, spec)
    if reg_cfg.get("adversarial"):
        from .adversarial import attach

        model = attach(model)
    return model


def check_sequence_model(cfg) -> None:
    """The checks of the keys every built-in model shares (SequenceModelConfig); no TensorFlow."""
    from ..config.checks import choice, positive

    m = cfg.model
    positive(m, "model", "layers", "embedding_dim")
    positive(m, "model", "patch", allow_zero=True)
    choice(m, "model", "pooling", ["last", "average", "max"])
    choice(m, "model", "norm", ["none", "last", "revin"])
