"""The tuner from the sweep config: an oracle per `sweep.tuner`, trials run in child processes, worker leases."""

from __future__ import annotations

import collections
import gc
import json
import logging
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import keras
import keras_tuner
from keras_tuner import synchronized
from keras_tuner.engine.trial import Trial, TrialStatus
from omegaconf import DictConfig

from .. import private
from ..config import objective_direction, objective_directions, objective_name, objective_names
from ..config.metric import metric_direction
from ..train.checkpoint import CheckpointStore
from ..train.outputs import atomic_write
from . import isolate, pruning
from .hypermodel import SeqlabHyperModel, add_attempt, close_running, last_checkpoint_epoch, read_record
from .tpe import TPEOracle

log = logging.getLogger(__name__)

def _atomic_save_json(path, obj, original):
    """keras_tuner's save_json (oracle.json, tuner0.json, every trial.json), written atomically on local paths: a
    sweep killed mid-write leaves the previous file, never half of one that the resumed sweep could not read."""
    if "://" in str(path):  # gs:// and the like: keras_tuner's own writer
        return original(path, obj)
    text = json.dumps(obj)
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))
    return text


private.route_tuner_json(_atomic_save_json)

ORACLES = {
    "random": keras_tuner.oracles.RandomSearchOracle,
    "bayesian": keras_tuner.oracles.BayesianOptimizationOracle,
    "hyperband": keras_tuner.oracles.HyperbandOracle,
    "grid": keras_tuner.oracles.GridSearchOracle,
    "tpe": TPEOracle,
}


class LeasedOracle:
    """Oracle mixin for the distributed chief: a worker silent for `lease` seconds (killed, machine lost) loses its
    trial to the retry queue, where the next worker asking picks it up and continues its last checkpoint. Once
    every trial is handed out, workers are told to wait (IDLE) while others still run, so a lost trial finds one.
    `lease=None` (one process) changes nothing."""

    lease: Optional[float] = None
    max_losses = 2  # a trial lost more often than this is failed ("worker lost"): it may be what kills them

    def setup_lease(self, lease: Optional[float]) -> None:
        self.lease = lease
        self._seen: Dict[str, float] = {}
        self._losses: Dict[str, int] = collections.defaultdict(int)

    def _touch(self, tuner_id: str) -> None:
        if self.lease:
            self._seen[tuner_id] = time.monotonic()

    @synchronized
    def create_trial(self, tuner_id):
        self._touch(tuner_id)
        self.reap()
        if (self.lease and self.max_trials and len(self.trials) >= self.max_trials and not private.retry_queue(self)
                and tuner_id not in self.ongoing_trials and self.ongoing_trials):
            self.tuner_ids.add(tuner_id)
            return Trial(self.get_space(), status=TrialStatus.IDLE)
        return super().create_trial(tuner_id)

    @synchronized
    def get_trial(self, trial_id):  # workers call it every few seconds while a trial runs: their heartbeat
        for tuner_id, trial in self.ongoing_trials.items():
            if trial.trial_id == trial_id:
                self._touch(tuner_id)
        return super().get_trial(trial_id)

    @synchronized
    def update_trial(self, trial_id, metrics, step=0):
        # register each metric's direction by name: Keras Tuner would infer it by building Keras metric objects,
        # which starts TensorFlow's runtime in the tuner's process (then forking trials is no longer safe)
        trial = self.trials[trial_id]
        for name in metrics:
            if not trial.metrics.exists(name):
                direction = self.objective.direction if name == self.objective.name else metric_direction(name)
                trial.metrics.register(name, direction=direction or "min")
        return super().update_trial(trial_id, metrics, step=step)

    @synchronized
    def reap(self) -> List[str]:
        """Hand the trials of workers silent for longer than the lease back to the retry queue."""
        if not self.lease:
            return []
        now, lost = time.monotonic(), []
        for tuner_id in list(self.tuner_ids):
            if now - self._seen.setdefault(tuner_id, now) <= self.lease:
                continue
            self.tuner_ids.discard(tuner_id)
            trial = self.ongoing_trials.pop(tuner_id, None)
            if trial is None:
                continue
            self._losses[trial.trial_id] += 1
            if self._losses[trial.trial_id] > self.max_losses:
                trial.status, trial.message = TrialStatus.FAILED, f"worker lost {self._losses[trial.trial_id]} times"
                self.end_order.append(trial.trial_id)
            else:
                private.retry_queue(self).append(trial.trial_id)
            log.warning("worker %s silent for over %.0f s: trial %s %s", tuner_id, self.lease, trial.trial_id,
                        "failed" if trial.status == TrialStatus.FAILED else "goes to the next worker")
            private.save_trial(self, trial)
            lost.append(trial.trial_id)
        if lost:
            self.save()
        return lost


