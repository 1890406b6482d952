"""models.build: the chosen model's builder from its registry entry, plus the head and loss the data implies.

No Keras at module level: the model modules register (and validate) without importing TensorFlow.
"""

from __future__ import annotations

import logging
import math
from typing import Optional, Tuple

from ..spec import DataSpec

log = logging.getLogger(__name__)


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


def target_channels(spec: DataSpec) -> Optional[Tuple[int, ...]]:
    """The input channel of each forecast target (where a window's level for it is read), or None when some
    target is not an input feature."""
    features, targets = spec.feature_names, spec.target_names
    if not features or not targets:  # unnamed columns: only same-count inputs and outputs line up
        same = len(spec.input_shape) == 2 and spec.output_shape[-1:] == spec.input_shape[-1:]
        return tuple(range(spec.input_shape[-1])) if same else None
    if not set(targets) <= set(features):
        return None
    return tuple(features.index(t) for t in targets)


def resolve_norm(model_cfg, spec: DataSpec) -> Optional[str]:
    """model.norm for this data, `auto` decided (and logged): `last` for a window-forecasting dataset, whose test
    values may lie outside the training range (a trend or a level shift), when every target is an input column;
    `none` otherwise. None for a model without the key (model=custom)."""
    from ..registry import registry

    norm = model_cfg.get("norm")
    if norm != "auto":
        return norm
    datasets = registry("dataset")
    if spec.name not in datasets or not datasets.get(spec.name).has("window_forecasting"):
        return "none"
    if target_channels(spec) is None:
        log.info("model.norm=auto -> none: the targets (%s) are not all input features (%s), so an input window "
                 "has no level to add back to their forecast", ", ".join(spec.target_names),
                 ", ".join(spec.feature_names))
        return "none"
    log.info("model.norm=auto -> last: each target's last input value is subtracted from the window and added "
             "back to the forecast (robust to trends and level shifts; model.norm=none turns it off)")
    return "last"


def build(model_cfg, reg_cfg, spec: DataSpec):
    """An uncompiled keras.Model for `spec` from option `model_cfg.name`; regularizers from `reg_cfg` inside.

    regularizer.adversarial makes it a HookedModel whose training loss both trainers take through the hook.
    """
    from ..registry import registry

    model = registry("model").get(model_cfg.name).load()(model_cfg, reg_cfg, spec)
    if reg_cfg.adversarial:
        from .adversarial import attach

        model = attach(model)
    return model


def check_sequence_model(cfg) -> None:
    """The checks of the keys every built-in model shares (SequenceModelConfig); no TensorFlow."""
    from ..config.checks import positive

    m = cfg.model
    positive(m, "model", "layers", "embedding_dim")
    positive(m, "model", "patch", allow_zero=True)
    # model.pooling and model.norm: their choices are checked from the schema (config.schema.one_of)
