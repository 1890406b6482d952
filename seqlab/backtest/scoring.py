"""A backtest window's scores in original units (MSE, MAE, sMAPE, MASE) for the model and the naive baselines
(repeat the last value, seasonal naive), and their aggregate over windows (numpy only)."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from ..scores import mase, seasonal_naive, seasonal_scale, smape

METRICS = ("mse", "mae", "smape", "mase")
FORECASTERS = ("model", "repeat", "snaive")  # column prefixes: the model, repeat last value, seasonal naive
NAMES = {"model": "model", "repeat": "repeat last value", "snaive": "seasonal naive"}


def scales(insample: np.ndarray, season: int) -> List[Optional[float]]:
    """Each target's MASE denominator: the seasonal naive's mean absolute error over the series' in-sample rows."""
    return [seasonal_scale(insample[:, j], season) for j in range(insample.shape[1])]


def scores(truth: np.ndarray, forecast: np.ndarray, target_scales: Sequence[Optional[float]]) -> Dict[str, object]:
    """(horizon, targets) truth and forecast -> mse, mae, smape over every value; mase the mean over targets of
    each target's MASE (None when a target has no scale: a constant training series)."""
    err = truth - forecast
    per_target = [mase(truth[:, j], forecast[:, j], s) for j, s in enumerate(target_scales)]
    return {"mse": float(np.mean(err**2)), "mae": float(np.mean(np.abs(err))), "smape": smape(truth, forecast),
            "mase": None if any(m is None for m in per_target) else float(np.mean(per_target))}


def window_row(history: np.ndarray, truth: np.ndarray, forecast: np.ndarray, season: int,
               target_scales: Sequence[Optional[float]]) -> Dict[str, object]:
    """One window's scores: `history` (rows up to the origin, targets), truth and forecast (horizon, targets)."""
    horizon = len(truth)
    guesses = {"model": forecast,
               "repeat": np.repeat(history[-1:], horizon, axis=0),
               "snaive": np.stack([seasonal_naive(history[:, j], season, horizon)
                                   for j in range(history.shape[1])], axis=1)}
    row: Dict[str, object] = {}
    for name, guess in guesses.items():
        row.update({f"{name}_{k}": v for k, v in scores(truth, guess, target_scales).items()})
    return row


def aggregate(rows: Sequence[Dict[str, object]]) -> Dict[str, Dict[str, Optional[float]]]:
    """{forecaster: {metric: mean over windows}} (MSE's mean over equal windows is the pooled MSE) and, per
    baseline, the share of windows where the model's MSE is lower (`wins`)."""
    out: Dict[str, Dict[str, Optional[float]]] = {}
    for name in FORECASTERS:
        out[name] = {}
        for k in METRICS:
            values = [r[f"{name}_{k}"] for r in rows]
            out[name][k] = None if any(v is None for v in values) else float(np.mean(values))
        if name != "model":
            out[name]["wins"] = float(np.mean([r["model_mse"] < r[f"{name}_mse"] for r in rows]))
    return out
