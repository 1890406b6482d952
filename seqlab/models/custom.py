"""model=custom: a Keras model builder from the user's own Python file (`model.builder=my_models:tcn`).

The builder is `def tcn(cfg, spec) -> keras.Model` (or `(cfg, spec, reg_cfg)` to apply the regularizer itself):
it gets this sub-config (`cfg.params` holds its own hyperparameters) and the DataSpec and returns an uncompiled
model including its output layer. seqlab compiles it with the loss the data implies and trains it like any other.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Dict, List

from omegaconf import MISSING

from ..config import config_error
from ..config.schema import ModelConfig
from ..registry import REGISTRIES, check_target_key, import_target
from .build import output_shape_for


@dataclass
class CustomModelConfig(ModelConfig):
    builder: str = MISSING  # "module:function", the module importable from the working directory
    params: Dict[str, Any] = field(default_factory=dict)  # the builder's own hyperparameters (model.params.<key>)


def _takes_reg_cfg(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: assume the plain (cfg, spec)
        return False
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= 3


def regularizer_settings(reg_cfg) -> List[str]:
    """`regularizer.<key>=<value>` for each value that differs from the schema's default (off): with
    `regularizer=none regularizer.l2=0.01` the user still asks for a regularizer."""
    import dataclasses

    from ..config.schema import RegularizerConfig

    return [f"regularizer.{f.name}={reg_cfg.get(f.name)}" for f in dataclasses.fields(RegularizerConfig)
            if f.name != "name" and reg_cfg.get(f.name, f.default) != f.default]


def build(model_cfg, reg_cfg, spec):
    """The user's model, checked against the spec's output shape."""
    import keras

    fn = import_target(model_cfg.builder, "model.builder")
    if _takes_reg_cfg(fn):
        model = fn(model_cfg, spec, reg_cfg)
    elif reg_cfg.name != "none" or regularizer_settings(reg_cfg):
        raise config_error("regularizer", f"none, with no regularizer.* value set, for model.builder="
                           f"{model_cfg.builder}, which takes (cfg, spec) (give it a third parameter reg_cfg to apply "
                           "a regularizer itself)",
                           " ".join([f"regularizer={reg_cfg.name}", *regularizer_settings(reg_cfg)]), ["none"])
    else:
        model = fn(model_cfg, spec)
    if not isinstance(model, keras.Model):
        raise config_error("model.builder", "a function returning a keras.Model", type(model).__name__)
    expected = output_shape_for(spec)
    got = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else model.output_shape
    if got != expected:
        raise config_error("model.builder", f"a model whose output shape is (batch, {', '.join(map(str, expected))}) "
                           f"for {spec.task} on dataset {spec.name}", f"(batch, {', '.join(map(str, got))})")
    return model


def check(cfg) -> None:
    """The builder's module can be found (not imported: no TensorFlow before the run)."""
    check_target_key(cfg.model, "builder", "model.builder", "my_models:tcn")


REGISTRIES["model"].add("custom", CustomModelConfig, target="seqlab.models.custom:build", check=check)
