"""A completed forecasting run's prediction intervals (trainer.intervals, model.quantiles): conformal offsets
calibrated on the validation windows and saved with the run (inference.json's `intervals` transform), and their
test scores on original values (coverage, mean width, MSIS per level; the scaled pinball loss of a quantile model)
beside the seasonal naive's intervals, calibrated the same way on its own validation residuals. docs/intervals.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
from omegaconf import DictConfig

from .. import scores
from ..data.intervals import Intervals, label

log = logging.getLogger(__name__)


def per_series_mean(values: np.ndarray, series: np.ndarray, scales: np.ndarray) -> Optional[float]:
    """The M4 way of averaging a scaled score: `values` (windows, horizon, targets) divided by their (series,
    target) scale, averaged per (series, target), then over those with a positive scale; None when none has."""
    sums, counts = np.zeros(scales.shape), np.zeros(scales.shape)
    np.add.at(sums, series, values.sum(axis=1))
    np.add.at(counts, series, np.full((len(values), values.shape[2]), values.shape[1], np.float64))
    ok = (counts > 0) & np.isfinite(scales) & (scales > 0)
    return float(np.mean(sums[ok] / counts[ok] / scales[ok])) if ok.any() else None


def interval_scores(split, out: np.ndarray, fitted: Optional[Intervals], quantiles, scoring) -> Dict[str, float]:
    """coverage_<level>, width_<level>, msis_<level> of the calibrated intervals, the same for a quantile model's
    own pairs before calibration (coverage_raw_80, ...), and scaled_pinball, of model outputs `out` on `split`'s
    windows, on original values (`scoring`: data.scoring.SeriesScoring; None: the model's own units, no MSIS)."""
    y = split.arrays()[1]
    series = split.series_index() if hasattr(split, "series_index") else np.zeros(len(y), np.int64)
    original = (lambda v: scoring.invert(np.asarray(v), series)) if scoring is not None else np.asarray  # noqa: E731
    y = original(y).astype(np.float64)
    res: Dict[str, float] = {}
    bands = [("", fitted.bounds(out) if fitted is not None else {})]
    if quantiles:  # the head's own symmetric pairs, before any calibration: coverage_raw_80 for (0.1, 0.9)
        bands.append(("raw_", raw_pairs(out, quantiles)))
    for prefix, bounds in bands:
        for level, (lo, hi) in bounds.items():
            lo, hi, name = original(lo), original(hi), prefix + label(level)
            res[f"coverage_{name}"] = scores.coverage(y, lo, hi)
            res[f"width_{name}"] = scores.mean_width(lo, hi)
            if scoring is not None:
                res[f"msis_{name}"] = per_series_mean(scores.interval_score(y, lo, hi, 1 - level / 100), series,
                                                      scoring.scales)
    if quantiles and scoring is not None:
        losses = [scores.pinball(y, original(out[..., i]), tau) for i, tau in enumerate(quantiles)]
        res["scaled_pinball"] = per_series_mean(np.mean(losses, axis=0), series, scoring.scales)
    return res


def raw_pairs(out: np.ndarray, quantiles) -> Dict[float, tuple]:
    """{level: (lo, hi)} of a quantile model's outputs for each symmetric pair of its quantiles (tau, 1 - tau):
    level 100 (1 - 2 tau), e.g. 80 for (0.1, 0.9)."""
    q = [float(t) for t in quantiles]
    pairs = {}
    for i, tau in enumerate(q):
        j = next((j for j, t in enumerate(q) if abs(t - (1 - tau)) < 1e-9), None)
        if tau < 0.5 and j is not None:
            pairs[round(100 * (1 - 2 * tau), 6)] = (out[..., i], out[..., j])
    return pairs


def naive_interval_scores(splits, levels, scoring) -> Dict[str, float]:
    """The seasonal naive forecast's intervals: split conformal on its validation residuals, scored on the test
    windows like the model's."""
    season = scoring.season if scoring is not None else 1
    val, test = splits.val, splits.test
    fitted = Intervals.fit(val.seasonal_naive(None, season), val.arrays()[1], levels)
    return interval_scores(test, test.seasonal_naive(None, season), fitted, None, scoring)


def intervals_hook(run_dir: Path, cfg: DictConfig, prepared, metrics: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """ON_COMPLETED hook: calibrate trainer.intervals (saved with the run's transforms, before inference.json is
    written) and add the interval scores to metrics.json's `test` and `baseline`; None for runs without them."""
    from ..evaluation import predict_split

    splits, spec, model = prepared
    quantiles, levels = cfg.model.quantiles, cfg.trainer.intervals
    if not (quantiles or levels) or spec.task != "regression" or not len(splits.test):
        return None
    quantiles = list(quantiles) if quantiles else None
    levels = [float(v) for v in levels] if levels else []
    bs = cfg.trainer.batch_size
    fitted = None
    if levels and not len(splits.val):
        log.warning("trainer.intervals: no validation windows to calibrate on; no intervals saved")
    elif levels:
        out_val = np.asarray(model.predict(splits.val.dataset(bs), verbose=0))
        fitted = Intervals.fit(out_val, splits.val.arrays()[1], levels, quantiles)
        splits.artifacts.setdefault("transforms", {})["intervals"] = fitted  # into inference.json with the rest
    scoring = getattr(splits, "scoring", None)
    out = {"test": {**(metrics.get("test") or {}),
                    **interval_scores(splits.test, predict_split(model, splits.test, bs), fitted, quantiles,
                                      scoring)}}
    if fitted is not None:
        out["intervals"] = {"method": fitted.method, "levels": fitted.levels, "calibration_windows": fitted.windows,
                            "quantile_pairs": None if not quantiles else {label(v): [quantiles[i] for i in pair]
                                                                          for v, pair in fitted.pairs().items()}}
        if hasattr(splits.test, "seasonal_naive") and len(splits.val):
            out["baseline"] = {**(metrics.get("baseline") or {}), **naive_interval_scores(splits, levels, scoring)}
    return out
