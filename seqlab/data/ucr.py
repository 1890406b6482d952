"""UCR-archive classification: tab-separated rows (label, then values); trailing NaNs mark shorter series."""

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
from .base import ArraySplit, DataSpec, Splits, encode_labels, majority_class_baseline, shuffled_split_indices

log = logging.getLogger(__name__)


@dataclass
class UcrConfig(DatasetConfig):
    train_path: str = MISSING
    test_path: str = MISSING
    padding: Optional[str] = None  # None: rows must have equal length; "pre" or "post": pad with zeros
    val_fraction: float = 0.2
    normalize: bool = True


def load_ucr(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """`train_path`/`test_path` tsv files -> x (n, T, 1) float32, labels 0..K-1; validation carved from train."""
    paths = _paths(cfg, data_dir)
    train_rows, train_labels = read_ucr(paths["train_path"], "dataset.train_path")
    test_rows, test_labels = read_ucr(paths["test_path"], "dataset.test_path")

    lengths = [len(r) for r in train_rows + test_rows]
    if min(lengths) != max(lengths) and cfg.padding not in ("pre", "post"):
        raise config_error("dataset.padding", f"'pre' or 'post' since rows have unequal lengths "
                           f"({min(lengths)}..{max(lengths)})", cfg.padding, ["pre", "post"])
    ids, classes = encode_labels(train_labels + test_labels)
    if len(classes) < 2:
        raise config_error("dataset.train_path", "labels of at least two classes", f"only {classes}")
    y_train, y_test = ids[: len(train_rows)], ids[len(train_rows):]
    unseen = sorted({classes[i] for i in set(y_test.tolist()) - set(y_train.tolist())}, key=str)
    if unseen:
        log.warning("ucr: test labels %s never occur in %s", unseen, paths["train_path"].name)

    train_order, val_order, test_order = shuffled_split_indices(len(train_rows), len(test_rows), cfg.val_fraction,
                                                                seed)
    index = {"train": train_order, "val": val_order}
    parts = {k: ([train_rows[i] for i in idx], y_train[idx]) for k, idx in index.items()}
    parts["test"] = ([test_rows[i] for i in test_order], y_test[test_order])

    info: Dict = {"source": {k: str(p) for k, p in paths.items()}, "class_names": classes,
                  "lengths": [min(lengths), max(lengths)], "padding": cfg.padding,
                  "sizes": {k: len(v[1]) for k, v in parts.items()},
                  "train_class_counts": np.bincount(parts["train"][1], minlength=len(classes)).tolist()}
    if cfg.normalize:
        # one mean/std over every value of the training rows (padding excluded, as it is added afterwards)
        values = np.concatenate(parts["train"][0])
        mean, std = float(values.mean()), float(values.std())
        std = std if std > 1e-12 else 1.0
        parts = {k: ([(r - mean) / std for r in rows], y) for k, (rows, y) in parts.items()}
        info["normalization"] = {"mean": mean, "std": std, "rows": "train split (after carving validation)"}

    T = max(lengths)
    arrays = {k: (_pad(rows, T, cfg.padding), y) for k, (rows, y) in parts.items()}
    norm = info.get("normalization", {})
    artifacts = {"length": T, "padding": cfg.padding, "class_names": classes, "normalize": bool(cfg.normalize),
                 "mean": norm.get("mean"), "std": norm.get("std")}
    splits = Splits(*(ArraySplit(*arrays[k]) for k in ("train", "val", "test")), baseline_name="majority class",
                    baseline_fn=majority_class_baseline, info=info, artifacts=artifacts)
    k = len(classes)
    spec = DataSpec(name=cfg.name, task="binary" if k == 2 else "multiclass", input_shape=(T, 1),
                    output_shape=(), num_classes=k, feature_names=("value",))
    return splits, spec


def read_ucr(path: Path, key: str) -> Tuple[List[np.ndarray], list]:
    """Rows of a UCR tsv file: (values per row with trailing NaNs removed, raw labels)."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise config_error(key, "a readable tab-separated file", f"{path}: {exc}") from None
    rows, labels = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.rstrip().split("\t")
        try:
            values = np.array(fields[1:], dtype=np.float64)
        except ValueError:
            bad = next(f for f in fields[1:] if not _is_float(f))
            raise config_error(key, "numeric values after the label, tab-separated",
                               f"{bad!r} on line {number} of {path}") from None
        present = np.flatnonzero(~np.isnan(values))
        if len(present) == 0:
            raise config_error(key, "at least one value after the label", f"line {number} of {path}")
        values = values[: present[-1] + 1]  # trailing NaNs only pad a shorter series to the file's width
        if np.isnan(values).any():
            raise config_error(key, "NaNs only at the end of a row (UCR 2018 variable-length convention)",
                               f"{int(np.isnan(values).sum())} NaNs inside line {number} of {path}")
        rows.append(values)
        labels.append(_label(fields[0]))
    if not rows:
        raise config_error(key, "a non-empty tab-separated file", str(path))
    return rows, labels


def _pad(rows: List[np.ndarray], length: int, padding: Optional[str]) -> np.ndarray:
    x = np.zeros((len(rows), length, 1), dtype=np.float32)  # (n, time, 1); zeros are the padding
    for i, r in enumerate(rows):
        if padding == "pre":
            x[i, length - len(r):, 0] = r
        else:
            x[i, : len(r), 0] = r
    return x


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _label(text: str):
    """UCR labels are written as numbers ("1", "-1", "1.0000000e+00") or words; keep ints as ints."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _paths(cfg, data_dir: Optional[str]) -> Dict[str, Path]:
    return {k: download.local_path(None if OmegaConf.is_missing(cfg, k) else cfg[k], f"dataset.{k}", data_dir)
            for k in ("train_path", "test_path")}


def check(cfg) -> None:
    """Both files exist (read by the loader); padding and val_fraction are valid."""
    from ..config.checks import choice, fraction

    choice(cfg.dataset, "dataset", "padding", [None, "pre", "post"])
    fraction(cfg.dataset, "dataset", "val_fraction", lower_open=True)
    _paths(cfg.dataset, cfg.data_dir)


REGISTRIES["dataset"].add("ucr", UcrConfig, target="seqlab.data.ucr:load_ucr", check=check,
                          capabilities={"classification"})