def make_oracle(cfg: DictConfig, lease: Optional[float] = None):
    """The oracle for `sweep.tuner`, with seqlab's leases (distributed chief) and pruning (`sweep.pruner`)."""
    sw = cfg.sweep
    base = ORACLES[sw.tuner]
    oracle_cls = type(f"Seqlab{base.__name__}", (pruning.PruningOracle, LeasedOracle, base), {})
    common: Dict[str, Any] = dict(
        objective=keras_tuner.Objective(objective_name(sw), objective_direction(sw)),
        seed=int(cfg.seed) + 1,  # Keras Tuner reads seed 0 as "no seed"
        max_retries_per_trial=0,  # a failed trial is recorded, not re-run; a lost one is retried (leases)
        max_consecutive_failed_trials=10 ** 9)  # the sweep reports all-failed itself, with every reason
    if sw.tuner == "hyperband":
        oracle = oracle_cls(max_epochs=int(sw.max_epochs or cfg.trainer.epochs), factor=3, **common)
        oracle.max_trials = int(sw.max_trials)  # a cap on top of the brackets
    elif sw.tuner == "tpe":
        oracle = oracle_cls(max_trials=int(sw.max_trials), **common,
                            objectives=list(zip(objective_names(sw), objective_directions(sw))))
    else:
        oracle = oracle_cls(max_trials=int(sw.max_trials), **common)
    oracle.setup_lease(lease)
    private.number_trials_by_id(oracle)  # Keras Tuner's banner says the trial id, as trials/<id>/ does
    oracle.setup_pruning(sw.pruner)
    return oracle


