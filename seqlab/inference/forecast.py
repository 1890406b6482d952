"""Forecasting from raw series: a DataFrame like the training CSV in, forecasts in original units out."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np
import pandas as pd

from ..config import config_error
from ..data.intervals import bands
from ..data.transforms import finite
from .predictors import Predictor


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
        self.x_mean, self.x_std = self.scaler.stats(self.features)
        self.y_mean, self.y_std = self.scaler.stats(self.targets)
        # model.quantiles (outputs (n, horizon, targets, quantiles)) and trainer.intervals (conformal offsets)
        self.quantiles, self.intervals = meta.get("quantiles"), self.transforms.get("intervals")

    def model_inputs(self, x) -> np.ndarray:
        """(n, input_len, features) raw windows -> the model's inputs, float32 (as training fed it)."""
        x = np.asarray(x, np.float64)
        if x.ndim != 3 or x.shape[1:] != (self.input_len, len(self.features)):
            raise config_error("x", f"raw windows of shape (n, {self.input_len}, {len(self.features)})", x.shape)
        return self.scaler.apply(x, self.features).astype(np.float32)

    def predict(self, x) -> np.ndarray:
        """(n, input_len, features) raw windows -> (n, horizon, targets) forecasts in original units (a quantile
        model's median)."""
        return self.predict_bands(x)["forecast"]

    def predict_bands(self, x) -> Dict[str, np.ndarray]:
        """(n, input_len, features) raw windows -> {"forecast", and "lo-80", "hi-80", ... for the run's saved
        intervals}, each (n, horizon, targets) in original units."""
        return bands(self.predict_model(self.model_inputs(x)), self.quantiles, self.intervals,
                     lambda v: self.scaler.invert(v, self.targets))

    def bands_at(self, x: np.ndarray, starts: np.ndarray) -> Dict[str, np.ndarray]:
        """predict_bands of the windows of raw rows `x` starting at `starts`, in bounded batches (a window is
        copied only while its batch runs)."""
        parts = [self.predict_bands(self.windows.inputs(x, starts[lo:lo + self.CHUNK]))
                 for lo in range(0, len(starts), self.CHUNK)]
        if not parts:
            return {"forecast": np.zeros((0, self.horizon, len(self.targets)))}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def predict_at(self, x: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Forecasts (len(starts), horizon, targets) of the windows of raw rows `x` starting at `starts`."""
        return self.bands_at(x, starts)["forecast"]

    def columns(self, frame: pd.DataFrame, ignore_extra: bool = False
                ) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[pd.Series]]:
        """(features (rows, f), targets (rows, t) when all present, timestamps when the run had a time column)."""
        time_col = self.meta.get("time_column")
        time_cols = [] if not time_col else [time_col] if isinstance(time_col, str) else list(time_col)
        if self.one_hot is not None:  # the categorical columns, encoded with the training categories
            frame = self.one_hot.apply(frame)
        known = set(self.features) | set(self.targets) | set(time_cols)
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise config_error("INPUT", f"the run's feature columns {self.features}", f"missing {missing}",
                               list(frame.columns))
        extra = [c for c in frame.columns if c not in known]
        if extra and not ignore_extra:
            raise config_error("INPUT", "only the run's columns (pass --ignore-extra to drop the others)",
                               f"extra columns {extra}", sorted(known))
        times = None
        if time_cols and all(c in frame.columns for c in time_cols):
            from pathlib import Path

            from ..data.timecolumns import parse_time

            # timestamps as in training: one column or year/month/day/... parts; rows must be in time order
            _, times, _ = parse_time(frame, time_cols, Path("INPUT"), unit=self.meta.get("time_unit"),
                                     prefix="INPUT", time_format=self.meta.get("time_format"))
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
        return x, y, times

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
        x, y, times = self.columns(frame, ignore_extra)
        L, H = self.input_len, self.horizon
        starts = np.arange(0, len(x) - L + 1, stride) if rolling else np.array([len(x) - L])
        found = self.bands_at(x, starts)  # each (windows, H, targets)
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
        x, y, _ = self.columns(frame, ignore_extra)
        L, H = self.input_len, self.horizon
        if y is None or len(x) < L + H:
            return None
        n = len(x) - L - H + 1
        sums = np.zeros((2, 4))  # (model, baseline) x (mse, mae, mse_original, mae_original) sums
        for lo in range(0, n, self.CHUNK):  # bounded batches: memory flat in the input's length
            starts = np.arange(lo, min(lo + self.CHUNK, n))
            truth = self.windows.targets(y, starts)  # (chunk, H, targets)
            pred = self.predict_at(x, starts)
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
