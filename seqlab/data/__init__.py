"""Datasets: `load(cfg) -> (Splits, DataSpec)`, one module per dataset family, each option in seqlab.registry.

Importing this package registers the dataset options; it imports no TensorFlow (the pipelines do, on use).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Optional, Tuple

from .base import ArraySplit, DataSpec, Split, Splits, WindowSplit, with_series_ids

# shared code, not options; every other module here registers its dataset options on import, so a new dataset
# family is one module (schema, loader, check, registration) plus its YAML
SUPPORT_MODULES = ("base", "download", "tabular", "numbers", "timecolumns", "classfiles", "transforms", "labels",
                   "textvec", "fitted", "windows", "imdb", "panel_read", "intervals", "scoring", "known",
                   "baselines", "tensors")
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in SUPPORT_MODULES:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["ArraySplit", "DataSpec", "Split", "Splits", "WindowSplit", "load", "with_series_ids"]


def load(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """Load the dataset option `cfg.name` (the `dataset` sub-config), capped at `cfg.limit` per split."""
    from ..registry import registry

    splits, spec = registry("dataset").get(cfg.name).load()(cfg, data_dir=data_dir, seed=seed)
    return splits.limited(cfg.limit), spec
