"""When training goes wrong: why the loss became NaN (the learning curves' verdicts: curves.py)."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import keras
import numpy as np

from .curves import ADVICE, diagnose_curves, trend  # the learning-curve verdicts (NumPy only)

__all__ = ["ADVICE", "DivergenceGuard", "NonFiniteLoss", "check_data", "diagnose_curves", "diagnose_divergence",
           "trend"]


# --------------------------------------------------------------------------- NaN / Inf
def _raw_arrays(split):
    """The split's stored arrays, without materialising every window: (inputs, targets)."""
    if hasattr(split, "inputs") and hasattr(split, "targets"):
        return split.inputs, split.targets
    if hasattr(split, "x") and hasattr(split, "y"):
        return split.x, split.y
    return split.arrays()


def check_data(splits, spec) -> List[Dict[str, Any]]:
    """Problems in the training and validation data that make a loss NaN: non-finite values, labels out of range."""
    problems: List[Dict[str, Any]] = []
    for name in ("train", "val"):
        x, y = (np.asarray(a) for a in _raw_arrays(getattr(splits, name)))
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            n = int(np.size(x) - np.isfinite(x).sum())
            problems.append({"kind": "inputs", "split": name,
                             "message": f"{n} NaN/Inf values in the {name} inputs"})
        if spec.task == "regression":
            if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
                n = int(np.size(y) - np.isfinite(y).sum())
                problems.append({"kind": "inputs", "split": name,
                                 "message": f"{n} NaN/Inf values in the {name} targets"})
            continue
        classes = 2 if spec.task == "binary" else int(spec.num_classes)
        floating = np.issubdtype(y.dtype, np.floating)
        bad = (y < 0) | (y >= classes)
        if floating:  # float labels must still be whole class ids
            bad |= ~np.isfinite(y) | (np.round(y) != y)
        if bad.any():
            values = sorted({float(v) if floating else int(v) for v in y[bad][:1000]})
            problems.append({"kind": "labels", "split": name,
                             "message": f"{int(bad.sum())} {name} labels outside the model's {classes} classes "
                                        f"0..{classes - 1}: {values[:5]}"})
    return problems


def diagnose_divergence(where: Dict[str, Any], problems: List[Dict[str, Any]], tcfg,
                        steps_per_epoch: int) -> Dict[str, Any]:
    """Why the loss went non-finite: bad labels, NaN/Inf in the data, a loss that exploded early, or unknown."""
    evidence = {"step": where.get("step"), "losses": where.get("losses", [])}
    labels = [p for p in problems if p["kind"] == "labels"]
    if labels or problems:
        found = labels or problems
        verdict = "bad-labels" if labels else "bad-inputs"
        message = "; ".join(p["message"] for p in found)
        advice = ("map the labels to 0..K-1 (the loaders' encode_labels does) or fix the label column"
                  if labels else "clean the data (dataset.interpolate=true fills gaps in series) or drop those rows")
        return {"verdict": verdict, "message": message, "advice": advice, "evidence": {**evidence, "problems": found}}
    losses = [x for x in where.get("losses", []) if math.isfinite(x)]
    early = where.get("step", 0) <= max(50, steps_per_epoch)
    grew = len(losses) >= 2 and losses[-1] >= 10 * max(min(losses), 1e-12)
    if early or grew:
        lr = float(tcfg.lr)
        tries = [f"trainer.lr={lr / 10:g} (now {lr:g})"]
        if not tcfg.clipnorm:
            tries.append("trainer.clipnorm=1.0")
        if tcfg.optimizer == "sgd":
            tries.append("trainer.optimizer=adam")
        return {"verdict": "lr-too-high",
                "message": f"the loss exploded within the first {where.get('step')} steps: the learning rate is "
                           "too high for this model and data",
                "advice": "try " + ", ".join(tries), "evidence": evidence}
    return {"verdict": "unknown",
            "message": "no bad labels or NaN/Inf in the data, and the loss did not blow up early",
            "advice": "try trainer.clipnorm=1.0 and a lower trainer.lr; look for log/sqrt/division of values "
                      "near 0 in custom layers; run with trainer=tape trainer.eager=true to inspect the step",
            "evidence": evidence}


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite training loss by raising NonFiniteLoss (both trainers)."""

    def __init__(self, keep: int = 50):
        super().__init__()
        self.keep = keep
        self.losses: List[float] = []  # the running loss of the first and the latest batches of this session
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isfinite(loss):
            if len(self.losses) >= 2 * self.keep:
                del self.losses[self.keep]  # keep the first `keep` and a window of the latest
            self.losses.append(loss)
            return
        self._stop(batch + 1, "loss", loss)

    def on_epoch_end(self, epoch, logs=None):
        # a training loss can stay finite while the weights have blown up: the validation loss tells
        val = (logs or {}).get("val_loss")
        if val is not None and not math.isfinite(float(val)):
            self._stop(None, "val_loss", float(val))

    def _stop(self, batch: Optional[int], name: str, value: float) -> None:
        step = int(self.model.optimizer.iterations.numpy())  # numpy(): int() of a mirrored variable raises
        raise NonFiniteLoss({"epoch": self.epoch + 1, "batch": batch, "step": step, "metric": name, "loss": value,
                             "losses": [float(f"{x:.6g}") for x in self.losses]})


class NonFiniteLoss(Exception):
    """Raised inside the training loop; run() turns it into a diagnosis and `Diverged`."""

    def __init__(self, where: Dict[str, Any]):
        self.where = where
        super().__init__(f"non-finite {where['metric']} {where['loss']} at epoch {where['epoch']}")
