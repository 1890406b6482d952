"""The callback list every trainer shares: early stopping, TensorBoard, timing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import keras


class EpochTimer(keras.callbacks.Callback):
    """Records wall time spent in training epochs (validation included), excluding set-up and test."""

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


def build_callbacks(cfg, run_dir: Path, model: keras.Model, splits,
                    extra: Optional[List[keras.callbacks.Callback]] = None) -> List[keras.callbacks.Callback]:
    """The callback list both trainers run, for the whole config `cfg`; the first is always the EpochTimer."""
    tcfg = cfg.trainer
    cbs: List[keras.callbacks.Callback] = [EpochTimer()]
    if tcfg.patience:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=tcfg.patience,
                                                 restore_best_weights=True, verbose=1))
    if tcfg.tensorboard.enabled:  # replaces keras.callbacks.TensorBoard: same tags for every trainer
        from .tensorboard import TensorBoardReview

        cbs.append(TensorBoardReview(cfg, run_dir, splits))
    cbs.extend(extra or [])
    return cbs


def on_run_end(callbacks: List[keras.callbacks.Callback], metrics: dict) -> None:
    """After evaluation: hand the final metrics to the callbacks that report them (TensorBoard HParams)."""
    for cb in callbacks:
        if hasattr(cb, "on_run_end"):
            cb.on_run_end(metrics)


def progress_verbosity(verbose: int) -> int:
    """Keras verbosity: a live progress bar on a terminal, one line per epoch when piped to a file."""
    import sys

    return 2 if verbose == 1 and not sys.stdout.isatty() else verbose
