"""The HyperModel: a trial is the normal training path (`train.run`) on a copy of the config with its values."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import keras
import keras_tuner
from omegaconf import DictConfig

from ..config import ConfigError, validate
from ..train.outputs import write_json
from . import space as space_mod
from .results import RECORD  # per trial: every attempt (who ran it, from which epoch, how it ended, RSS, seconds)

log = logging.getLogger(__name__)


def rss_mb() -> Dict[str, float]:
    """Resident memory of this process now and at its peak, in MB (Linux /proc)."""
    out: Dict[str, float] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out["rss_mb" if line.startswith("VmRSS") else "peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return out


def last_checkpoint_epoch(run_dir: Path) -> int:
    """Epochs completed in the newest epoch checkpoint of a run directory (0: none)."""
    from ..train.checkpoint import CheckpointStore

    return max(CheckpointStore(Path(run_dir) / "checkpoints").paths(), default=0)


def read_record(trial_dir: Path) -> Dict[str, Any]:
    path = Path(trial_dir) / RECORD
    return json.loads(path.read_text()) if path.exists() else {"attempts": []}


def add_attempt(trial_dir: Path, attempt: Dict[str, Any], index: Optional[int] = None) -> int:
    """Append an attempt to the trial's record, or update attempt `index`; one writer: the trial's owner.
    An attempt is added as "running" when it starts, so a killed one stays visible."""
    record = read_record(trial_dir)
    if index is None:
        record["attempts"].append(attempt)
        index = len(record["attempts"]) - 1
    else:
        record["attempts"][index].update(attempt)
    write_json(Path(trial_dir) / RECORD, record)
    return index


def record_pruned(trial_dir: Path, decision: Dict[str, Any]) -> None:
    """Write the pruning decision (`execution`, `epoch` 1-based, `rule`, `reason`) into the trial's record, atomically:
    the first thing done once the oracle says stop, so a trial killed before its end resumes as pruned."""
    record = read_record(trial_dir)
    record["pruned"] = decision
    write_json(Path(trial_dir) / RECORD, record)


def close_running(trial_dir: Path, status: str, reason: str) -> None:
    """Mark the trial's last running attempt as ended (its process died without saying so)."""
    record = read_record(trial_dir)
    running = [a for a in record["attempts"] if a.get("status") == "running"]
    if running:
        running[-1].update(status=status, reason=reason)
    else:
        record["attempts"].append({"status": status, "reason": reason})
    write_json(Path(trial_dir) / RECORD, record)


