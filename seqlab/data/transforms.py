"""Fitted numeric input transforms (z-score per column, one-hot categories, windows, series padding) and the
checks they share; see seqlab.data.fitted for what they have in common and how a run saves them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from ..config import config_error

log = logging.getLogger(__name__)
MISSING_CATEGORY = "<missing>"


def inside(run_dir: Path, name: str, key: str = "RUN_DIR") -> Path:
    """run_dir / name, refused unless it resolves inside run_dir (no `..`, absolute path or link out)."""
    root = Path(run_dir).resolve()
    path = (root / str(name)).resolve()
    if not path.is_relative_to(root):
        raise config_error(key, f"files inside the run directory {run_dir}", f"{name!r} resolves to {path}")
    return path


def finite(values: np.ndarray, columns: Sequence[str], key: str) -> None:
    """Refuse NaN or +-inf in (rows, columns) values, naming the column and the count."""
    bad = ~np.isfinite(values)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        raise config_error(key, f"finite numbers in column {columns[j]!r}",
                           f"{int(bad[:, j].sum())} NaN or infinite values")


class Standardize:
    """Per-column z-score with the training rows' mean and population std (a constant column -> 0)."""

    kind = "standardize"

    def __init__(self, columns: Sequence[str], mean: Sequence[float], std: Sequence[float]):
        self.columns = list(columns)
        self.mean, self.std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
        self.index = {c: i for i, c in enumerate(self.columns)}

    @classmethod
    def fit(cls, values: np.ndarray, columns: Sequence[str]) -> "Standardize":
        values = np.asarray(values, np.float64)
        mean, std = values.mean(axis=0), values.std(axis=0)  # ddof=0, as the ETT protocol
        return cls(columns, mean, np.where(std > 1e-12, std, 1.0))

    @classmethod
    def identity(cls, columns: Sequence[str]) -> "Standardize":
        return cls(columns, np.zeros(len(columns)), np.ones(len(columns)))

    def stats(self, columns: Optional[Sequence[str]] = None):
        idx = [self.index[c] for c in (columns or self.columns)]
        return self.mean[idx], self.std[idx]

    def apply(self, values: np.ndarray, columns: Optional[Sequence[str]] = None) -> np.ndarray:
        """(..., len(columns)) raw -> standardised, float64."""
        mean, std = self.stats(columns)
        return (np.asarray(values, np.float64) - mean) / std

    def invert(self, values: np.ndarray, columns: Optional[Sequence[str]] = None) -> np.ndarray:
        mean, std = self.stats(columns)
        return np.asarray(values, np.float64) * std + mean

    def state(self) -> Dict:
        return {"columns": self.columns, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state(cls, state: Dict, **_) -> "Standardize":
        return cls(state["columns"], state["mean"], state["std"])


class OneHot:
    """Text columns -> one 0/1 column `<column>=<category>` per category of the training rows; a category
    seen only later becomes all zeros."""

    kind = "one_hot"

    def __init__(self, categories: Dict[str, List[str]]):
        self.categories = {c: [str(v) for v in vs] for c, vs in categories.items()}

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: Sequence[str], train_rows: int, source: str,
            prefix: str = "dataset") -> "OneHot":
        categories = {}
        for c in columns:
            if c not in frame.columns:
                raise config_error(f"{prefix}.categorical", f"columns of {source}", c, list(frame.columns))
            cats = sorted(cls._values(frame[c]).iloc[:train_rows].unique().tolist())
            if len(cats) > 100:
                raise config_error(f"{prefix}.categorical", "a column with at most 100 categories",
                                   f"{c!r} with {len(cats)} in the training rows")
            categories[c] = cats
        return cls(categories)

    @staticmethod
    def _values(column: pd.Series) -> pd.Series:
        return column.astype("string").fillna(MISSING_CATEGORY)

    @property
    def columns(self) -> List[str]:
        """The encoded column names, in order."""
        return [f"{c}={v}" for c, vs in self.categories.items() for v in vs]

    def apply(self, frame: pd.DataFrame, key: str = "INPUT") -> pd.DataFrame:
        """Each categorical column replaced, in place of it, by its one-hot columns."""
        out = frame
        for c, cats in self.categories.items():
            if c not in frame.columns:
                raise config_error(key, f"the categorical column {c!r} of the run", "missing", list(frame.columns))
            values = self._values(frame[c])
            encoded = pd.DataFrame({f"{c}={v}": (values == v).astype(np.float64) for v in cats}, index=frame.index)
            pos = list(out.columns).index(c)
            out = pd.concat([out.iloc[:, :pos], encoded, out.iloc[:, pos + 1:]], axis=1)
        return out

    def state(self) -> Dict:
        return {"categories": self.categories}

    @classmethod
    def from_state(cls, state: Dict, **_) -> "OneHot":
        return cls(state["categories"])


