"""Forecasting from raw series: a DataFrame like the training CSV in, forecasts in original units out.

A run with inputs known ahead (dataset.calendar, dataset.future_columns) reads them for the horizon from `horizon`
rows after the history in which only the time column and the future columns are filled (neuralforecast's futr_df,
appended; `seqlab predict --future FILE` appends such a file)."""

from __future__ import annotations

import re
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import pandas as pd

from ..config import config_error
from ..data.intervals import bands
from ..data.known import gap_rows
from ..data.transforms import finite
from .predictors import Predictor


class Rows(NamedTuple):
    """An input frame read for a run: the history's past channels (raw features, then calendar sin/cos), targets
    (when present) and timestamps; `future` (history + ahead rows, F) the values known ahead as a user sends them,
    NaN where the input has none (None for runs without inputs known ahead)."""

    x: np.ndarray
    y: Optional[np.ndarray]
    times: Optional[pd.Series]
    future: Optional[np.ndarray]


class SeriesPredictor(Predictor):
    """Windows of the run's feature columns in original units -> the next `horizon` steps of its targets, through
    the run's fitted transforms (one-hot categories, z-score per column, windows) as in training."""

    CHUNK = 4096  # windows per model call when evaluating: memory flat in the input's length

    def __init__(self, model, meta, run_dir=None):
        super().__init__(model, meta, run_dir)
        self.features, self.targets = list(meta["features"]), list(meta["targets"])
        self.scaler, self.windows = self.transforms["standardize"], self.transforms["windows"]
        self.one_hot = self.transforms.get("one_hot")  # OneHot or None
        self.input_len, self.horizon = self.windows.input_len, self.windows.horizon
        self.known = self.transforms.get("known_ahead")  # KnownAhead or None
        calendar = self.known.past_names if self.known else []
        self.channels = self.features + calendar  # the past window: features, then calendar sin/cos as they are
        x_mean, x_std = self.scaler.stats(self.features)
        self.x_mean = np.concatenate([x_mean, np.zeros(len(calendar))])
        self.x_std = np.concatenate([x_std, np.ones(len(calendar))])
        self.y_mean, self.y_std = self.scaler.stats(self.targets)
        # model.quantiles (outputs (n, horizon, targets, quantiles)) and trainer.intervals (conformal offsets)
        self.quantiles, self.intervals = meta.get("quantiles"), self.transforms.get("intervals")
        if self.known is not None:  # raw -> model units of the "future" input
            self.f_mean, self.f_std = self.known.affine()

    def model_inputs(self, x, future=None):
        """(n, input_len, channels) raw windows (and, for a run with inputs known ahead, (n, horizon, F) raw
        future values) -> the model's inputs, float32 (as training fed it)."""
        series = self._scaled(x, "x", (self.input_len, len(self.channels)), self.x_mean, self.x_std)
        if self.known is None:
            return series
        if future is None:
            raise config_error("future", f"the values known ahead {self.known.future_names} for the horizon",
                               "none")
        f_shape = (self.horizon, len(self.known.future_names))
        return {"series": series, "future": self._scaled(future, "future", f_shape, self.f_mean, self.f_std)}

    @staticmethod
    def _scaled(values, key: str, shape: tuple, mean, std) -> np.ndarray:
        values = np.asarray(values, np.float64)
        if values.ndim != 3 or values.shape[1:] != shape:
            raise config_error(key, f"raw windows of shape (n, {shape[0]}, {shape[1]})", values.shape)
        return ((values - mean) / std).astype(np.float32)

    def predict(self, x, future=None) -> np.ndarray:
        """(n, input_len, channels) raw windows [and (n, horizon, F) raw future values, for a run with inputs
        known ahead] -> (n, horizon, targets) forecasts in original units (a quantile model's median)."""
        return self.predict_bands(x, future)["forecast"]

    def predict_bands(self, x, future=None) -> Dict[str, np.ndarray]:
        """(n, input_len, channels) raw windows [and raw future values] -> {"forecast", and "lo-80", "hi-80", ...
        for the run's saved intervals}, each (n, horizon, targets) in original units."""
        return bands(self.predict_model(self.model_inputs(x, future)), self.quantiles, self.intervals,
                     lambda v: self.scaler.invert(v, self.targets))

    def bands_at(self, x: np.ndarray, starts: np.ndarray, future: Optional[np.ndarray] = None
                 ) -> Dict[str, np.ndarray]:
        """predict_bands of the windows of raw rows `x` (and the rows' raw `future` values, for a run with inputs
        known ahead) starting at `starts`, in bounded batches (a window is copied only while its batch runs)."""
        parts = []
        for lo in range(0, len(starts), self.CHUNK):
            chunk = starts[lo:lo + self.CHUNK]
            ahead = None if future is None else self.windows.targets(future, chunk)  # rows s+L .. s+L+H-1
            parts.append(self.predict_bands(self.windows.inputs(x, chunk), ahead))
        if not parts:
            return {"forecast": np.zeros((0, self.horizon, len(self.targets)))}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def predict_at(self, x: np.ndarray, starts: np.ndarray, future: Optional[np.ndarray] = None) -> np.ndarray:
        """Forecasts (len(starts), horizon, targets) of the windows of raw rows `x` starting at `starts`."""
        return self.bands_at(x, starts, future)["forecast"]

    def columns(self, frame: pd.DataFrame, ignore_extra: bool = False
                ) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[pd.Series]]:
        """(past channels (rows, c), targets (rows, t) when all present, timestamps when the run had a time column)
        of the history rows (the rows before those holding only values known ahead)."""
        return self.read(frame, ignore_extra)[:3]

    def read(self, frame: pd.DataFrame, ignore_extra: bool = False) -> Rows:
        """The input's history and, for a run with inputs known ahead, the values known ahead of every row."""
        time_col = self.meta.get("time_column")
        time_cols = [] if not time_col else [time_col] if isinstance(time_col, str) else list(time_col)
        if self.one_hot is not None:  # the categorical columns, encoded with the training categories
            frame = self.one_hot.apply(frame)
        known = set(self.features) | set(self.targets) | set(time_cols)
        if self.known is not None:
            self._check_future_columns(frame)
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise config_error("INPUT", f"the run's feature columns {self.features}", f"missing {missing}",
                               list(frame.columns))
        extra = [c for c in frame.columns if c not in known]
        if extra and not ignore_extra:
            raise config_error("INPUT", "only the run's columns (pass --ignore-extra to drop the others)",
                               f"extra columns {extra}", sorted(known))
        times, wall = None, None
        if time_cols and all(c in frame.columns for c in time_cols):
            from pathlib import Path

            from ..data.timecolumns import parse_time

            # timestamps as in training: one column or year/month/day/... parts; rows must be in time order
            indexed, times, _ = parse_time(frame, time_cols, Path("INPUT"), unit=self.meta.get("time_unit"),
                                           prefix="INPUT", time_format=self.meta.get("time_format"))
            wall = pd.Series(indexed.index)  # local wall-clock time: what calendar features read
        future = None
        if self.known is not None:
            future = self._future(frame, wall, times)
            frame = frame.iloc[:self._history_rows(frame)]
            times = None if times is None else times.iloc[:len(frame)]
        has_targets = all(c in frame.columns for c in self.targets)
        used = self.features + ([c for c in self.targets if c not in self.features] if has_targets else [])
        for c in used:
            if not pd.api.types.is_numeric_dtype(frame[c]):
                raise config_error("INPUT", f"numbers in column {c!r}", f"dtype {frame[c].dtype}")
        x = frame[self.features].to_numpy(np.float64)
        y = frame[self.targets].to_numpy(np.float64) if has_targets else None
        finite(x, self.features, "INPUT")  # NaN or inf: refused, as training refuses them
        if y is not None:
            finite(y, self.targets, "INPUT")
        if len(x) < self.input_len:
            raise config_error("INPUT", f"at least input_len = {self.input_len} rows of history", f"{len(x)} rows")
        if future is not None and self.known.calendar:  # the calendar channels of the past window
            x = np.concatenate([x, future[:len(x), :len(self.known.past_names)]], axis=1)
        return Rows(x, y, times, future)

    # ------------------------------------------------------------------ inputs known ahead
    def _check_future_columns(self, frame: pd.DataFrame) -> None:
        missing = [c for c in self.known.columns if c not in frame.columns]
        if missing:
            raise config_error("INPUT", f"the run's future columns {self.known.columns} (known ahead: their values "
                               f"for the {self.horizon} steps after the history are inputs)", f"missing {missing}",
                               list(frame.columns))
        if self.known.calendar and not self.meta.get("time_column"):
            raise config_error("RUN_DIR", "a run with a time column for its calendar features", "none")

    def _history_rows(self, frame: pd.DataFrame) -> int:
        """Rows before the trailing ones that hold only the time column and the future columns (the horizon's
        values known ahead): those whose other feature and target columns are all empty."""
        others = [c for c in self.features + self.targets if c not in self.known.columns and c in frame.columns]
        if not others:
            return len(frame)
        filled = frame[others].notna().any(axis=1).to_numpy()
        return int(np.flatnonzero(filled)[-1]) + 1 if filled.any() else 0

    def _future(self, frame: pd.DataFrame, wall: Optional[pd.Series], times: Optional[pd.Series]) -> np.ndarray:
        """(rows + the horizon after the input, F) the raw values known ahead of every row: calendar sin/cos of the
        rows' local time (beyond the input's last row, at the run's time step), the future columns (NaN where the
        input has none)."""
        if self.known.calendar and wall is None:
            raise config_error("INPUT", f"the run's time column {self.meta.get('time_column')!r} (its calendar "
                               f"features {self.known.calendar} are read from it)", "none", list(frame.columns))
        beyond = self.horizon
        values = np.full((len(frame) + beyond, len(self.known.columns)), np.nan)
        if self.known.columns:
            values[:len(frame)] = frame[self.known.columns].to_numpy(np.float64)
        if wall is not None:
            step = self.time_step(times)
            wall = pd.concat([wall, wall.iloc[-1] + step * pd.Series(np.arange(1, beyond + 1))], ignore_index=True)
        return self.known.future(wall, values, scale=False)

    def _known_windows(self, future: np.ndarray, starts: np.ndarray, required: bool) -> np.ndarray:
        """The starts whose horizon has every future value; `required` (the forecast after the input's end): a
        window without them is refused, naming the columns and rows that are missing."""
        ahead = self.windows.targets(future, starts)  # (windows, H, F)
        ok = np.isfinite(ahead).all(axis=(1, 2))
        if required and not ok.all():
            first = int(starts[~ok][0]) + self.input_len
            k = len(self.known.past_names)
            gaps = gap_rows(future[first:first + self.horizon, k:], self.known.columns)
            gaps = {c: [f"step {int(i) + 1}" for i in rows if i != "..."] for c, rows in gaps.items()}
            raise config_error("INPUT", f"the future columns' values for the {self.horizon} steps after the "
                               f"history: {self.horizon} rows after it in which only the time column and "
                               f"{self.known.columns} are filled (or --future FILE holding those rows)",
                               f"missing {gaps}")
        return starts[ok]

    def time_step(self, times: pd.Series) -> pd.Timedelta:
        """The run's time step (its training rows' usual step); for runs saved without it, the input's median."""
        if self.meta.get("time_step"):
            return pd.Timedelta(self.meta["time_step"])
        return times.diff().median() if len(times) > 1 else pd.Timedelta(0)

    def forecast(self, frame: pd.DataFrame, rolling: bool = False, stride: int = 1,
                 ignore_extra: bool = False) -> pd.DataFrame:
        """The next `horizon` steps after the input's end, or (`rolling`) after every window's end.

        One row per (origin, step): `origin` is the window's last input row, `step` 1..horizon, `time` the
        forecast's timestamp (runs with a time column), then one column per target, with `<target>_lo-80`,
        `<target>_hi-80`, ... after it for the run's saved intervals; `<target>_actual` where the input holds the
        truth.
        """
        x, y, times, future = self.read(frame, ignore_extra)
        L, H = self.input_len, self.horizon
        starts = np.arange(0, len(x) - L + 1, stride) if rolling else np.array([len(x) - L])
        if future is not None:  # rolling: only the windows whose horizon's values known ahead are in the input
            starts = self._known_windows(future, starts, required=not rolling)
        found = self.bands_at(x, starts, future)  # each (windows, H, targets)
        pred = found["forecast"]
        origin = np.repeat(starts + L - 1, H)  # (windows * H,)
        step = np.tile(np.arange(1, H + 1), len(starts))
        out = pd.DataFrame({"origin": frame.index.to_numpy()[origin], "step": step})
        if times is not None:
            out["time"] = times.iloc[origin].reset_index(drop=True) + pd.Series(step) * self.time_step(times)
        flat = pred.reshape(-1, len(self.targets))
        for j, name in enumerate(self.targets):
            out[name] = flat[:, j]
            for key, values in found.items():
                if key != "forecast":
                    out[f"{name}_{key}"] = values.reshape(-1, len(self.targets))[:, j]
        if y is not None and rolling:
            rows = origin + step  # the row each forecast is for; NaN past the input's end
            inside = rows < len(y)
            for j, name in enumerate(self.targets):
                out[f"{name}_actual"] = np.where(inside, y[np.minimum(rows, len(y) - 1), j], np.nan)
        return out

    def evaluate(self, frame: pd.DataFrame, ignore_extra: bool = False) -> Optional[Dict[str, float]]:
        """MSE/MAE of every window whose targets lie in the input, in original units and on the training scale,
        beside the repeat-last-value baseline; None when the input lacks the targets or is too short."""
        x, y, _, future = self.read(frame, ignore_extra)
        L, H = self.input_len, self.horizon
        if y is None or len(x) < L + H:
            return None
        n = len(x) - L - H + 1
        sums = np.zeros((2, 4))  # (model, baseline) x (mse, mae, mse_original, mae_original) sums
        for lo in range(0, n, self.CHUNK):  # bounded batches: memory flat in the input's length
            starts = np.arange(lo, min(lo + self.CHUNK, n))
            truth = self.windows.targets(y, starts)  # (chunk, H, targets)
            pred = self.predict_at(x, starts, future)
            last = y[starts + L - 1][:, None, :]  # (chunk, 1, targets): repeat the last input value
            for row, guess in enumerate((pred, last)):
                err = truth - guess
                z = err / self.y_std
                sums[row] += [np.sum(z**2), np.sum(np.abs(z)), np.sum(err**2), np.sum(np.abs(err))]
        sums /= n * H * len(self.targets)
        out: Dict[str, float] = {"windows": int(n)}
        for row, name in enumerate(("", "baseline_")):
            out.update({f"{name}mse": float(sums[row, 0]), f"{name}mae": float(sums[row, 1]),
                        f"{name}mse_original": float(sums[row, 2]), f"{name}mae_original": float(sums[row, 3])})
        return out


_BESIDE = re.compile(r"^(?:(?:lo|hi)-\d+(?:\.\d+)?|actual)$")  # the columns forecast() puts after a target


def long_format(wide: pd.DataFrame, targets: List[str], rolling: bool = False) -> pd.DataFrame:
    """`SeriesPredictor.forecast`'s table (one row per origin and step, a column per target) in the long format
    of neuralforecast and of panel runs: one row per (target, origin, step) with columns id (the target: each is a
    series), [origin (rolling),] timestamp (the forecast's time, or its row number without a time column), step,
    forecast, lo-80, hi-80, ... (the run's saved intervals) and actual (where the input holds the truth)."""
    timestamp = wide["time"] if "time" in wide.columns else wide["origin"] + wide["step"]
    parts = []
    for t in targets:
        part = {"id": t}
        if rolling:
            part["origin"] = wide["origin"].to_numpy()
        part.update(timestamp=timestamp.to_numpy(), step=wide["step"].to_numpy(), forecast=wide[t].to_numpy())
        prefix = f"{t}_"
        for c in wide.columns:
            if c.startswith(prefix) and _BESIDE.match(c[len(prefix):]):  # lo-80, hi-80, ..., actual
                part[c[len(prefix):]] = wide[c].to_numpy()
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)

