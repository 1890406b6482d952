"""A backtest window's scores in original units (MSE, MAE, sMAPE, MASE) for the model and the naive baselines
(repeat the last value, seasonal naive), and their aggregate over windows (numpy only)."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from ..scores import coverage, mase, mean_width, msis, seasonal_naive, seasonal_scale, smape

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


def interval_row(truth: np.ndarray, bands: Dict[str, np.ndarray],
                 target_scales: Sequence[Optional[float]]) -> Dict[str, object]:
    """A window's interval scores for the run's saved intervals (`bands`: lo-80, hi-80, ... each (horizon, targets)):
    model_coverage_80 (share of the truth inside), model_width_80 (mean width) and model_msis_80 (the M4 scaled
    interval score; None when a target has no scale); {} for a run without intervals."""
    row: Dict[str, object] = {}
    for level in sorted({k[3:] for k in bands if k.startswith("lo-")}, key=float):
        lo, hi = bands[f"lo-{level}"], bands[f"hi-{level}"]
        row[f"model_coverage_{level}"] = coverage(truth, lo, hi)
        row[f"model_width_{level}"] = mean_width(lo, hi)
        row[f"model_msis_{level}"] = None if any(s is None or s <= 0 for s in target_scales) else \
            msis(truth, lo, hi, 1.0 - float(level) / 100.0, np.asarray(target_scales, np.float64))
    return row


def interval_keys(rows: Sequence[Dict[str, object]]) -> List[str]:
    """The interval score columns of a backtest's rows (model_coverage_80, model_width_80, model_msis_80, ...)."""
    return [k for k in rows[0] if k.startswith(("model_coverage_", "model_width_", "model_msis_"))] if rows else []


def aggregate(rows: Sequence[Dict[str, object]]) -> Dict[str, Dict[str, Optional[float]]]:
    """{forecaster: {metric: mean over windows}} (MSE's mean over equal windows is the pooled MSE) and, per
    baseline, the share of windows where the model's MSE is lower (`wins`)."""
    out: Dict[str, Dict[str, Optional[float]]] = {}
    for name in FORECASTERS:
        out[name] = {}
        for k in METRICS:
            values = [r[f"{name}_{k}"] for r in rows]
            out[name][k] = None if any(v is None for v in values) else float(np.mean(values))
        if name == "model":
            for key in interval_keys(rows):  # coverage_80, width_80, msis_80, ... of a run with intervals
                values = [r[key] for r in rows]
                out[name][key[len("model_"):]] = None if any(v is None for v in values) else float(np.mean(values))
        if name != "model":
            out[name]["wins"] = float(np.mean([r["model_mse"] < r[f"{name}_mse"] for r in rows]))
    return out
