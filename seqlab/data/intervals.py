"""Conformal prediction intervals: offsets calibrated per horizon step and target on the validation windows, saved
with the run as a fitted transform (kind `intervals`) that training, `seqlab predict` and `seqlab export` apply alike.

Two methods, chosen by the model (docs/intervals.md):
- `split` (point models): split conformal on the absolute residuals |y - f|; the interval is f -/+ the offset.
- `cqr` (quantile models): conformalized quantile regression (Romano et al. 2019) on the quantile pair nearest the
  level's tails (lower nearest alpha/2, upper nearest 1 - alpha/2); the score is max(lo - y, y - hi) and the interval
  [lo - offset, hi + offset] (a negative offset narrows intervals that covered too much).
Both use the finite-sample correction: the ceil((n + 1) * level)-th smallest of the n calibration scores.
Everything is in the model's own units (z-scores); the run's scaler maps the bounds to original values.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from ..scores import median_index

log = logging.getLogger(__name__)


def conformal_quantile(scores: np.ndarray, level: float) -> np.ndarray:
    """Per column of `scores` (n, ...): the ceil((n + 1) * level)-th smallest score, the split-conformal offset
    whose interval covers a new exchangeable value with probability >= level. With too few scores for that rank
    (n < level / (1 - level)) the largest score, and a warning: the guarantee then does not hold."""
    scores = np.sort(np.asarray(scores, np.float64), axis=0)
    n = len(scores)
    if n == 0:
        raise ValueError("conformal calibration needs at least one validation window")
    k = math.ceil((n + 1) * level)
    if k > n:
        log.warning("%d validation windows are too few for a guaranteed %g%% interval (needs >= %d): using the "
                    "largest residual", n, 100 * level, math.ceil(level / (1 - level)))
        k = n
    return scores[k - 1]


def quantile_pair(quantiles: Sequence[float], level: float) -> Tuple[int, int]:
    """(lower, upper) indices of the quantiles nearest (1 - level) / 2 and (1 + level) / 2."""
    q = np.asarray(quantiles, np.float64)
    return int(np.argmin(np.abs(q - (1 - level) / 2))), int(np.argmin(np.abs(q - (1 + level) / 2)))


def point(out: np.ndarray, quantiles: Optional[Sequence[float]]) -> np.ndarray:
    """The point forecast of model outputs: the outputs themselves, or a quantile model's median (last axis)."""
    out = np.asarray(out)
    return out if not quantiles else out[..., median_index(quantiles)]


class Intervals:
    """Conformal offsets per level (percent): each (horizon, targets), in model units."""

    kind = "intervals"

    def __init__(self, levels: Sequence[float], offsets: Dict[float, np.ndarray], quantiles=None, windows: int = 0):
        self.levels = [float(v) for v in levels]
        self.offsets = {float(k): np.asarray(v, np.float64) for k, v in offsets.items()}
        self.quantiles = [float(q) for q in quantiles] if quantiles else None
        self.windows = int(windows)

    @property
    def method(self) -> str:
        return "cqr" if self.quantiles else "split"

    @classmethod
    def fit(cls, out: np.ndarray, y: np.ndarray, levels: Sequence[float], quantiles=None) -> "Intervals":
        """Calibrate on validation outputs `out` ((n, horizon, targets), plus a last quantile axis with
        `quantiles`) against their truth `y` (n, horizon, targets)."""
        out, y = np.asarray(out, np.float64), np.asarray(y, np.float64)
        offsets = {}
        for level in levels:
            if quantiles:
                lo, hi = quantile_pair(quantiles, level / 100)
                scores = np.maximum(out[..., lo] - y, y - out[..., hi])
            else:
                scores = np.abs(y - out)
            offsets[float(level)] = conformal_quantile(scores, level / 100)
        return cls(levels, offsets, quantiles, len(y))

    def pairs(self) -> Dict[float, Tuple[int, int]]:
        """cqr: {level: (lower, upper) quantile indices} the intervals widen or narrow."""
        return {level: quantile_pair(self.quantiles, level / 100) for level in self.levels} if self.quantiles else {}

    def bounds(self, out) -> Dict[float, Tuple[np.ndarray, np.ndarray]]:
        """{level: (lo, hi)} of model outputs `out` (n, horizon, targets[, quantiles]), in model units (numpy, or a
        TensorFlow tensor when serving an export: the same arithmetic)."""
        tensor = not isinstance(out, np.ndarray)
        result = {}
        for level in self.levels:
            q = self.offsets[level].astype(np.float32) if tensor else self.offsets[level]
            if self.quantiles:
                lo, hi = quantile_pair(self.quantiles, level / 100)
                result[level] = (out[..., lo] - q, out[..., hi] + q)
            else:
                result[level] = (out - q, out + q)
        return result

    def state(self) -> Dict:
        return {"levels": self.levels, "method": self.method, "quantiles": self.quantiles, "windows": self.windows,
                "offsets": {label(k): v.tolist() for k, v in self.offsets.items()}}

    @classmethod
    def from_state(cls, state: Dict, **context) -> "Intervals":
        offsets = {float(k): v for k, v in state["offsets"].items()}
        return cls(state["levels"], offsets, state.get("quantiles"), state.get("windows", 0))


def bands(out, quantiles, intervals: Optional[Intervals], original: Callable) -> Dict[str, Any]:
    """{"forecast": the point forecast, "lo-<level>", "hi-<level>" per saved level} of model outputs `out`, each
    mapped to original values by `original` (numpy arrays, or TensorFlow tensors in an export's serving function)."""
    res = {"forecast": original(out[..., median_index(quantiles)] if quantiles else out)}
    for level, (lo, hi) in (intervals.bounds(out).items() if intervals is not None else []):
        res[f"lo-{label(level)}"], res[f"hi-{label(level)}"] = original(lo), original(hi)
    return res


def label(level: float) -> str:
    """80.0 -> "80", 97.5 -> "97.5": the level as metric names and columns spell it (coverage_80, lo-80)."""
    return f"{float(level):g}"
