"""validate(cfg): every check of a composed config, the sweep space included (before TensorFlow loads)."""

from __future__ import annotations

from omegaconf import DictConfig

from .checks import check_config
from .space import sweep_space


def validate(cfg: DictConfig) -> None:
    """Cross-field and range checks the schema types cannot express, and the sweep space; raises ConfigError."""
    check_config(cfg)
    if cfg.sweep.name != "none":
        sweep_space(cfg)
