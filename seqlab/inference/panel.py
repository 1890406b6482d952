"""Forecasting many series at once with a panel run: a file in the run's layout in, one forecast per series out
(long format: id, timestamp, step, forecast), through the run's per-series scaling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from ..config import config_error
from ..data.intervals import bands
from ..data.panel_read import RawPanel, read_columns, read_long, read_rows
from .panel_known import known_inputs, split_ahead
from .predictors import Predictor


class PanelPredictor(Predictor):
    """Raw windows of known series in original units -> the next `horizon` steps of the targets, scaled with each
    series' own training statistics (the run's SeriesStandardize) as in training."""

    def __init__(self, model, meta, run_dir=None):
        super().__init__(model, meta, run_dir)
        self.features, self.targets = list(meta["features"]), list(meta["targets"])
        self.scaler, self.windows = self.transforms["series_standardize"], self.transforms["windows"]
        self.input_len, self.horizon = self.windows.input_len, self.windows.horizon
        self.known = self.transforms.get("known_ahead")  # KnownAhead (calendar, future columns) or None
        self.calendar = len(self.known.past_names) if self.known else 0  # calendar channels after the features

    def model_inputs(self, x, series, future=None):
        """(n, input_len, features [+ calendar sin/cos]) raw windows of the series `series` (n,) [and (n, horizon,
        F) raw values known ahead] -> the model's inputs, float32: the windows, or the dict {"series"[, "future"]
        [, "series_id"]} of a run with inputs known ahead or a series embedding."""
        x, nf = np.asarray(x, np.float64), len(self.features)
        if x.ndim != 3 or x.shape[1:] != (self.input_len, nf + self.calendar):
            raise config_error("x", f"raw windows of shape (n, {self.input_len}, {nf + self.calendar})", x.shape)
        z = np.concatenate([self.scaler.apply(x[..., :nf], series, self.features), x[..., nf:]], axis=-1)
        out = {"series": z.astype(np.float32)}
        if self.known is not None:
            shape = (self.horizon, len(self.known.future_names))
            f = np.asarray(future if future is not None else np.zeros((0, 0, 0)), np.float64)
            if f.ndim != 3 or f.shape[1:] != shape or len(f) != len(x):
                raise config_error("future", f"the values known ahead {self.known.future_names}, shape "
                                   f"(n, {shape[0]}, {shape[1]})", None if future is None else f.shape)
            cols = self.scaler.apply(f[..., self.calendar:], series, self.known.columns)  # per series, as training
            out["future"] = np.concatenate([f[..., :self.calendar], cols], axis=-1).astype(np.float32)
        if self.meta.get("series_id"):
            out["series_id"] = np.asarray(series, np.int32)
        return out if len(out) > 1 else out["series"]

    def predict(self, x, series, future=None) -> np.ndarray:
        """(n, input_len, features) raw windows and their series indices (n,) [and raw values known ahead] ->
        (n, horizon, targets) forecasts in original units."""
        return self.predict_bands(x, series, future)["forecast"]

    def predict_bands(self, x, series, future=None) -> dict:
        """{"forecast", and "lo-80", "hi-80", ... for the run's saved intervals}: each (n, horizon, targets) in
        original units (a quantile model's forecast is its median)."""
        series = np.asarray(series, np.int64)
        return bands(self.predict_model(self.model_inputs(x, series, future)), self.meta.get("quantiles"),
                     self.transforms.get("intervals"), lambda v: self.scaler.invert(v, series, self.targets))

    def read(self, frame: pd.DataFrame) -> RawPanel:
        """The series of a table in the run's layout (long: its id, time and feature columns)."""
        m = self.meta
        ds = OmegaConf.create({"id_column": m.get("id_column"), "time_column": m.get("time_column"),
                               "time_unit": m.get("time_unit"), "time_format": m.get("time_format"),
                               "targets": self.targets})
        layout = m.get("layout", "long")
        if layout == "long":
            return read_long(frame, ds, "INPUT", prefix="INPUT", columns=self.features)
        if layout == "columns":
            times = None
            if ds.time_column is not None:
                from ..data.timecolumns import _timestamps

                if ds.time_column not in frame.columns:
                    raise config_error("INPUT", f"the run's time column {ds.time_column!r}", "missing",
                                       list(frame.columns))
                times = _timestamps(frame, [ds.time_column], Path("INPUT"), ds.time_unit, "INPUT", ds.time_format)
                frame = frame.drop(columns=[ds.time_column])
            return read_columns(frame, times, ds, "INPUT", prefix="INPUT",
                                shared=self.known.columns if self.known else ())
        return read_rows(frame, "INPUT", prefix="INPUT", name=self.targets[0])

    def forecast(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The next `horizon` steps after each series' end: columns id, timestamp (the series' last time plus the
        run's step; without a time column the row number in the series), step, [target,] forecast, and lo-80,
        hi-80, ... for the run's saved intervals."""
        ahead = None
        if self.known is not None:  # the rows after each series' history that hold only values known ahead
            frame, ahead = split_ahead(frame, self.meta, self.known)
        raw = self.read(frame)
        L, H = self.input_len, self.horizon
        short = [(s, int(n)) for s, n in zip(raw.ids, raw.lengths) if n < L]
        if short:
            raise config_error("INPUT", f"at least input_len = {L} rows of history per series",
                               f"{len(short)} shorter series, first {short[0][0]!r} with {short[0][1]} rows")
        series = self.scaler.series(raw.ids)
        starts = raw.offsets[1:] - L
        x, future = self.windows.inputs(raw.values, starts), None
        if self.known is not None:
            x, future = known_inputs(self, raw, ahead, x)
        found = self.predict_bands(x, series, future)  # each (series, H, targets)
        pred = found.pop("forecast")
        step = np.tile(np.arange(1, H + 1), len(raw.ids))
        last = np.repeat(raw.offsets[1:] - 1, H)  # each series' last row
        if raw.times is not None:
            delta = pd.Timedelta(self.meta.get("time_step") or 0)
            when = pd.Series(raw.times[last]) + pd.Series(step) * delta
        else:
            when = np.repeat(raw.lengths - 1, H) + step
        base = pd.DataFrame({"id": np.repeat(raw.ids, H), "timestamp": when, "step": step})
        def columns(j):  # forecast, then lo-80, hi-80, ... (neuralforecast's names)
            return {"forecast": pred[:, :, j].reshape(-1), **{k: v[:, :, j].reshape(-1) for k, v in found.items()}}

        if len(self.targets) == 1:
            return base.assign(**columns(0))
        parts = [base.assign(target=t, **columns(j)) for j, t in enumerate(self.targets)]
        return pd.concat(parts, ignore_index=True).sort_values(["id", "step"], kind="stable", ignore_index=True)