class Windows:
    """Consecutive rows -> (input_len rows in, horizon rows out) windows."""

    kind = "windows"

    def __init__(self, input_len: int, horizon: int):
        self.input_len, self.horizon = int(input_len), int(horizon)

    def inputs(self, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(rows, c) -> (len(starts), input_len, c): the windows starting at `starts` (a copy of those only)."""
        idx = np.asarray(starts, np.int64)[:, None] + np.arange(self.input_len)
        return values[idx]

    def targets(self, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(rows, t) -> (len(starts), horizon, t): the rows after each window."""
        idx = np.asarray(starts, np.int64)[:, None] + self.input_len + np.arange(self.horizon)
        return values[idx]

    def state(self) -> Dict:
        return {"input_len": self.input_len, "horizon": self.horizon}

    @classmethod
    def from_state(cls, state: Dict, **_) -> "Windows":
        return cls(state["input_len"], state["horizon"])


class PadSeries:
    """Series classification: per-channel z-score (training values) and padding to the training length with
    zeros (`padding` pre/post); without padding every series must have exactly that length."""

    kind = "pad_series"

    def __init__(self, length: int, channels: int, padding: Optional[str], mean=None, std=None):
        self.length, self.channels, self.padding = int(length), int(channels), padding
        self.mean = None if mean is None else np.asarray(mean, np.float64).reshape(-1)
        self.std = None if std is None else np.asarray(std, np.float64).reshape(-1)

    @classmethod
    def fit(cls, train_rows: List[np.ndarray], length: int, padding: Optional[str], normalize: bool) -> "PadSeries":
        channels = train_rows[0].shape[1]
        if not normalize:
            return cls(length, channels, padding)
        values = np.concatenate(train_rows)  # (values, channels): padding excluded, it is added afterwards
        std = values.std(axis=0)
        return cls(length, channels, padding, values.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def apply(self, rows: Sequence, key: str = "series") -> np.ndarray:
        """Series (1-D, or (time, channels); NaN steps at the end are dropped) -> (n, length, channels) float32."""
        x = np.zeros((len(rows), self.length, self.channels), np.float32)  # zeros are the padding
        for i, r in enumerate(rows):  # per series (ragged input); the model call is batched
            r = np.asarray(r, np.float64)
            r = r[:, None] if r.ndim == 1 else r
            present = np.flatnonzero(~np.isnan(r).all(axis=1)) if r.size else []
            r = r[: present[-1] + 1] if len(present) else r[:0]
            fits = len(r) == self.length if self.padding is None else 1 <= len(r) <= self.length
            if not fits or not np.isfinite(r).all() or r.shape[1] != self.channels:
                steps = f"{self.length}" if self.padding is None else f"1..{self.length}"
                raise config_error(key, f"{steps} steps of {self.channels} finite value(s) per series (the "
                                   f"run's padding: {self.padding}), NaNs only at the end",
                                   f"series {i} with shape {r.shape}")
            if self.mean is not None:
                r = (r - self.mean) / self.std
            if self.padding == "pre":
                x[i, self.length - len(r):] = r
            else:
                x[i, : len(r)] = r
        return x

    def state(self) -> Dict:
        return {"length": self.length, "channels": self.channels, "padding": self.padding,
                "mean": None if self.mean is None else self.mean.tolist(),
                "std": None if self.std is None else self.std.tolist()}

    @classmethod
    def from_state(cls, state: Dict, **_) -> "PadSeries":
        return cls(state["length"], state["channels"], state["padding"], state.get("mean"), state.get("std"))


class SeriesStandardize:
    """Per-series, per-column z-score for panels: series k's mean and population std come from its own training
    rows only (a constant column -> std 1). Forecasts go back to original units with the same series' stats."""

    kind = "series_standardize"

    def __init__(self, columns: Sequence[str], ids: Sequence[str], mean, std):
        self.columns, self.ids = list(columns), [str(i) for i in ids]
        self.mean = np.asarray(mean, np.float64).reshape(len(self.ids), len(self.columns))  # (series, columns)
        self.std = np.asarray(std, np.float64).reshape(len(self.ids), len(self.columns))
        self.index = {c: i for i, c in enumerate(self.columns)}
        self._series = {s: k for k, s in enumerate(self.ids)}

    @classmethod
    def fit(cls, values: np.ndarray, offsets: np.ndarray, train_rows: np.ndarray, columns: Sequence[str],
            ids: Sequence[str], across: Sequence[str] = ()) -> "SeriesStandardize":
        """`values` (rows, columns): series k in rows [offsets[k], offsets[k+1]), of which the first
        train_rows[k] are its training rows, the only ones its statistics see. Columns in `across` (constant
        within a series: static columns) are scaled with one mean and std over the series instead."""
        mean = np.zeros((len(ids), len(columns)))
        std = np.ones((len(ids), len(columns)))
        for k, (a, n) in enumerate(zip(offsets[:-1], train_rows)):  # per series: no copy of the panel
            rows = np.asarray(values[a:a + n], np.float64)
            mean[k], s = rows.mean(axis=0), rows.std(axis=0)  # ddof=0, as Standardize
            std[k] = np.where(s > 1e-12, s, 1.0)
        for j in [list(columns).index(c) for c in across]:
            level = np.asarray(values[offsets[:-1], j], np.float64)  # one value per series
            s = level.std()
            mean[:, j], std[:, j] = level.mean(), s if s > 1e-12 else 1.0
        return cls(columns, ids, mean, std)

    @classmethod
    def identity(cls, columns: Sequence[str], ids: Sequence[str]) -> "SeriesStandardize":
        return cls(columns, ids, np.zeros((len(ids), len(columns))), np.ones((len(ids), len(columns))))

    def series(self, ids: Sequence, key: str = "INPUT") -> np.ndarray:
        """Series indices of the given ids; an id the run was not trained on is refused, naming it."""
        unknown = [i for i in ids if str(i) not in self._series]
        if unknown:
            raise config_error(key, f"series ids the run was trained on ({len(self.ids)}, e.g. {self.ids[:3]})",
                               f"{len(unknown)} unknown, e.g. {[str(u) for u in unknown[:3]]}")
        return np.array([self._series[str(i)] for i in ids], np.int64)

    def stats(self, series: np.ndarray, columns: Optional[Sequence[str]] = None):
        idx = [self.index[c] for c in (self.columns if columns is None else columns)]  # [] is none
        return self.mean[np.ix_(series, idx)], self.std[np.ix_(series, idx)]  # (n, columns) each

    def apply(self, values: np.ndarray, series: np.ndarray, columns: Optional[Sequence[str]] = None) -> np.ndarray:
        """(n, ..., columns) raw values of the series `series` (n,) -> standardised, float64."""
        mean, std = self._expand(np.asarray(values), series, columns)
        return (np.asarray(values, np.float64) - mean) / std

    def invert(self, values: np.ndarray, series: np.ndarray, columns: Optional[Sequence[str]] = None) -> np.ndarray:
        mean, std = self._expand(np.asarray(values), series, columns)
        return np.asarray(values, np.float64) * std + mean

    def _expand(self, values: np.ndarray, series, columns):
        mean, std = self.stats(np.asarray(series, np.int64), columns)
        shape = (len(mean),) + (1,) * (values.ndim - 2) + (mean.shape[1],)  # broadcast over time steps
        return mean.reshape(shape), std.reshape(shape)

    def state(self) -> Dict:
        return {"columns": self.columns, "ids": self.ids, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state(cls, state: Dict, **_) -> "SeriesStandardize":
        return cls(state["columns"], state["ids"], state["mean"], state["std"])
