"""What the learning curves say: one verdict from the levels and slopes of the train/validation losses and the
optimisation signals seqlab logs (gradient norm, update-to-weight ratio). NumPy only.

The rules, in order (docs/DIAGNOSIS.md shows each on real curves):
1. fewer than 2 epochs: too-short; a non-finite loss, a training loss that doubled in the first epochs, or
   weights that moved by more than HIGH_UPDATE of their norm per step in some epoch of a model that does not
   clearly beat its baseline: lr-too-high;
2. both losses rising: diverging (the design: architecture or hyper-parameters);
3. validation well above its best (by more than its own noise) while training kept improving, or validation stalled
   while training fell and the gap grew: over-fitting;
4. training flat while validation falls, or validation 20%+ below training in most epochs: suspicious-data;
5. validation jumping between epochs far more than training, by 5%+ of the range it covered: noisy-validation;
6. weights that move by less than LOW_UPDATE of their norm per step: lr-too-low;
7. both falling, validation best at the end, and early stopping did not end the run: still-learning;
8. both flat: converged when the model clearly beats its naive baseline; no-signal when, over 8+ epochs, the
   losses stayed flat and no better than the baseline although the weights move; else plateau (a bottleneck:
   learning rate or batch size).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence

import numpy as np

HIGH_UPDATE = 0.1  # per optimizer step in some epoch, ||dw|| / ||w||: weights rewritten within ten steps
LOW_UPDATE = 2e-5  # per optimizer step: Adam at its default rate moves weights ~1e-3 per step

ADVICE = {
    "converged": "nothing to change: the losses have levelled off and the model beats its naive baseline (whether "
                 "another model does better is a question for seqlab compare over seeds)",
    "still-learning": "both losses are still falling: train longer (raise trainer.epochs)",
    "over-fitting": "training loss falls while validation loss does not: regularize (regularizer=l2_dropout; "
                    "text models also regularizer.adversarial=0.3), shrink the model, get more data, or stop early "
                    "(trainer.patience)",
    "noisy-validation": "the validation loss jumps between epochs far more than the training loss: the validation "
                        "split is too small to judge epochs by; enlarge it and keep trainer.patience at several "
                        "epochs (early stopping on one lucky epoch picks noise)",
    "suspicious-data": "training loss is flat while validation loss falls: check the data (leaks between splits, "
                       "an easier validation set, shuffled labels) and training-only noise (heavy dropout)",
    "plateau": "both losses are flat and the model does not clearly beat its naive baseline: a bottleneck; try "
               "trainer.lr 3x higher and 3x lower, or a smaller trainer.batch_size, then a larger model",
    "no-signal": "the losses stay flat and no better than the naive baseline although the weights move: either "
                 "the inputs do not predict the targets (check the labels: shuffled? the wrong column?) or the model "
                 "has not found the signal yet (try trainer.lr 3x higher, then a larger model)",
    "diverging": "both losses are rising: the design is wrong; check trainer.lr and trainer.optimizer, the loss "
                 "(trainer.loss) against the task, and the model's output layer",
    "lr-too-high": "lower trainer.lr (10x) or set trainer.clipnorm=1.0",
    "lr-too-low": "the weights barely move: raise trainer.lr (10x)",
    "too-short": "fewer than 2 epochs: nothing to read from the curves yet",
    "solved": "trainer=lstsq: the exact least-squares weights, no curve to read; regularizer.l2 (ridge) is its only "
              "setting, model.norm and dataset.input_len change what it fits",
}


def trend(values: Sequence[float], tol: float = 0.01) -> Dict[str, Any]:
    """Least-squares slope over the last half of a curve, relative to its level (fraction per epoch)."""
    v = np.asarray(values, dtype=np.float64)
    k = min(len(v), max(2, math.ceil(len(v) / 2)))
    w = v[-k:]
    slope = float(np.polyfit(np.arange(k), w, 1)[0])
    rel = slope / max(float(np.mean(np.abs(w))), 1e-12)
    direction = "falling" if rel < -tol else "rising" if rel > tol else "flat"
    return {"slope": round(rel, 6), "direction": direction, "window": k}


def smooth(x: np.ndarray) -> np.ndarray:
    """A centred moving average over ~an eighth of the epochs (3 to 7), edges padded with the end values."""
    k = min(7, max(1, len(x) // 8) | 1)
    if k == 1:
        return x.copy()
    return np.convolve(np.pad(x, (k // 2, k // 2), mode="edge"), np.ones(k) / k, mode="valid")


def noise(x: np.ndarray) -> float:
    """Epoch-to-epoch noise relative to the level: the robust spread of the second differences of log(loss)
    (which cancel any trend, and scale with the level), sigma = 1.4826 MAD / sqrt(6)."""
    if len(x) < 4:
        return 0.0
    if np.all(x > 0):
        d2 = np.diff(np.log(x), 2)
        return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / math.sqrt(6))
    d2 = np.diff(x, 2)  # a loss that can be negative: relative to the median level
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / math.sqrt(6) / max(np.median(np.abs(x)), 1e-12))


def _gain(s: np.ndarray, i: int) -> float:
    """How much lower the (smoothed) curve ends than at index i, as a fraction of its value there."""
    return float((s[i] - s[-1]) / max(abs(s[i]), 1e-12))


def features(train: np.ndarray, val: Optional[np.ndarray], update: Optional[np.ndarray],
             steps_per_epoch: Optional[int]) -> Dict[str, Any]:
    """The evidence the rules read: slopes, levels, gaps, noise and the update-to-weight ratio per step."""
    E, half = len(train), len(train) // 2
    st, t = smooth(train), trend(train)
    ev: Dict[str, Any] = {"epochs": E, "train_slope": t["slope"], "train_direction": t["direction"],
                          "train_gain_last_half": round(_gain(st, half), 4),
                          "train_gain_total": round(float((train[0] - st[-1]) / max(abs(train[0]), 1e-12)), 4),
                          "train_noise": round(noise(train), 4)}
    if val is not None:
        sv = smooth(val)
        best, sbest = int(np.argmin(val)), int(np.argmin(sv))
        gap = (sv - st) / np.maximum(np.abs(sv), 1e-12)
        ev.update(val_slope=trend(val)["slope"], val_direction=trend(val)["direction"],
                  val_gain_last_half=round(_gain(sv, half), 4), val_noise=round(noise(val), 4),
                  best_val_epoch=best + 1, best_val_position=round((best + 1) / E, 3),
                  val_above_best=round(float(sv[-1] / max(sv[sbest], 1e-12) - 1), 4),
                  train_gain_since_best=round(_gain(st, sbest), 4),
                  gap_at_best=round(float(gap[sbest]), 4), gap_at_end=round(float(gap[-1]), 4))
        # the noise in loss units over the whole range the validation loss covered: how much it can mislead
        spread = float(np.max(val) - np.min(val))
        ev["val_below_train"] = round(float(np.mean((val - train) / np.maximum(np.abs(val), 1e-12) < -0.2)), 3)
        ev["val_noise_share"] = round(ev["val_noise"] * float(np.median(val[half:])) / max(spread, 1e-12), 4)
    if update is not None and len(update) == E and np.isfinite(update).all():
        per_step = float(np.median(update[half:])) / max(int(steps_per_epoch or 1), 1)
        ev["update_per_step"] = float(f"{per_step:.3g}")
        ev["update_per_step_max"] = float(f"{float(np.max(update)) / max(int(steps_per_epoch or 1), 1):.3g}")
    return ev


def verdict_of(train: np.ndarray, val: Optional[np.ndarray], ev: Dict[str, Any],
               beats_baseline: Optional[bool]) -> str:
    """The rules of the module docstring, in order."""
    up, up_max = ev.get("update_per_step"), ev.get("update_per_step_max")
    if _blew_up(train) or (up_max is not None and up_max > HIGH_UPDATE and not beats_baseline):
        return "lr-too-high"  # weights rewritten in a few steps, and a model no better than the baseline to show
    tdir = ev["train_direction"]
    if val is None:
        if up is not None and up < LOW_UPDATE:
            return "lr-too-low"
        flat = {"rising": "diverging", "falling": "still-learning"}.get(tdir)
        return flat or ("converged" if beats_baseline else "plateau")
    vdir, vnoise = ev["val_direction"], ev["val_noise"]
    if tdir == "rising" and vdir == "rising":
        return "diverging"
    rose = ev["val_above_best"] > max(0.05, 2 * vnoise) and ev["train_gain_since_best"] > 0.05
    stalled = (ev["val_gain_last_half"] < 0.03 and ev["train_gain_last_half"] > 0.1
               and ev["gap_at_end"] > max(0.15, ev["gap_at_best"] + 0.1))
    if rose or stalled:
        return "over-fitting"
    flat_train = tdir != "falling" and ev["train_gain_last_half"] < 0.03
    if (flat_train and vdir == "falling" and ev["val_gain_last_half"] > 0.05) or ev["val_below_train"] >= 0.5:
        return "suspicious-data"  # validation falls while training does not, or lies far below it most epochs
    if len(val) >= 8 and vnoise > 0.05 and vnoise > 3 * ev["train_noise"] and ev["val_noise_share"] > 0.05:
        return "noisy-validation"  # (short curves: curvature, not noise; a noise the run's gains dwarf is harmless)
    if up is not None and up < LOW_UPDATE:
        return "lr-too-low"
    if vdir == "falling" and ev["best_val_position"] >= 0.8 and (tdir == "falling" or not beats_baseline) \
            and not ev.get("stopped_early"):
        return "still-learning"  # (early stopping saw `patience` epochs without a better validation loss)
    if beats_baseline:
        return "converged"
    if len(train) >= 8 and up is not None and up >= 10 * LOW_UPDATE and ev["val_gain_last_half"] < 0.03 \
            and ev["train_gain_last_half"] < 0.1 and beats_baseline is False:
        return "no-signal"  # the weights move, the losses stay at the baseline's level
    return "plateau"


def _blew_up(train: np.ndarray) -> bool:
    """The training loss at least doubled within the first three epochs."""
    return len(train) >= 2 and train[0] > 0 and bool(np.max(train[1:4]) > 2 * train[0])


def diagnose_curves(train: Sequence[float], val: Optional[Sequence[float]] = None,
                    signals: Optional[Dict[str, Sequence[float]]] = None, steps_per_epoch: Optional[int] = None,
                    beats_baseline: Optional[bool] = None, lr: Optional[float] = None,
                    stopped_early: bool = False) -> Dict[str, Any]:
    """One verdict from the loss curves and the logged signals (history's grad_norm / update_ratio), with its
    advice and the evidence. `beats_baseline`: whether the test metric beats the naive baseline (None: unknown)."""
    train_a = np.asarray(train, dtype=np.float64)
    val_a = np.asarray(val, dtype=np.float64) if val is not None and len(val) == len(train_a) else None
    if len(train_a) < 2 or not np.isfinite(train_a).all() or (val_a is not None and not np.isfinite(val_a).all()):
        verdict = "too-short" if len(train_a) < 2 else "lr-too-high"
        return {"verdict": verdict, "advice": ADVICE[verdict], "evidence": {"epochs": int(len(train_a))}}
    signals = signals or {}
    update = signals.get("update_ratio")
    ev = features(train_a, val_a, np.asarray(update, np.float64) if update is not None else None, steps_per_epoch)
    if signals.get("grad_norm") is not None and len(signals["grad_norm"]):
        g = np.asarray(signals["grad_norm"], np.float64)
        ev["grad_norm_first_last"] = [float(f"{g[0]:.3g}"), float(f"{g[-1]:.3g}")]
    if beats_baseline is not None:
        ev["beats_baseline"] = bool(beats_baseline)
    ev["stopped_early"] = bool(stopped_early)
    verdict = verdict_of(train_a, val_a, ev, beats_baseline)
    return {"verdict": verdict, "advice": advice(verdict, lr, ev), "evidence": ev}


def advice(verdict: str, lr: Optional[float], ev: Dict[str, Any]) -> str:
    """ADVICE, with the learning rate to try when it is known, and the bottleneck's direction from the signals."""
    text = ADVICE[verdict]
    if lr and verdict == "lr-too-low":
        text += f": trainer.lr={lr * 10:g} (now {lr:g})"
    if lr and verdict == "lr-too-high":
        text = f"lower the learning rate: trainer.lr={lr / 10:g} (now {lr:g}), or set trainer.clipnorm=1.0"
    up = ev.get("update_per_step")
    if verdict == "plateau" and up is not None and up < 10 * LOW_UPDATE:
        text += f" (the weights move little, {up:.2g} per step: start with the higher rate)"
    return text
