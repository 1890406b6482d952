"""The adding problem (Hochreiter & Schmidhuber 1997): sum the two marked values of a length-T sequence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ..config import config_error
from ..config.schema import DatasetConfig
from ..registry import REGISTRIES
from .base import ArraySplit, DataSpec, Splits
from .baselines import mean_baseline


@dataclass
class AddingConfig(DatasetConfig):
    """The adding problem (Hochreiter & Schmidhuber 1997): sum the two marked values in a sequence of T."""

    length: int = 50  # sequence length T
    train_size: int = 10000  # training sequences generated
    val_size: int = 1000  # validation sequences generated
    test_size: int = 1000  # test sequences generated


def load_adding(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """Train/val/test sets of sizes from the config, deterministic from `seed`."""
    T = cfg.length
    if T < 2:
        raise config_error("dataset.length", "a sequence length >= 2 (one marker in each half)", T)
    sizes = {"train": cfg.train_size, "val": cfg.val_size, "test": cfg.test_size}
    # one independent stream per split, so changing one split's size leaves the others unchanged
    streams = np.random.default_rng(seed).spawn(3)
    split_objs = [ArraySplit(*adding_examples(n, T, rng)) for n, rng in zip(sizes.values(), streams)]
    info = {"length": T, "sizes": sizes, "features": ["value", "marker"],
            "target": "sum of the two marked values (one marker in each half)"}
    splits = Splits(*split_objs, baseline_name="constant (train mean)", baseline_fn=mean_baseline, info=info,
                    artifacts={"length": T, "features": ["value", "marker"]})
    spec = DataSpec(name=cfg.name, task="regression", input_shape=(T, 2), output_shape=(1,),
                    feature_names=("value", "marker"), target_names=("sum",))
    return splits, spec


def adding_examples(n: int, length: int, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """x (n, length, 2) = (value ~ U[0, 1], marker) with one marker per half; y (n, 1) = sum of marked values."""
    values = rng.uniform(0.0, 1.0, (n, length))
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    markers = np.zeros((n, length))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)  # (n, time, 2)
    y = (values[rows, first] + values[rows, second])[:, None].astype(np.float32)  # (n, 1)
    return x, y


def check(cfg) -> None:
    from ..config.checks import check as require
    from ..config.checks import positive

    positive(cfg.dataset, "dataset", "train_size", "val_size", "test_size")
    require(cfg.dataset.length >= 2, "dataset.length", "a sequence length >= 2 (one marker in each half)",
            cfg.dataset.length)


REGISTRIES["dataset"].add("adding", AddingConfig, target="seqlab.data.adding:load_adding", check=check,
                          capabilities={"regression"})
