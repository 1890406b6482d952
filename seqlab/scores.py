"""Scale-free forecast scores on original values (numpy only): season inference, sMAPE and MASE as the M4
competition defines them (Makridakis et al. 2020), and the in-sample seasonal naive scale they share with MSIS.

Conventions (the M4 competition's, which neuralforecast, darts and GluonTS follow):
- sMAPE = mean over the horizon of 200 * |y - f| / (|y| + |f|), in percent; a step where y = f = 0 counts 0.
- MASE = mean |y - f| over the horizon / the series' in-sample seasonal naive MAE (`seasonal_scale`).
- A dataset's score is the mean over series of each series' score over its horizon.
"""

from __future__ import annotations

import datetime as _dt
from typing import Optional, Sequence, Union

import numpy as np

# time steps (seconds) whose season is known: hourly data repeats daily, daily data weekly
_SEASON_BY_STEP = {3600: 24, 86400: 7}
_PANDAS_ALIASES = {"h": 3600, "1h": 3600, "hourly": 3600, "d": 86400, "1d": 86400, "daily": 86400}


def infer_season(freq_or_timedelta: Union[None, str, float, int, _dt.timedelta, np.timedelta64]) -> int:
    """The season of a series from its time step: 24 for hourly, 7 for daily, 1 otherwise (weekly too: the M4
    competition scores weekly data with season 1). Accepts a timedelta (datetime, numpy or pandas), a number of
    seconds, or a frequency alias ("h", "D", "1h", "hourly", "daily"); None (no time column) gives 1."""
    if freq_or_timedelta is None:
        return 1
    if isinstance(freq_or_timedelta, str):
        seconds = _PANDAS_ALIASES.get(freq_or_timedelta.strip().lower())
    elif isinstance(freq_or_timedelta, np.timedelta64):
        seconds = freq_or_timedelta / np.timedelta64(1, "s")
    elif isinstance(freq_or_timedelta, _dt.timedelta):  # pandas.Timedelta is a datetime.timedelta
        seconds = freq_or_timedelta.total_seconds()
    else:
        seconds = float(freq_or_timedelta)
    if seconds is None or not np.isfinite(seconds):
        return 1
    return _SEASON_BY_STEP.get(int(round(seconds)), 1) if abs(seconds - round(seconds)) < 1e-9 else 1


def seasonal_scale(insample: np.ndarray, season: int) -> Optional[float]:
    """Mean |y_t - y_{t-season}| over a series' training values: the MASE (and MSIS) denominator. A series with
    no more than `season` values falls back to season 1; one with fewer than 2 values has no scale (None)."""
    y = np.asarray(insample, np.float64).ravel()
    y = y[np.isfinite(y)]
    m = int(season) if len(y) > int(season) else 1
    if m < 1 or len(y) <= m:
        return None
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def smape(y: np.ndarray, f: np.ndarray) -> float:
    """Symmetric MAPE in percent (M4): mean of 200 |y - f| / (|y| + |f|) over all given values; 0/0 counts 0."""
    y, f = np.asarray(y, np.float64), np.asarray(f, np.float64)
    den = np.abs(y) + np.abs(f)
    ratio = np.divide(np.abs(y - f), den, out=np.zeros(np.broadcast(y, f).shape), where=den > 0)
    return float(200.0 * np.mean(ratio))


def mase(y: np.ndarray, f: np.ndarray, scale: Optional[float]) -> Optional[float]:
    """Mean absolute scaled error: mean |y - f| / scale (`seasonal_scale` of the series' training values). A zero
    or missing scale (a constant training series) is not divided by: None, reported as such."""
    if scale is None or not np.isfinite(scale) or scale <= 0:
        return None
    return float(np.mean(np.abs(np.asarray(y, np.float64) - np.asarray(f, np.float64))) / scale)


def seasonal_naive(insample: np.ndarray, season: int, horizon: int) -> np.ndarray:
    """The seasonal naive forecast: the last `season` values repeated over the horizon (the last value when
    season is 1 or the series is shorter than a season)."""
    y = np.asarray(insample, np.float64).ravel()
    m = int(season) if len(y) >= int(season) > 0 else 1
    last = y[len(y) - m:]
    return last[np.arange(horizon) % m]


# --------------------------------------------------------------------------- interval scores (p4, docs/intervals.md)
def median_index(quantiles: Sequence[float]) -> int:
    """The index of the quantile nearest 0.5 (the lower one on a tie): the point forecast of a quantile model."""
    q = np.asarray(quantiles, np.float64)
    return int(np.argmin(np.abs(q - 0.5)))


def coverage(y, lo, hi) -> float:
    """The fraction of values inside their interval [lo, hi]."""
    y = np.asarray(y, np.float64)
    return float(np.mean((y >= lo) & (y <= hi)))


def mean_width(lo, hi) -> float:
    """The mean width hi - lo of the intervals."""
    return float(np.mean(np.asarray(hi, np.float64) - np.asarray(lo, np.float64)))


def interval_score(y, lo, hi, alpha: float) -> np.ndarray:
    """The interval score of Gneiting & Raftery (2007) per value, as the M4 competition used it: the width plus
    2/alpha times the distance by which y falls outside [lo, hi] (alpha = 1 - level, e.g. 0.05 for 95%)."""
    y, lo, hi = (np.asarray(v, np.float64) for v in (y, lo, hi))
    return (hi - lo) + 2.0 / alpha * (np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0))


def msis(y, lo, hi, alpha: float, scale) -> float:
    """The mean scaled interval score (M4): the interval score divided by `scale` (the in-sample seasonal naive MAE,
    `seasonal_scale`; broadcast against y's last axis, e.g. one per target), averaged."""
    return float(np.mean(interval_score(y, lo, hi, alpha) / np.asarray(scale, np.float64)))


def pinball(y, forecast, tau: float) -> np.ndarray:
    """The pinball (quantile) loss per value: tau * (y - f) above the forecast, (1 - tau) * (f - y) below."""
    e = np.asarray(y, np.float64) - np.asarray(forecast, np.float64)
    return np.maximum(tau * e, (tau - 1.0) * e)


def scaled_pinball(y, quantile_forecasts, quantiles: Sequence[float], scale) -> float:
    """The mean pinball loss over the quantiles and values, divided by `scale` (as msis): `quantile_forecasts` has
    y's shape plus a last axis of len(quantiles)."""
    qf = np.asarray(quantile_forecasts, np.float64)
    losses = [pinball(y, qf[..., i], tau) for i, tau in enumerate(quantiles)]
    return float(np.mean(np.stack(losses) / np.asarray(scale, np.float64)))
