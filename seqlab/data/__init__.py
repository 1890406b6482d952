"""Datasets: `load(cfg) -> (Splits, DataSpec)`, one module per dataset family, keyed by YAML stem."""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

from . import adding, series, text, ucr
from .base import ArraySplit, DataSpec, Split, Splits, WindowSplit

__all__ = ["ArraySplit", "DataSpec", "Split", "Splits", "WindowSplit", "LOADERS", "load"]

LOADERS: Dict[str, Callable] = {
    "sine": series.load_sine,
    "csv": series.load_csv,
    "etth1": series.load_ett,
    "ettm1": series.load_ett,
    "adding": adding.load_adding,
    "text_synth": text.load_text_synth,
    "text_csv": text.load_text_csv,
    "imdb": text.load_imdb,
    "ucr": ucr.load_ucr,
}


def load(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """Load the dataset named by `cfg.name` (the `dataset` sub-config), capped at `cfg.limit` per split."""
    from ..config import config_error

    if cfg.name not in LOADERS:
        raise config_error("dataset", "a dataset option", cfg.name, sorted(LOADERS))
    splits, spec = LOADERS[cfg.name](cfg, data_dir=data_dir, seed=seed)
    return splits.limited(cfg.limit), spec
