"""Pruning (`sweep.pruner`): the one rule that stops a trial clearly worse than the others at the same epoch.

Every tuner (TPE included) uses it, over the per-epoch objectives the oracle records for every trial:
- `median` (Optuna's MedianPruner rule): from the second epoch on, once at least MIN_TRIALS other trials reached
  this epoch, stop the trial when its best value so far is worse than the median of theirs at this epoch.
- `asha` (asynchronous successive halving, Optuna's SuccessiveHalvingPruner rule): at the rungs (epochs 1, 3, 9,
  27, ...: ETA ** k), stop the trial unless it is in the best 1/ETA of the values recorded at that rung (itself
  included, at least MIN_TRIALS of them).
A pruned trial ends like an early-stopped run (evaluated, saved) and is listed as `pruned`; best.yaml never picks
one.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import keras
from keras_tuner import synchronized
from keras_tuner.engine.trial import Trial, TrialStatus

from .hypermodel import read_record, record_pruned

MIN_TRIALS = 3  # values of other trials at an epoch before the rule judges anyone there
WARMUP = 1  # median: epochs (0-based index) never judged: the first epoch is noise
ETA = 3  # asha: reduction factor and rung spacing
# metric names the pruning callback and the tuner use to talk to the oracle through update_trial (gRPC-safe)
EPOCH = "seqlab/epoch_objective"  # a live trial's epoch value: record it and answer whether to stop
CURVE = "seqlab/curve"  # a finished trial's epoch value: record only (forked trials report after they end)
PRUNED = "seqlab/pruned"  # the trial was pruned after this epoch (0-based)

Curves = Mapping[str, Mapping[int, float]]  # trial_id -> {epoch (0-based): objective}


def _better(a: float, b: float, direction: str) -> bool:
    return a > b if direction == "max" else a < b


def should_prune(rule: str, direction: str, curves: Curves, trial_id: str, epoch: int) -> bool:
    """Whether `trial_id` should stop after `epoch` (0-based), its value there being `curves[trial_id][epoch]`."""
    mine = curves.get(trial_id, {})
    if rule == "none" or epoch not in mine or not math.isfinite(mine[epoch]):
        return False
    others = [c[epoch] for tid, c in curves.items() if tid != trial_id and epoch in c and math.isfinite(c[epoch])]
    if rule == "median":
        if epoch < WARMUP or len(others) < MIN_TRIALS:
            return False
        so_far = [v for e, v in mine.items() if e <= epoch and math.isfinite(v)]
        best = max(so_far) if direction == "max" else min(so_far)
        return _better(statistics.median(others), best, direction)
    if rule == "asha":
        rung = epoch + 1
        if round(math.log(rung, ETA), 9) % 1 or len(others) + 1 < MIN_TRIALS:
            return False  # not a rung (1, 3, 9, ...), or too few to rank
        ranked = sorted(others + [mine[epoch]], reverse=direction == "max")
        keep = max(1, len(ranked) // ETA)
        return _better(ranked[keep - 1], mine[epoch], direction)
    raise ValueError(f"sweep.pruner: expected one of none, median, asha, got {rule!r}")


def curve_values(histories: List[Dict[str, List[float]]], objective: str) -> Dict[int, float]:
    """The per-epoch objective of a trial (the mean over its executions), from its histories."""
    series = [h.get(objective, []) for h in histories]
    n = min((len(s) for s in series), default=0)
    return {e: float(sum(s[e] for s in series) / len(series)) for e in range(n)}


class PruneCallback(keras.callbacks.Callback):
    """Reports each epoch's objective to the oracle (local, forked copy or the chief over gRPC) and stops the run
    when the oracle answers STOPPED; the run's metrics.json then says `pruned` (train.callbacks.stop_reasons).

    The decision is written to the trial's record (`trial_dir`) before the run is told to stop: an execution that
    was pruned and killed before its end (its last checkpoint not marked stopped) stops at that same epoch when the
    sweep resumes it, without asking the oracle again."""

    def __init__(self, oracle: Any, trial_id: str, objective: str, rule: str, trial_dir: Optional[Path] = None,
                 execution: int = 0):
        super().__init__()
        self.oracle, self.trial_id, self.objective, self.rule = oracle, trial_id, objective, rule
        self.trial_dir, self.execution = trial_dir, execution
        decided = read_record(trial_dir).get("pruned") if trial_dir is not None else None
        # 0-based epoch after which the run stops: a decision taken before a restart holds
        self.pruned_at: Optional[int] = (int(decided["epoch"]) - 1 if decided and decided["execution"] == execution
                                         else None)

    def on_epoch_end(self, epoch, logs=None):
        if self.pruned_at is not None:  # decided before a restart: stop where the first attempt was told to
            self.model.stop_training = self.model.stop_training or epoch >= self.pruned_at
            return
        value = (logs or {}).get(self.objective)
        if value is None:
            return
        answer = self.oracle.update_trial(self.trial_id, {EPOCH: float(value)}, step=int(epoch))
        if getattr(answer, "status", answer) == "STOPPED":
            if self.trial_dir is not None:  # durable first: a kill from here on resumes as pruned
                record_pruned(self.trial_dir, {"execution": self.execution, **self._reason(int(epoch))})
            self.pruned_at = int(epoch)
            self.model.stop_training = True

    def _reason(self, epoch: int) -> Dict[str, Any]:
        return {"epoch": epoch + 1, "rule": self.rule, "reason": f"pruned after epoch {epoch + 1} ({self.rule} rule)"}

    def stop_reason(self) -> Optional[Dict[str, Any]]:
        return None if self.pruned_at is None else {"pruned": self._reason(self.pruned_at)}


class PruningOracle:
    """Oracle mixin: records every trial's per-epoch objective (saved in oracle.json, so a resumed sweep or a
    restarted chief keeps them) and answers a live trial's report with STOPPED when `should_prune` says so."""

    pruner = "none"

    def setup_pruning(self, rule: str) -> None:
        self.pruner = rule
        self.curves: Dict[str, Dict[int, float]] = {}
        self.pruned: Dict[str, int] = {}  # trial_id -> epoch (0-based) after which it stopped

    @synchronized
    def update_trial(self, trial_id, metrics, step=0):

        metrics = dict(metrics)
        ours = {k: metrics.pop(k) for k in (EPOCH, CURVE, PRUNED) if k in metrics}
        if not ours:
            return super().update_trial(trial_id, metrics, step=step)
        if PRUNED in ours:
            self.pruned[trial_id] = int(ours[PRUNED])
        value = ours.get(EPOCH, ours.get(CURVE))
        if value is not None:
            self.curves.setdefault(trial_id, {})[int(step)] = float(value)
        if EPOCH in ours and trial_id not in self.pruned and should_prune(
                self.pruner, self.objective.direction, self.curves, trial_id, int(step)):
            self.pruned[trial_id] = int(step)
        # pruned stays pruned: a trial continued after its worker was lost is told again at the same epoch
        stop = EPOCH in ours and trial_id in self.pruned and int(step) >= self.pruned[trial_id]
        return Trial(self.get_space(), trial_id=trial_id, status=TrialStatus.STOPPED if stop else TrialStatus.RUNNING)

    def get_state(self):
        state = super().get_state()
        state["seqlab_curves"] = {t: {str(e): v for e, v in c.items()} for t, c in self.curves.items()}
        state["seqlab_pruned"] = dict(self.pruned)
        return state

    def set_state(self, state):
        super().set_state(state)
        self.curves = {t: {int(e): float(v) for e, v in c.items()} for t, c in state.get("seqlab_curves", {}).items()}
        self.pruned = {t: int(e) for t, e in state.get("seqlab_pruned", {}).items()}