class SweepTuner(keras_tuner.Tuner):
    """Keras Tuner's Tuner with seqlab's trial: run dirs under `<sweep>/trials/<id>`, each trial in a forked child
    (`isolation: process`), Hyperband continuing the promoted trial's checkpoint, heartbeats to a chief."""

    def __init__(self, oracle, hypermodel: SeqlabHyperModel, sweep_dir: Path, isolation: str = "process",
                 heartbeat: Optional[float] = None, prepare_trial: Optional[Callable[[], None]] = None,
                 pruner: str = "none", **kwargs):
        self.sweep_dir = Path(sweep_dir)
        self.pruner = pruner
        self.isolation, self.heartbeat = isolation, heartbeat
        self.prepare_trial = prepare_trial  # runs in the trial's process first (e.g. TensorBoard writes)
        self._polls = 0
        super().__init__(oracle=oracle, hypermodel=hypermodel, directory=str(self.sweep_dir), project_name="tuner",
                         overwrite=False, **kwargs)

    # ------------------------------------------------------------------ layout
    def trial_dir(self, trial_id: str) -> Path:
        return self.sweep_dir / "trials" / str(trial_id)

    def run_dirs(self, trial_id: str) -> List[Path]:
        base = self.trial_dir(trial_id)
        n = self.executions_per_trial
        return [base] if n == 1 else [base / f"execution{k}" for k in range(n)]

    # ------------------------------------------------------------------ search loop hooks
    def pre_create_trial(self):
        if self._polls:  # the oracle had nothing to hand out (IDLE): ask again in a moment, not in a busy loop
            time.sleep(min(2.0, 0.25 * self._polls))
        self._polls += 1

    def on_trial_begin(self, trial):
        self._polls = 0
        super().on_trial_begin(trial)

    # ------------------------------------------------------------------ the trial
    def _warm_start(self, hp_values: Dict[str, Any], runs: List[Path]) -> bool:
        """Hyperband's promoted trial: start from the last checkpoint of the trial it continues."""
        prev = hp_values.get("tuner/trial_id")
        if prev is None:
            return False
        for run_dir, prev_dir in zip(runs, self.run_dirs(prev)):
            ckpts = CheckpointStore(prev_dir / "checkpoints").paths()
            if last_checkpoint_epoch(run_dir) or not ckpts:
                continue  # already going (a resumed sweep), or nothing to continue: trains from scratch
            src = ckpts[max(ckpts)]
            atomic_write(run_dir / "checkpoints" / src.name, lambda tmp, src=src: shutil.copy2(src, tmp))
            log.info("trial %s continues trial %s from %s", run_dir.name, prev, src.name)
        return True

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        runs = self.run_dirs(trial.trial_id)
        trial_dir = self.trial_dir(trial.trial_id)
        epochs = hp.values.get("tuner/epochs")
        resume = self._warm_start(hp.values, runs)
        checkpoint = private.checkpoint_path(self, trial.trial_id)

        def train() -> Tuple[List[Dict[str, List[float]]], Optional[int]]:
            # the tuner's callbacks run inside the trainer's callback list (fit and tape alike): best weights saved,
            # each epoch's objective reported to the oracle, which may answer "stop" (pruning)
            if self.prepare_trial is not None:
                self.prepare_trial()
            histories, pruned = [], None
            for k, run_dir in enumerate(runs):
                callbacks = private.tuner_callbacks(self, trial, checkpoint)
                pruner = pruning.PruneCallback(self.oracle, trial.trial_id, self.oracle.objective.name, self.pruner,
                                               trial_dir, execution=k)
                if self.pruner != "none":
                    callbacks.append(pruner)
                histories.append(self.hypermodel.fit(hp, None, callbacks=callbacks, run_dir=run_dir,
                                                     trial_dir=trial_dir, execution=k, epochs=epochs, resume=resume,
                                                     tuner_id=self.tuner_id).history)
                if pruner.pruned_at is not None:
                    # the trial is judged, for all its executions: those not yet run are not run (their compute
                    # is what pruning saves), and its objective is the mean over the executions that ran
                    pruned = pruner.pruned_at
                    reason = pruner.stop_reason()["pruned"]["reason"]
                    if len(runs) > 1:
                        reason += f" in execution {k + 1} of {len(runs)}" + (
                            f"; executions {k + 2}-{len(runs)} not run" if k + 2 < len(runs) else
                            f"; execution {len(runs)} not run" if k + 1 < len(runs) else "")
                    last = len(read_record(trial_dir)["attempts"]) - 1
                    add_attempt(trial_dir, {"status": "pruned", "reason": reason}, last)
                    break
            return histories, pruned

        histories, pruned = self._run_isolated(train, trial_dir, trial.trial_id)
        self._record_curve(trial.trial_id, histories, pruned)
        out = []
        for h in histories:
            history = keras.callbacks.History()
            history.history = h
            out.append(history)
        return out

    def _record_curve(self, trial_id: str, histories: List[Dict[str, List[float]]], pruned: Optional[int]) -> None:
        """Tell the oracle the trial's per-epoch objective (a forked trial reported to a copy of it) and whether
        it was pruned: the pruning rule compares later trials against it."""
        if self.pruner == "none":
            return
        for epoch, value in pruning.curve_values(histories, self.oracle.objective.name).items():
            self.oracle.update_trial(trial_id, {pruning.CURVE: value}, step=epoch)
        if pruned is not None:
            self.oracle.update_trial(trial_id, {pruning.PRUNED: float(pruned)}, step=pruned)

    def _run_isolated(self, train: Callable[[], Any], trial_dir: Path, trial_id: str) -> Any:
        if self.isolation != "process" or isolate.tensorflow_initialized():
            if self.isolation == "process":
                log.warning("TensorFlow already runs in this process: trials run in it (memory grows per trial)")
            keras.backend.clear_session()
            gc.collect()
            with self._heartbeat(trial_id):
                return train()
        try:
            return isolate.call(train, while_waiting=lambda: self._heartbeat(trial_id))
        except isolate.ChildFailed as e:
            if e.raised(keras_tuner.errors.FailedTrialError):
                raise keras_tuner.errors.FailedTrialError(e.message) from None
            raise keras_tuner.errors.FatalError(f"{e.message}\n{e.trace}") from None
        except isolate.ChildLost as e:
            close_running(trial_dir, "failed", str(e))
            raise keras_tuner.errors.FailedTrialError(str(e)) from None

    @contextmanager
    def _heartbeat(self, trial_id: str) -> Iterator[None]:
        """Distributed worker: tell the chief every few seconds that this trial is alive."""
        if not self.heartbeat:
            yield
            return
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat):
                try:
                    self.oracle.get_trial(trial_id)
                except Exception as e:  # the chief may be restarting: the lease decides
                    log.warning("heartbeat for trial %s failed: %s", trial_id, e)

        thread = threading.Thread(target=beat, name="seqlab-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)

    def load_model(self, trial):
        """The trial's trained model (execution 0), as the training path saved it."""
        return keras.saving.load_model(self.run_dirs(trial.trial_id)[0] / "model.keras")
