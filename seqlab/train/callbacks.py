"""The callback list every trainer shares (early stopping, TensorBoard, timing) and the protocols its members speak.

`StatefulCallback`: a callback whose state must survive a resume hands it to the checkpoint as `state_dict()`
(JSON-able values, plus numpy arrays or lists of them, which go into the checkpoint's npz) and takes it back in
`load_state_dict(d)`, called after its `on_train_begin`; the checkpoint files it under its `state_key`.
`RunEndCallback`: `on_run_end(metrics)` after evaluation, with the final metrics (TensorBoard HParams).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Protocol, runtime_checkable

import keras
import numpy as np

log = logging.getLogger(__name__)


@runtime_checkable
class StatefulCallback(Protocol):
    """Saves and restores its own state through the checkpoint, filed under its `state_key` (see `state_key()`)."""

    def state_dict(self) -> Dict[str, Any]: ...

    def load_state_dict(self, state: Dict[str, Any]) -> None: ...


@runtime_checkable
class RunEndCallback(Protocol):
    def on_run_end(self, metrics: Dict[str, Any]) -> None: ...


def state_key(cb: Any) -> str:
    """A callback's name in the checkpoint: its `state_key`, else its class name."""
    return str(getattr(cb, "state_key", None) or type(cb).__name__)


def stateful(callbacks: List[Any]) -> Dict[str, StatefulCallback]:
    """The callbacks that keep state across epochs, by state key; two under one key are an error."""
    out: Dict[str, StatefulCallback] = {}
    for cb in callbacks:
        if isinstance(cb, StatefulCallback):
            key = state_key(cb)
            if key in out:
                raise ValueError(f"two callbacks share the checkpoint state key {key!r}: "
                                 f"{type(out[key]).__name__} and {type(cb).__name__}; give one a state_key")
            out[key] = cb
    return out


class EpochTimer(keras.callbacks.Callback):
    """Records wall time spent in training epochs (validation included), excluding set-up and test."""

    state_key = "epoch_timer"

    def __init__(self):
        super().__init__()
        self.seconds = 0.0
        self.epochs_run = 0
        self._t0: Optional[float] = None

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.perf_counter() - self._t0
        self.epochs_run += 1

    def state_dict(self) -> Dict[str, Any]:
        return {"seconds": self.seconds, "epochs_run": self.epochs_run}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.seconds, self.epochs_run = float(state["seconds"]), int(state["epochs_run"])


class EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping whose progress (patience used, best value and epoch, best weights) survives a resume."""

    state_key = "early_stopping"

    def state_dict(self) -> Dict[str, Any]:
        return {"wait": int(self.wait), "stopped_epoch": int(self.stopped_epoch),
                "best": None if self.best is None else float(self.best), "best_epoch": int(self.best_epoch),
                "best_weights": None if self.best_weights is None else [np.asarray(w) for w in self.best_weights]}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])
        self.best, self.best_epoch = state["best"], int(state["best_epoch"])
        self.best_weights = None if state["best_weights"] is None else list(state["best_weights"])


class ReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """Keras' ReduceLROnPlateau whose progress (epochs waited, cool-down, best value) survives a resume; the rate
    itself is an optimizer variable, saved and restored with the optimizer."""

    state_key = "reduce_lr_on_plateau"

    def state_dict(self) -> Dict[str, Any]:
        return {"wait": int(self.wait), "cooldown_counter": int(self.cooldown_counter),
                "best": None if self.best is None else float(self.best)}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.wait, self.cooldown_counter, self.best = int(state["wait"]), int(state["cooldown_counter"]), state["best"]


def monitored(splits) -> str:
    """What early stopping and the best epoch follow: val_loss, or the training loss where a dataset has no
    validation split (dataset.val_fraction=0 on small classification files)."""
    return "val_loss" if splits is None or len(splits.val) else "loss"


def build_callbacks(cfg, run_dir: Path, model: keras.Model, splits,
                    extra: Optional[List[keras.callbacks.Callback]] = None,
                    timer: Optional[EpochTimer] = None, spec=None,
                    chief: bool = True) -> List[keras.callbacks.Callback]:
    """The callback list both trainers run, for the whole config `cfg`: `timer` (a new EpochTimer when None),
    early stopping, TensorBoard (and, given the DataSpec, the prediction pictures: on the `chief` only), then
    `extra`."""
    tcfg = cfg.trainer
    cbs: List[keras.callbacks.Callback] = [timer if timer is not None else EpochTimer()]
    if tcfg.patience:
        monitor = monitored(splits)
        if monitor == "loss":
            log.info("no validation split: early stopping (trainer.patience=%s) and the restored weights follow "
                     "the training loss", tcfg.patience)
        cbs.append(EarlyStopping(monitor=monitor, patience=tcfg.patience, min_delta=tcfg.min_delta,
                                 restore_best_weights=True, verbose=1))
    if tcfg.lr_schedule == "plateau":
        cbs.append(ReduceLROnPlateau(monitor=monitored(splits), factor=tcfg.decay_rate, patience=tcfg.lr_patience,
                                     min_lr=tcfg.min_lr, verbose=1 if tcfg.verbose else 0))
    # replaces keras.callbacks.TensorBoard (same tags for every trainer); a multi-worker run's chief alone writes it
    if tcfg.tensorboard.enabled and chief:
        from .tensorboard import TensorBoardReview

        cbs.append(TensorBoardReview(cfg, run_dir, splits))
        if spec is not None:  # after early stopping: its pictures at the end show the restored weights
            from ..inference.artifacts import inference_info
            from .pictures import PredictionImages

            tb = tcfg.tensorboard
            cbs.append(PredictionImages(run_dir, splits, spec, inference_info(cfg, splits, spec),
                                        image_freq=tb.image_freq, windows=tb.image_windows,
                                        wrong_texts=tb.wrong_texts, batch_size=tcfg.batch_size))
    cbs.extend(extra or [])
    return cbs


@runtime_checkable
class StopReasonCallback(Protocol):
    def stop_reason(self) -> Optional[Dict[str, Any]]: ...


def stop_reasons(callbacks: List[keras.callbacks.Callback]) -> Dict[str, Any]:
    """metrics.json fields from the callbacks that stopped the run early and say why (a sweep's pruner:
    `pruned`), so that the report, TensorBoard HParams and the sweep table all read it from the run."""
    out: Dict[str, Any] = {}
    for cb in callbacks:
        if isinstance(cb, StopReasonCallback):
            out.update(cb.stop_reason() or {})
    return out


def on_run_end(callbacks: List[keras.callbacks.Callback], metrics: dict) -> None:
    """After evaluation: hand the final metrics to the callbacks that report them (TensorBoard HParams)."""
    for cb in callbacks:
        if isinstance(cb, RunEndCallback):
            cb.on_run_end(metrics)


def progress_verbosity(verbose: int) -> int:
    """Keras verbosity: a live progress bar on a terminal, one line per epoch when piped to a file."""
    import sys

    return 2 if verbose == 1 and not sys.stdout.isatty() else verbose