class SeqlabHyperModel(keras_tuner.HyperModel):
    """Declares the space from config; `fit` writes the trial's values onto a copy of the config and runs it.

    `build` only declares the hyperparameters: the model is built, compiled and trained by `train.run` inside
    `fit`, exactly as `python -m seqlab <overrides>` would, so best.yaml's overrides reproduce a trial.
    """

    def __init__(self, cfg: DictConfig, space: Dict[str, Dict[str, Any]], objective: str,
                 measured: Sequence[str] = ()):
        super().__init__(name="seqlab")
        self.cfg, self.space, self.objective = cfg, space, objective
        self.measured = list(measured)  # further objectives measured on the trained model: params, latency

    def declare_hyperparameters(self, hp) -> None:
        space_mod.declare(hp, self.space, self.cfg)

    def build(self, hp):
        self.declare_hyperparameters(hp)  # every key up front, so TensorBoard's HParams sees them all
        return None

    def fit(self, hp, model=None, *, callbacks: Optional[List[keras.callbacks.Callback]] = None,
            run_dir: Path, trial_dir: Optional[Path] = None, execution: int = 0, epochs: Optional[int] = None,
            resume: bool = False, tuner_id: str = "tuner0", **kwargs) -> keras.callbacks.History:
        """Train one execution of a trial in `run_dir` (continuing its last checkpoint); returns its History.

        A bad combination (refused by validate, or by the data or the model in the run's prepare stage), a diverged
        loss or running out of memory raise FailedTrialError (the sweep goes on); any other error raises FatalError
        (the sweep stops)."""
        import tensorflow as tf

        from ..train import run
        from ..train.errors import Diverged, stage_of

        run_dir = Path(run_dir)
        trial_dir = Path(trial_dir or run_dir)
        cfg = space_mod.trial_config(self.cfg, hp.values, seed=int(self.cfg.seed) + execution, epochs=epochs)
        if resume:
            cfg.resume = True  # hyperband: continue the promoted trial's checkpoint under more epochs
        attempt: Dict[str, Any] = {"execution": execution, "tuner_id": tuner_id, "host": socket.gethostname(),
                                   "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                   "start_epoch": last_checkpoint_epoch(run_dir), "status": "running"}
        index = add_attempt(trial_dir, attempt)
        t0 = time.perf_counter()

        def finish(status: str, reason: str = "", epochs_run: Optional[int] = None, **extra: Any) -> None:
            add_attempt(trial_dir, dict(status=status, reason=reason, epochs=epochs_run,
                                        seconds=round(time.perf_counter() - t0, 3), **rss_mb(), **extra), index)

        try:
            validate(cfg)
        except ConfigError as e:
            finish("failed", f"invalid combination: {e}")
            raise keras_tuner.errors.FailedTrialError(f"invalid combination: {e}") from None
        try:
            result = run(cfg, run_dir, extra_callbacks=list(callbacks or []))
        except Diverged as e:
            finish("failed", f"diverged: {e}", e.metrics.get("epochs"))
            raise keras_tuner.errors.FailedTrialError(f"diverged: {e}") from None
        except (tf.errors.ResourceExhaustedError, MemoryError) as e:
            reason = f"out of memory: {str(e).splitlines()[0][:300] if str(e) else type(e).__name__}"
            finish("failed", reason)
            raise keras_tuner.errors.FailedTrialError(reason) from None
        except ConfigError as e:
            if stage_of(e) == "prepare":  # data or model refuse this combination (e.g. input_len beyond the series)
                finish("failed", f"invalid combination: {e}")
                raise keras_tuner.errors.FailedTrialError(f"invalid combination: {e}") from None
            # e.g. a checkpoint of another config in the trial dir: not the trial's fault
            finish("error", str(e))
            raise keras_tuner.errors.FatalError(f"trial {run_dir}: {e}") from None
        except Exception as e:
            finish("error", f"{type(e).__name__}: {e}")
            raise keras_tuner.errors.FatalError(f"trial {run_dir} stopped the sweep: {type(e).__name__}: {e}") from e
        except BaseException:  # interrupted: the run wrote its checkpoint; a resumed sweep continues from it
            finish("interrupted", "interrupted", last_checkpoint_epoch(run_dir))
            raise
        if self.objective not in result.history:
            finish("error", f"no metric {self.objective!r}")
            raise keras_tuner.errors.FatalError(
                f"sweep.objective: expected a metric the runs log ({', '.join(sorted(result.history))}), "
                f"got {self.objective!r}")
        measured = measure(result, self.measured)
        finish("completed", "", int(result.metrics.get("epochs") or len(result.history[self.objective])), **measured)
        history = keras.callbacks.History()
        history.history = {k: [float(x) for x in v] for k, v in result.history.items()}
        n = len(history.history[self.objective])
        history.history.update({k: [v] * n for k, v in measured.items()})  # reported to the oracle with the rest
        return history


def latency_ms(model, batch: int = 64, repeats: int = 5) -> float:
    """Predict time per example in milliseconds: the median of `repeats` calls on a batch of zeros (after one
    warm-up call), divided by the batch size. Unknown dimensions (text length) count as 1."""
    import numpy as np

    inputs = [np.zeros((batch,) + tuple(d or 1 for d in x.shape[1:]), dtype=x.dtype) for x in model.inputs]
    model.predict_on_batch(inputs if len(inputs) > 1 else inputs[0])
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict_on_batch(inputs if len(inputs) > 1 else inputs[0])
        times.append(time.perf_counter() - t0)
    return round(1000.0 * sorted(times)[len(times) // 2] / batch, 6)


def measure(result, names: Sequence[str]) -> Dict[str, float]:
    """The measured objectives of a trained run: `params` (from metrics.json), `latency` (ms per example)."""
    out: Dict[str, float] = {}
    for name in names:
        if name == "params":
            out[name] = float(result.metrics.get("params") or result.model.count_params())
        elif name == "latency":
            out[name] = latency_ms(result.model)
    return out
