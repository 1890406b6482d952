"""Planning windows over a series' rows: the input and target columns, the split boundaries and the window starts
each split owns (ETT protocol: val/test inputs may reach back into the previous split)."""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import pandas as pd

from ..config import config_error
from .transforms import OneHot

SPLIT_NAMES = ("train", "val", "test")


def window_starts(a: int, b: int, input_len: int, horizon: int, stride: int = 1) -> np.ndarray:
    """Starts s of the windows owned by rows [a, b): targets [s+input_len, s+input_len+horizon) lie in [a, b).

    Inputs may reach back before `a` (into the previous split), as in the ETT protocol; s >= 0 always.
    """
    first_target = max(a, input_len)
    return np.arange(first_target, b - horizon + 1, stride, dtype=np.int64) - input_len


def plan_windows(frame: pd.DataFrame, cfg, source: str, encoder: Optional[OneHot] = None):
    """(features, targets, boundaries, row ranges, window starts per split), or a ConfigError naming the key:
    a missing or non-numeric column, bad boundaries, a split too short for input_len + horizon. One-hot columns
    (`encoder`'s) are features by default, never default targets."""
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    features = _columns(cfg.features, "dataset.features", frame, numeric, source)
    targets = _columns(cfg.targets, "dataset.targets", frame,
                       [c for c in numeric if c not in (encoder.columns if encoder else [])], source)
    bounds = split_boundaries(cfg, len(frame), source)
    L, H = cfg.input_len, cfg.horizon
    ranges = dict(zip(SPLIT_NAMES, zip([0] + bounds[:2], bounds)))
    starts = {}
    for name, (a, b) in ranges.items():
        starts[name] = window_starts(a, b, L, H, cfg.stride)
        if len(starts[name]) == 0:
            raise config_error("dataset.input_len", f"a series long enough for input_len + horizon ({L} + {H}) "
                               f"in every split (val/test inputs may reach back)",
                               f"{name} split of {source} has {b - a} rows [{a}, {b})")
    return features, targets, bounds, ranges, starts


def _columns(names, key: str, frame: pd.DataFrame, numeric: List[str], source: str) -> List[str]:
    if names is None:
        if not numeric:
            raise config_error(key, f"numeric columns in {source}", "none", list(frame.columns))
        return list(numeric)
    names = list(names)
    if not names:
        raise config_error(key, "at least one column", names, numeric)
    for c in names:
        if c not in frame.columns:
            raise config_error(key, f"numeric columns of {source}", c, numeric)
        if c not in numeric:
            what = "text" if not pd.api.types.is_numeric_dtype(frame[c]) else "one-hot encoded"
            hint = f"; one-hot encode it with dataset.categorical=[{c}]" if key == "dataset.features" and \
                what == "text" else ""
            raise config_error(key, f"a numeric column of {source} ({c!r} is {what}{hint})", c, numeric)
    return names


def split_boundaries(cfg, n: int, source: str) -> List[int]:
    if cfg.boundaries is not None:
        b = [int(x) for x in cfg.boundaries]
        if len(b) != 3 or not 0 < b[0] < b[1] < b[2]:
            raise config_error("dataset.boundaries", "three increasing row numbers [train_end, val_end, test_end]", b)
        if b[2] > n:
            raise config_error("dataset.boundaries", f"row numbers within the {n} rows of {source}", b)
        return b
    train, val = cfg.split
    return [int(n * train), int(n * (train + val)), n]


class WindowRanges:
    """Window starts held as one arithmetic range per series: series k's windows start at first[k], first[k] +
    stride, ... (count[k] of them). Memory grows with the series, not the windows: a panel of 10,000 series x
    1,000 steps keeps 10,000 ranges instead of millions of starts. Window i lies in the range whose
    [begins[k], ends[k]) holds i."""

    def __init__(self, first, count, stride: int = 1):
        count = np.maximum(np.asarray(count, np.int64), 0)
        self.first = np.asarray(first, np.int64)
        self.ends = np.cumsum(count)  # windows up to the end of range k
        self.begins = self.ends - count
        self.stride = int(stride)

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def range_of(self, i: np.ndarray) -> np.ndarray:
        """The range holding each window number i (empty ranges never hold one)."""
        return np.searchsorted(self.ends, i, side="right")

    def take(self, indices=None) -> np.ndarray:
        """The starts (int64) of all windows, or of `indices` (anything that indexes a 1-D array)."""
        n = len(self)
        if indices is None:
            i = np.arange(n, dtype=np.int64)
        elif isinstance(indices, slice) or np.asarray(indices).dtype == bool:
            i = np.arange(n, dtype=np.int64)[indices]
        else:
            i = np.asarray(indices, np.int64)
            i = np.where(i < 0, i + n, i)
            if i.size and (i.min() < 0 or i.max() >= n):
                raise IndexError(f"window index out of range for {n} windows")
        k = self.range_of(i)
        return self.first[k] + (i - self.begins[k]) * self.stride

    def head(self, limit: int) -> "WindowRanges":
        """The first `limit` windows."""
        return WindowRanges(self.first, np.clip(limit - self.begins, 0, self.ends - self.begins), self.stride)
