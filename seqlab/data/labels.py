"""The fitted label transform: raw labels <-> class ids, and model outputs -> class probabilities (the one place
they are computed, for training metrics, predict and export)."""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..config import config_error

log = logging.getLogger(__name__)


def clean_label(value):
    """" 1 " -> 1, "1.0" -> 1, "0.5" -> 0.5, " pos " -> "pos": numbers as numbers, words stripped."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        value = value.item() if isinstance(value, np.generic) else value
        return int(value) if float(value).is_integer() else value
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


class LabelMap:
    """Raw labels <-> class ids 0..K-1 (sorted class names). Labels are read as training read them: numbers
    as numbers (`1.0` is class 1), words stripped, and words differing only in case merged into the most
    frequent spelling (lowercase on a tie; a warning names them). Also turns model outputs into class probabilities."""

    kind = "labels"

    def __init__(self, class_names: Sequence, merged: Optional[Dict[str, str]] = None):
        self.class_names = list(class_names)
        self.merged = dict(merged or {})  # spelling -> class name it was merged into
        self.index = {self._key(c): i for i, c in enumerate(self.class_names)}

    @staticmethod
    def _key(value) -> str:
        value = clean_label(value)
        return value.casefold() if isinstance(value, str) else str(value)

    @classmethod
    def fit(cls, values: Sequence, source: str = "labels") -> "LabelMap":
        values = [clean_label(v) for v in values]
        if any(isinstance(v, str) for v in values) and any(not isinstance(v, str) for v in values):
            values = [str(v) for v in values]  # "1" and "x" in one column: all names, compared as text
        counts = pd.Series(values, dtype=object).value_counts(sort=False)
        spellings: Dict[str, List] = {}
        for v in counts.index:
            spellings.setdefault(cls._key(v), []).append(v)
        merged = {}
        names = []
        for group in spellings.values():
            # the most frequent spelling; on a tie the lowercase one
            name = sorted(group, key=lambda v: (-counts[v], str(v) != str(v).lower(), str(v)))[0]
            names.append(name)
            merged.update({str(v): str(name) for v in group if v != name})
        if merged:
            log.warning("%s: labels differing only in case merged into one class each: %s", source,
                        ", ".join(f"{k!r} -> {v!r}" for k, v in merged.items()))
        try:
            names = sorted(names)
        except TypeError:  # mixed types (e.g. 1 and "x") cannot be compared; order them by their text
            names = sorted(names, key=str)
        return cls(names, merged)

    def ids(self, labels: Sequence, key: str = "labels") -> np.ndarray:
        """Raw labels -> int32 class ids; a label outside the classes is refused."""
        keys = [self._key(v) for v in labels]
        bad = sorted({str(v) for v, k in zip(labels, keys) if k not in self.index})
        if bad:
            raise config_error(key, "labels among the run's classes", bad[:5], self.class_names)
        return np.fromiter((self.index[k] for k in keys), dtype=np.int32, count=len(keys))

    @staticmethod
    def probabilities(out):
        """(n, 1) sigmoid or (n, K) softmax outputs -> (n, K) probabilities: float64 for arrays; for a TF tensor
        (export's serving function) the same arithmetic in TensorFlow."""
        tensor = type(out).__module__.startswith(("tensorflow", "keras"))
        if not tensor:
            out = np.asarray(out, np.float64).reshape(len(out), -1)
        if out.shape[-1] != 1:
            return out
        flip, base = np.array([-1.0, 1.0]), np.array([1.0, 0.0])  # (1 - p, p), exactly
        if tensor:
            import tensorflow as tf

            flip, base = tf.constant(flip, out.dtype), tf.constant(base, out.dtype)
        return out * flip + base

    def state(self) -> Dict:
        return {"class_names": self.class_names, "merged": self.merged}

    @classmethod
    def from_state(cls, state: Dict, **_) -> "LabelMap":
        return cls(state["class_names"], state.get("merged"))


def encode_labels(values) -> Tuple[np.ndarray, list]:
    """Map labels of any type to int32 ids 0..K-1 in sorted order; returns (ids, JSON-friendly class names)."""
    values = list(values)
    try:
        classes = sorted(set(values))
    except TypeError:  # mixed types (e.g. 1 and "x") cannot be compared; order them by their text
        classes = sorted(set(values), key=str)
    index = {c: i for i, c in enumerate(classes)}
    ids = np.fromiter((index[v] for v in values), dtype=np.int32, count=len(values))
    return ids, [c.item() if isinstance(c, np.generic) else c for c in classes]


def shuffled_split_indices(n_train: int, n_test: int, val_fraction: float, seed: int,
                           labels: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded orders (train, val, test): validation is the first `val_fraction` of the shuffled training rows, or
    with `labels` a stratified carve: each class gives its share of the round(val_fraction * n) validation rows
    (largest remainders take the rounding), and keeps at least one row for training. A val_fraction of exactly 0
    (where the dataset's check allows it) keeps every training row and no validation split."""
    rng = np.random.default_rng(seed)
    order, test_order = rng.permutation(n_train), rng.permutation(n_test)
    if val_fraction == 0:
        return order, np.empty(0, dtype=order.dtype), test_order
    n_val = int(round(val_fraction * n_train))
    if n_val == 0 or n_val == n_train:
        raise config_error("dataset.val_fraction", f"a fraction leaving both train and validation examples out "
                           f"of {n_train} training examples", val_fraction)
    if labels is None:
        return order[n_val:], order[:n_val], test_order
    labels = np.asarray(labels)[order]  # classes in shuffled order: each class's first rows go to validation
    classes, counts = np.unique(labels, return_counts=True)
    quota = val_fraction * counts
    take = np.minimum(np.floor(quota).astype(int), counts - 1)
    for i in np.lexsort((rng.random(len(classes)), -(quota - np.floor(quota)))):  # largest remainder, random ties
        if take.sum() >= n_val:
            break
        take[i] += take[i] < counts[i] - 1
    val = np.concatenate([order[labels == c][:k] for c, k in zip(classes, take)])
    train = np.setdiff1d(order, val, assume_unique=True)
    return rng.permutation(train), rng.permutation(val), test_order
