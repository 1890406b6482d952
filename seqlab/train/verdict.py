"""The honest verdict: a run that ends worse than its naive baseline says so, with the likely cause.

The learning curves alone cannot tell a model that learned from one that is still far from useful: a test MSE of
266,482 against the baseline's 1.1 still has "falling" curves. So the test metric is compared with the naive
baseline's first, and when the model loses, the evidence at hand names the likely cause:
- the learning rate (the training loss blew up, or is far above where it started);
- test values outside the training range (a level shift or trend), which per-window normalisation handles;
- too few optimizer steps for the model to learn anything (10 epochs of a 50-example dataset are 10 steps).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import numpy as np

MIN_STEPS = 300  # below this many optimizer steps a model has rarely learned anything
CLEAR_MARGIN = 0.05  # a model "clearly" beats its baseline with an error 5% below the baseline's
SHIFT_STD = 1.0  # |test mean - train mean| in training standard deviations that counts as a level shift


def main_metric(task: str) -> tuple:
    """(metric, higher is better) compared with the baseline: mse for regression, accuracy for classification."""
    return ("mse", False) if task == "regression" else ("accuracy", True)


def level_shift(train_targets: np.ndarray, test_targets: np.ndarray) -> Dict[str, float]:
    """How far the test targets lie from the training targets, per channel, in training standard deviations."""
    train = np.asarray(train_targets, np.float64).reshape(-1, np.shape(train_targets)[-1])
    test = np.asarray(test_targets, np.float64).reshape(-1, np.shape(test_targets)[-1])
    mean, std = train.mean(axis=0), np.maximum(train.std(axis=0), 1e-12)
    shift = (test.mean(axis=0) - mean) / std  # (channels,)
    outside = np.mean((test < train.min(axis=0)) | (test > train.max(axis=0)))
    worst = int(np.argmax(np.abs(shift)))
    return {"max_shift_std": float(shift[worst]), "channel": worst, "outside_train_range": float(outside)}


def judge(metrics: Dict[str, Any], trainer: Dict[str, Any], steps_per_epoch: int,
          shift: Optional[Dict[str, float]] = None, uses_window_norm: bool = False) -> Optional[Dict[str, Any]]:
    """None when the model beats its baseline (or there is none); else the verdict `worse-than-baseline` with
    the likely causes (each with advice naming the config key to change) and the evidence."""
    metric, higher = main_metric(metrics.get("task", "regression"))
    test, base = (metrics.get("test") or {}).get(metric), (metrics.get("baseline") or {}).get(metric)
    if test is None or base is None or not math.isfinite(float(base)):
        return None
    test, base = float(test), float(base)
    worse = (test < base) if higher else (not math.isfinite(test) or test > base)
    if not worse:
        return None
    ratio = test / base if base else float("inf")
    evidence: Dict[str, Any] = {"metric": metric, "test": test, "baseline": base, "ratio": round(ratio, 4)}
    causes: List[Dict[str, str]] = []
    losses = [x for x in (metrics.get("history") or {}).get("loss", []) if x is not None]
    lr = float(trainer["lr"])
    blew_up = len(losses) >= 2 and (not all(math.isfinite(x) for x in losses) or max(losses[1:]) > 2 * losses[0]
                                    or losses[-1] > 10 * min(losses))
    if blew_up or lr >= 0.05:
        causes.append({"cause": "learning-rate",
                       "message": f"the training loss {'blew up' if blew_up else 'is unstable'} at trainer.lr={lr:g}",
                       "advice": f"lower the learning rate: trainer.lr={lr / 10:g}"})
    if shift is not None and abs(shift["max_shift_std"]) >= SHIFT_STD and not uses_window_norm:
        causes.append({"cause": "level-shift",
                       "message": f"the test targets lie {shift['max_shift_std']:+.1f} training standard deviations "
                                  f"from the training mean ({100 * shift['outside_train_range']:.0f}% of test values "
                                  "outside the training range): a trend or level shift",
                       "advice": "normalise each input window: model.norm=last (or revin)"})
        evidence["level_shift"] = shift
    steps = int(metrics.get("epochs") or 0) * int(steps_per_epoch)
    evidence["optimizer_steps"] = steps
    if steps < MIN_STEPS:
        causes.append({"cause": "too-few-steps",
                       "message": f"only {steps} optimizer steps ({metrics.get('epochs')} epochs of {steps_per_epoch} "
                                  "batches)",
                       "advice": "raise trainer.epochs or lower trainer.batch_size"})
    if not causes:
        causes.append({"cause": "unknown", "message": "no learning-rate, level-shift or step-count problem found",
                       "advice": "try a larger model (model.units/model.filters), more epochs, or another model"})
    message = (f"test {metric} {test:.4g} is below the naive baseline's {base:.4g}" if higher else
               f"test {metric} {test:.4g} is {ratio:.3g}x the naive baseline's {base:.4g}")
    return {"verdict": "worse-than-baseline", "message": message + "; " + "; ".join(c["message"] for c in causes),
            "advice": "; ".join(c["advice"] for c in causes), "causes": causes, "evidence": evidence}


def beats_baseline(metrics: Dict[str, Any], margin: float = CLEAR_MARGIN) -> Optional[bool]:
    """Whether the test metric clearly beats the naive baseline's: an error (mse; 1 - accuracy) at least `margin`
    below the baseline's. None when either is missing."""
    metric, higher = main_metric(metrics.get("task", "regression"))
    test, base = (metrics.get("test") or {}).get(metric), (metrics.get("baseline") or {}).get(metric)
    if test is None or base is None or not math.isfinite(float(base)) or not math.isfinite(float(test)):
        return None
    test, base = (1 - float(test), 1 - float(base)) if higher else (float(test), float(base))
    return test < (1 - margin) * base


# curve verdicts that explain a loss to the baseline by themselves: they lead, and no cause may advise against them
EXPLAINS = ("over-fitting", "lr-too-high", "lr-too-low", "noisy-validation", "suspicious-data", "no-signal",
            "diverging")


def combine(curves: Dict[str, Any], judged: Dict[str, Any]) -> Dict[str, Any]:
    """The diagnosis of a run that loses to its baseline: the curves' verdict when it explains the loss
    (over-fitting stays over-fitting), with only the baseline causes that agree with it (a level shift; a learning
    rate cut when the curves blame the rate), else `worse-than-baseline` with its causes."""
    verdict = curves["verdict"]
    if verdict not in EXPLAINS:
        return judged
    agree = [c for c in judged["causes"] if c["cause"] == "level-shift"
             or (c["cause"] == "learning-rate" and verdict in ("lr-too-high", "diverging"))]
    causes = [{"cause": verdict, "message": f"the learning curves show {verdict}", "advice": curves["advice"]}]
    causes += [c for c in agree if c["advice"] not in curves["advice"]]
    lost = judged["message"].split(";")[0]  # test <metric> ... the naive baseline's ...
    return {"verdict": verdict, "message": "; ".join([lost] + [c["message"] for c in causes]),
            "advice": "; ".join(c["advice"] for c in causes), "causes": causes,
            "evidence": {**curves.get("evidence", {}), "baseline": judged["evidence"]}}
