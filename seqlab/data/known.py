"""Inputs known in advance: calendar features of the time column (dataset.calendar, sin/cos of the local wall-clock
time) and user columns known ahead (dataset.future_columns). One fitted transform, applied by training, `seqlab
predict` and `seqlab export` alike, to the rows of one series at a time (a panel calls it per series)."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from ..config import config_error

# name -> (period, the position in it of a naive wall-clock timestamp); the feature is sin/cos(2 pi pos / period)
CALENDAR = {
    "minute": (60, lambda t: t.dt.minute + t.dt.second / 60),
    "hour": (24, lambda t: t.dt.hour + t.dt.minute / 60),
    "dayofweek": (7, lambda t: t.dt.day_of_week + t.dt.hour / 24),
    "dayofmonth": (31, lambda t: t.dt.day - 1 + t.dt.hour / 24),
    "dayofyear": (366, lambda t: t.dt.day_of_year - 1 + t.dt.hour / 24),
    "weekofyear": (53, lambda t: t.dt.isocalendar().week.astype(np.float64) - 1),
    "month": (12, lambda t: t.dt.month - 1 + (t.dt.day - 1) / t.dt.days_in_month),
}


def calendar_features(wall: pd.Series, names: Sequence[str]) -> np.ndarray:
    """(rows, 2 * len(names)) float32: sin and cos of each calendar position of the naive local timestamps."""
    wall = pd.Series(pd.to_datetime(wall)).reset_index(drop=True)
    out = []
    for name in names:
        period, position = CALENDAR[name]
        angle = 2 * np.pi * np.asarray(position(wall), np.float64) / period
        out += [np.sin(angle), np.cos(angle)]
    return np.stack(out, axis=1).astype(np.float32) if out else np.zeros((len(wall), 0), np.float32)


def check_names(calendar: Sequence[str], key: str = "dataset.calendar") -> List[str]:
    names = list(calendar or [])
    for name in names:
        if name not in CALENDAR:
            raise config_error(key, "calendar features of the time column", name, list(CALENDAR))
    return names


def gap_rows(values: np.ndarray, columns: Sequence[str], times: Optional[pd.Index] = None) -> Dict[str, list]:
    """{column: the first rows (timestamps when given) where it has no value}, for columns with gaps."""
    out = {}
    for j, c in enumerate(columns):
        rows = np.flatnonzero(~np.isfinite(values[:, j]))
        if len(rows):
            out[c] = [str(times[i]) if times is not None else int(i) for i in rows[:5]] + \
                (["..."] if len(rows) > 5 else [])
    return out


class KnownAhead:
    """The values known ahead of each row: calendar sin/cos (from local wall-clock time) and the future columns
    (z-scored with their training statistics). The model reads them for the horizon as its "future" input, and the
    calendar also as extra channels of the past window (the future columns are past features already)."""

    kind = "known_ahead"

    def __init__(self, calendar: Sequence[str], columns: Sequence[str], mean: Sequence[float],
                 std: Sequence[float]):
        self.calendar, self.columns = list(calendar), list(columns)
        self.mean, self.std = np.asarray(mean, np.float64), np.asarray(std, np.float64)

    @property
    def past_names(self) -> List[str]:
        """The calendar channels appended to the past window."""
        return [f"{c}_{f}" for c in self.calendar for f in ("sin", "cos")]

    @property
    def future_names(self) -> List[str]:
        """The "future" input's features: calendar sin/cos, then the future columns."""
        return self.past_names + self.columns

    def past(self, wall: Optional[pd.Series], rows: int) -> np.ndarray:
        """(rows, 2 * calendar) calendar channels of the past rows."""
        return calendar_features(wall, self.calendar) if self.calendar else np.zeros((rows, 0), np.float32)

    def future(self, wall: Optional[pd.Series], values: np.ndarray, scale: bool = True) -> np.ndarray:
        """(rows, F) the "future" input of rows with local times `wall` and raw future-column `values` (in model
        units, or with `scale=False` as a user sends them to an export: the columns in their own units)."""
        values = np.asarray(values, np.float64).reshape(len(values), len(self.columns))
        if scale:
            values = (values - self.mean) / self.std
        return np.concatenate([self.past(wall, len(values)), values.astype(np.float32)], axis=1)

    def affine(self) -> tuple:
        """(mean, std) per "future" feature: raw -> model input is (raw - mean) / std (calendar: 0, 1)."""
        k = len(self.past_names)
        return np.concatenate([np.zeros(k), self.mean]), np.concatenate([np.ones(k), self.std])

    def state(self) -> Dict:
        return {"calendar": self.calendar, "columns": self.columns, "mean": self.mean.tolist(),
                "std": self.std.tolist()}

    @classmethod
    def from_state(cls, state: Dict, **_) -> "KnownAhead":
        return cls(state["calendar"], state["columns"], state["mean"], state["std"])


def plan_known(frame: pd.DataFrame, cfg, source: str, rows: int):
    """(calendar names, future columns) of dataset.calendar / dataset.future_columns, checked against the frame's
    first `rows` rows (those windows read): a calendar needs a time column; a future column must be numeric and
    have a value in every row, as it is an input for every window's horizon. ([], []) without them."""
    from .windows import _columns

    calendar = check_names(cfg.get("calendar"))
    columns = list(cfg.get("future_columns") or [])
    if calendar and not isinstance(frame.index, pd.DatetimeIndex):
        raise config_error("dataset.calendar", "a dataset with a time column (dataset.time_column) to read the "
                           "calendar from", f"{calendar} on {source}, which has none")
    if columns:
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        columns = _columns(columns, "dataset.future_columns", frame, numeric, source)
        times = frame.index if isinstance(frame.index, pd.DatetimeIndex) else None
        gaps = gap_rows(frame[columns].iloc[:rows].to_numpy(np.float64), columns, times)
        if gaps:
            raise config_error("dataset.future_columns", "columns known ahead with a value in every row (each is an "
                               "input for the forecast horizon, so gaps are not interpolated)",
                               f"gaps in {source}: {gaps}")
    return calendar, columns


def fit_known(calendar: List[str], columns: List[str], scaler) -> Optional[KnownAhead]:
    """The KnownAhead transform with the future columns' training statistics from the run's `scaler`, or None."""
    if not calendar and not columns:
        return None
    mean, std = scaler.stats(columns) if columns else (np.zeros(0), np.ones(0))
    return KnownAhead(calendar, columns, np.ravel(mean), np.ravel(std))


def wall_times(frame: pd.DataFrame) -> Optional[pd.Series]:
    """The local wall-clock timestamps parse_time indexed the frame with, or None without a time column."""
    return pd.Series(frame.index) if isinstance(frame.index, pd.DatetimeIndex) else None
