"""Scale-free scores of forecasting windows (sMAPE and MASE on original values, per series and averaged) and the
forecasting baseline: the seasonal naive forecast where the season is above 1, the last value otherwise.

A "series" here is one (series, target column) pair: a dataset with several target columns (ETT's seven) scores
each column as a series of its own, as neuralforecast does with long data. Per series, sMAPE is the mean over all
its test windows and horizon steps, MASE the mean absolute error over them divided by the series' in-sample seasonal
naive MAE over its in-sample values: every value before its test split, training and validation rows, as the M4
competition's in-sample (`scores.seasonal_scale`); the dataset's figure is the mean over series (M4).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import pandas as pd

from .. import scores
from .base import Splits, WindowSplit

log = logging.getLogger(__name__)
CHUNK = 4096  # windows per chunk: (windows, horizon, targets) float64 for all of ETTm1's test split is ~60 MB


class SeriesScoring:
    """What scale-free scores need besides the windows: the season, each series' in-sample seasonal scale (computed
    on first use) and the way back to original units.

    `targets` (rows, n_targets) are the windows' target rows as the model sees them (z-scored); series k is rows
    [offsets[k], offsets[k+1]), of which the first insample[k] come before its test split. `std` (series,
    n_targets) holds the scaling's standard deviations: a scale in original units is the scaled one times std
    (z-scoring is affine). `invert(values (windows, horizon, n_targets), series index (windows,))` gives original
    units."""

    def __init__(self, season: int, targets: np.ndarray, offsets, insample, std,
                 invert: Callable[[np.ndarray, np.ndarray], np.ndarray], series_names: List[str],
                 target_names: List[str]):
        self.season, self.invert = int(season), invert
        self.series_names, self.target_names = [str(s) for s in series_names], list(target_names)
        self._targets, self._offsets, self._insample = targets, np.asarray(offsets), np.asarray(insample)
        self._std = np.asarray(std, np.float64)
        self._scales: Optional[np.ndarray] = None

    @property
    def scales(self) -> np.ndarray:
        """(series, n_targets): `scores.seasonal_scale` of each series' values before its test split, in original
        units (NaN where a series has too few values)."""
        if self._scales is None:
            out = np.full((len(self.series_names), len(self.target_names)), np.nan)
            for k, (a, n) in enumerate(zip(self._offsets[:-1], self._insample)):
                rows = self._targets[a:a + n]
                for j in range(out.shape[1]):
                    s = scores.seasonal_scale(rows[:, j], self.season)
                    out[k, j] = np.nan if s is None else s * self._std[k, j]
            self._scales = out
        return self._scales


class Accumulator:
    """Per (series, target) sums over chunks of windows: sMAPE terms, absolute errors, counts."""

    def __init__(self, scoring: SeriesScoring):
        self.scoring = scoring
        shape = (len(scoring.series_names), len(scoring.target_names))
        self.ratio, self.abs_err, self.count = np.zeros(shape), np.zeros(shape), np.zeros(shape)

    def add(self, y: np.ndarray, f: np.ndarray, series: np.ndarray) -> None:
        """y, f: (windows, horizon, targets) in original units; series: (windows,) series index."""
        y, f = np.asarray(y, np.float64), np.asarray(f, np.float64)
        den = np.abs(y) + np.abs(f)
        ratio = np.divide(np.abs(y - f), den, out=np.zeros_like(den), where=den > 0)  # 0/0 counts 0 (M4)
        np.add.at(self.ratio, series, ratio.sum(axis=1))
        np.add.at(self.abs_err, series, np.abs(y - f).sum(axis=1))
        np.add.at(self.count, series, np.full(ratio.shape[::2], ratio.shape[1], np.float64))

    def table(self) -> pd.DataFrame:
        """One row per scored (series, target): its sMAPE and MASE (NaN without a scale)."""
        sc = self.scoring
        with np.errstate(invalid="ignore", divide="ignore"):
            smape = 200.0 * self.ratio / self.count
            scale = np.where(sc.scales > 0, sc.scales, np.nan)
            mase = self.abs_err / self.count / scale
        s, t = np.nonzero(self.count)
        return pd.DataFrame({"series": [sc.series_names[i] for i in s], "target": [sc.target_names[j] for j in t],
                             "smape": smape[s, t], "mase": mase[s, t]})

    def summary(self) -> Dict[str, Any]:
        """{"smape", "mase"}: means over series (MASE over the series with a non-zero scale); None when empty."""
        tab = self.table()
        mase = tab["mase"].dropna()
        return {"smape": float(tab["smape"].mean()) if len(tab) else None,
                "mase": float(mase.mean()) if len(mase) else None}


def _chunks(split: WindowSplit):
    for lo in range(0, len(split), CHUNK):
        yield np.arange(lo, min(lo + CHUNK, len(split)))


def forecast_scores(split: WindowSplit, forecast: np.ndarray, scoring: SeriesScoring) -> Accumulator:
    """sMAPE/MASE sums of `forecast` (windows, horizon, targets), in the model's units, on `split`'s windows."""
    acc = Accumulator(scoring)
    forecast = np.asarray(forecast).reshape(len(split), split.horizon, -1)
    for idx in _chunks(split):
        series = split.series_index(idx)
        y = scoring.invert(split.arrays(idx)[1], series)
        acc.add(y, scoring.invert(forecast[idx], series), series)
    return acc


def naive_baseline(splits: Splits) -> Dict[str, float]:
    """The forecasting `baseline_fn` on the test split: the seasonal naive forecast (season from
    `splits.scoring`; season 1 repeats the last value). MSE and MAE in the model's units (those Keras reports),
    sMAPE and MASE on original values."""
    test, scoring = splits.test, splits.scoring
    season = scoring.season if scoring is not None else 1
    acc = Accumulator(scoring) if scoring is not None else None
    se = ae = 0.0
    count = 0
    for idx in _chunks(test):
        y = test.arrays(idx)[1].astype(np.float64)
        f = test.seasonal_naive(idx, season)
        se += float(np.sum((y - f) ** 2))
        ae += float(np.sum(np.abs(y - f)))
        count += y.size
        if acc is not None:
            series = test.series_index(idx)
            acc.add(scoring.invert(y, series), scoring.invert(f, series), series)
    if not count:
        return {}
    return {"mse": se / count, "mae": ae / count, **(acc.summary() if acc is not None else {})}


def baseline_name(season: int) -> str:
    return f"seasonal naive (season {season})" if season > 1 else "repeat last value"


def dataset_season(cfg, time_step: Optional[str]) -> int:
    """`dataset.season`, else inferred from the time step (24 hourly, 7 daily, 1 otherwise or without time)."""
    if cfg.get("season") is not None:
        return int(cfg.season)
    season = scores.infer_season(pd.Timedelta(time_step) if time_step else None)
    log.info("dataset.season %d (inferred from the time step %s)", season, time_step or "(no time column)")
    return season
