"""Datasets: `load(cfg) -> (Splits, DataSpec)`, one module per dataset family, each option in seqlab.registry.

Importing this package registers the dataset options; it imports no TensorFlow (the pipelines do, on use).
"""

from __future__ import annotations

from typing import Optional, Tuple

from . import adding, custom, series, text, ucr  # noqa: F401 (they register their options)
from .base import ArraySplit, DataSpec, Split, Splits, WindowSplit

__all__ = ["ArraySplit", "DataSpec", "Split", "Splits", "WindowSplit", "load"]


def load(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """Load the dataset option `cfg.name` (the `dataset` sub-config), capped at `cfg.limit` per split."""
    from ..registry import registry

    splits, spec = registry("dataset").get(cfg.name).load()(cfg, data_dir=data_dir, seed=seed)
    return splits.limited(cfg.limit), spec
