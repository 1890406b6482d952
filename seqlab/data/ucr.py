"""Series classification from UCR-archive text files (label, then values) or UEA/sktime `.ts` files (multivariate,
unequal lengths); a shorter series is padded (`dataset.padding`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
from omegaconf import MISSING, OmegaConf

from ..config import config_error
from ..config.schema import DatasetConfig
from ..registry import REGISTRIES
from . import download
from .base import ArraySplit, DataSpec, Splits
from .baselines import majority_class_baseline
from .classfiles import read_labelled
from .labels import LabelMap, shuffled_split_indices
from .transforms import PadSeries

log = logging.getLogger(__name__)


@dataclass
class UcrConfig(DatasetConfig):
    train_path: str = MISSING  # the training file (UCR .tsv/.txt or sktime .ts)
    test_path: str = MISSING  # the test file, same layout
    padding: Optional[str] = None  # None: rows must have equal length; "pre" or "post": pad with zeros
    # 0: no validation split, for sets too small to spare one (Fawaz et al. 2019 train on the whole file):
    # early stopping and the restored weights then follow the training loss, and sweeps are refused
    val_fraction: float = 0.2
    normalize: bool = True  # z-score each channel with the training rows' statistics
    interpolate: bool = False  # fill missing values inside a series (.ts `?`) by linear interpolation


def load_ucr(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """`train_path`/`test_path` (UCR text or UEA `.ts`) -> x (n, T, channels) float32, labels 0..K-1; validation
    carved from the training file, stratified by class."""
    paths = _paths(cfg, data_dir)
    train_rows, train_labels = read_labelled(paths["train_path"], "dataset.train_path")
    test_rows, test_labels = read_labelled(paths["test_path"], "dataset.test_path")
    channels = {r.shape[1] for r in train_rows + test_rows}
    if len(channels) > 1:
        raise config_error("dataset.test_path", f"series with as many channels as {paths['train_path'].name}",
                           f"channel counts {sorted(channels)}")
    train_rows = [_filled(r, cfg, paths["train_path"], i) for i, r in enumerate(train_rows)]
    test_rows = [_filled(r, cfg, paths["test_path"], i) for i, r in enumerate(test_rows)]

    lengths = [len(r) for r in train_rows + test_rows]
    if min(lengths) != max(lengths) and cfg.padding not in ("pre", "post"):
        raise config_error("dataset.padding", f"'pre' or 'post' since rows have unequal lengths "
                           f"({min(lengths)}..{max(lengths)})", cfg.padding, ["pre", "post"])
    labels = LabelMap.fit(train_labels + test_labels, paths["train_path"].name)
    ids, classes = labels.ids(train_labels + test_labels, "dataset.train_path"), labels.class_names
    if len(classes) < 2:
        raise config_error("dataset.train_path", "labels of at least two classes", f"only {classes}")
    y_train, y_test = ids[: len(train_rows)], ids[len(train_rows):]
    unseen = sorted({classes[i] for i in set(y_test.tolist()) - set(y_train.tolist())}, key=str)
    if unseen:
        log.warning("ucr: test labels %s never occur in %s", unseen, paths["train_path"].name)

    # stratified: every class keeps its share in validation (a plain shuffle can leave a small class out of it)
    train_order, val_order, test_order = shuffled_split_indices(len(train_rows), len(test_rows), cfg.val_fraction,
                                                                seed, labels=y_train)
    index = {"train": train_order, "val": val_order}
    parts = {k: ([train_rows[i] for i in idx], y_train[idx]) for k, idx in index.items()}
    parts["test"] = ([test_rows[i] for i in test_order], y_test[test_order])
    C = channels.pop()

    info: Dict = {"source": {k: str(p) for k, p in paths.items()}, "class_names": classes,
                  "lengths": [min(lengths), max(lengths)], "channels": C, "padding": cfg.padding,
                  "sizes": {k: len(v[1]) for k, v in parts.items()},
                  "train_class_counts": np.bincount(parts["train"][1], minlength=len(classes)).tolist()}
    T = max(lengths)
    pad = PadSeries.fit(parts["train"][0], T, cfg.padding, bool(cfg.normalize))
    if cfg.normalize:
        # per channel, over every value of the training rows; one channel: plain numbers, as before multivariate
        mean_out, std_out = (float(pad.mean[0]), float(pad.std[0])) if C == 1 else (pad.mean.tolist(),
                                                                                  pad.std.tolist())
        info["normalization"] = {"mean": mean_out, "std": std_out,
                                 "rows": "train split (after carving validation)" if len(val_order) else
                                 "train split (the whole training file: dataset.val_fraction=0)"}
    # the same transform as predict and export apply to raw series
    arrays = {k: (pad.apply(rows, "dataset.train_path"), y) for k, (rows, y) in parts.items()}
    norm = info.get("normalization", {})
    artifacts = {"length": T, "channels": C, "padding": cfg.padding, "class_names": classes,
                 "normalize": bool(cfg.normalize), "mean": norm.get("mean"), "std": norm.get("std"),
                 "transforms": {"pad_series": pad, "labels": labels}}
    splits = Splits(*(ArraySplit(*arrays[k]) for k in ("train", "val", "test")), baseline_name="majority class",
                    baseline_fn=majority_class_baseline, info=info, artifacts=artifacts)
    k = len(classes)
    names = ("value",) if C == 1 else tuple(f"channel_{j}" for j in range(C))
    spec = DataSpec(name=cfg.name, task="binary" if k == 2 else "multiclass", input_shape=(T, C),
                    output_shape=(), num_classes=k, feature_names=names)
    return splits, spec


def read_ucr(path: Path, key: str) -> Tuple[List[np.ndarray], list]:
    """Rows of a UCR (or one-channel .ts) file as 1-D arrays, and their raw labels; multichannel rows stay 2-D."""
    rows, labels = read_labelled(path, key)
    return [r[:, 0] if r.shape[1] == 1 else r for r in rows], labels


def _filled(row: np.ndarray, cfg, path: Path, i: int) -> np.ndarray:
    """A series with missing values inside (a .ts `?`) interpolated per channel with `dataset.interpolate`; a
    channel shorter than the others is padded by the reader with NaN at its end and treated the same."""
    row = row[: np.flatnonzero(~np.isnan(row).all(axis=1))[-1] + 1]  # trailing all-NaN steps: shorter series
    if not np.isnan(row).any():
        return row
    if not cfg.interpolate:
        raise config_error("dataset.interpolate", "true to fill missing values inside a series, or a file without "
                           "them", f"{int(np.isnan(row).sum())} missing values in case {i + 1} of {path.name}")
    t = np.arange(len(row))
    out = row.copy()
    for j in range(row.shape[1]):
        ok = ~np.isnan(row[:, j])
        if not ok.any():
            raise config_error("dataset.interpolate", "a value to interpolate from in every channel",
                               f"case {i + 1}, channel {j} of {path.name} is empty")
        out[:, j] = np.interp(t, t[ok], row[ok, j])
    return out


def _paths(cfg, data_dir: Optional[str]) -> Dict[str, Path]:
    return {k: download.local_path(None if OmegaConf.is_missing(cfg, k) else cfg[k], f"dataset.{k}", data_dir)
            for k in ("train_path", "test_path")}


def check(cfg) -> None:
    """Both files exist (read by the loader); padding and val_fraction are valid (0 only outside a sweep, whose
    objective is read on the validation split)."""
    from ..config import config_error
    from ..config.checks import choice, fraction

    choice(cfg.dataset, "dataset", "padding", [None, "pre", "post"])
    fraction(cfg.dataset, "dataset", "val_fraction")
    if cfg.dataset.val_fraction == 0 and cfg.sweep.name != "none":
        raise config_error("dataset.val_fraction", f"a fraction above 0 with sweep={cfg.sweep.name} (its trials are "
                           "compared on the validation split; 0 leaves none)", cfg.dataset.val_fraction)
    _paths(cfg.dataset, cfg.data_dir)


REGISTRIES["dataset"].add("ucr", UcrConfig, target="seqlab.data.ucr:load_ucr", check=check,
                          capabilities={"classification"})
