"""`sweep.tuner=tpe`: Optuna's TPE sampler behind a Keras Tuner oracle (one or several objectives).

The Optuna study lives in memory only and is rebuilt from Keras Tuner's own trial records (trial.json), which the
oracle already saves atomically: a sweep resumed after SIGKILL (or a restarted chief) rebuilds the same history of
finished trials, re-registers the trials still running, and reseeds the sampler with the number of finished trials,
so it continues the search without repeating a trial or its random stream. Pruned trials are told to Optuna with
the best value they reached (their last rung), as Optuna's TPE uses a pruned trial's last intermediate value.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import keras_tuner
from keras_tuner import synchronized
from keras_tuner.engine.trial import TrialStatus

log = logging.getLogger(__name__)
RUNNING = (TrialStatus.RUNNING, TrialStatus.IDLE)


def startup_trials(max_trials: int) -> int:
    """Random trials before TPE models the results: Optuna's 10, fewer for small budgets (a third of them, >= 3)."""
    return min(10, max(3, int(max_trials) // 3))


def distributions(hps) -> Dict[str, Any]:
    """Optuna distributions for Keras Tuner hyperparameters (Float, Int: uniform or log, optional step; Choice)."""
    import optuna.distributions as od

    out: Dict[str, Any] = {}
    for hp in hps.space:
        kind = type(hp).__name__
        if kind == "Choice":
            out[hp.name] = od.CategoricalDistribution(list(hp.values))
        elif kind in ("Int", "Float"):
            log_scale = hp.sampling == "log"
            if hp.sampling not in ("linear", "log"):
                raise ValueError(f"sweep.space.{hp.name}.sampling: tpe takes linear or log, got {hp.sampling!r}")
            step = None if log_scale else hp.step
            if kind == "Int":
                out[hp.name] = od.IntDistribution(int(hp.min_value), int(hp.max_value), log=log_scale,
                                                  step=int(step or 1))
            else:
                out[hp.name] = od.FloatDistribution(float(hp.min_value), float(hp.max_value), log=log_scale,
                                                    step=None if step is None else float(step))
        elif kind == "Fixed":
            continue
        else:
            raise ValueError(f"sweep.space.{hp.name}: tpe cannot search a {kind} hyperparameter")
    return out


class TPEOracle(keras_tuner.Oracle):
    """Keras Tuner oracle whose values come from an Optuna TPE study (multi-objective with `objectives`)."""

    def __init__(self, objective, max_trials: int, objectives: Sequence[Tuple[str, str]] = (), **kwargs):
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        # (name, direction) of every objective; the first is Keras Tuner's own (its score)
        self.objectives: List[Tuple[str, str]] = list(objectives) or [(objective.name, objective.direction)]
        self._study = None
        self._asked: Dict[str, int] = {}  # trial_id -> Optuna trial number

    # ------------------------------------------------------------------ the study, rebuilt from the trials
    def set_state(self, state):
        super().set_state(state)
        self._study = None  # resumed: rebuild from the trials just loaded

    def _values(self, trial) -> Optional[List[float]]:
        """The trial's objective values (None when one is missing or not finite)."""
        values = [trial.score] + [trial.metrics.get_best_value(name) if trial.metrics.exists(name) else None
                                  for name, _ in self.objectives[1:]]
        if any(v is None or not math.isfinite(float(v)) for v in values):
            return None
        return [float(v) for v in values]

    def study(self):
        if self._study is not None:
            return self._study
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        dists = distributions(self.hyperparameters)
        ended = [self.trials[t] for t in self.end_order if t in self.trials]
        sampler = optuna.samplers.TPESampler(seed=(self.seed or 0) + len(ended), multivariate=True,
                                             n_startup_trials=startup_trials(self.max_trials or 30))
        study = optuna.create_study(directions=["maximize" if d == "max" else "minimize" for _, d in self.objectives],
                                    sampler=sampler)
        for trial in ended:
            params = {k: v for k, v in trial.hyperparameters.values.items() if k in dists}
            values = self._values(trial) if trial.status == TrialStatus.COMPLETED else None
            state = optuna.trial.TrialState.COMPLETE if values else optuna.trial.TrialState.FAIL
            study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, values=values,
                                                      state=state))
        self._asked = {}
        for trial_id, trial in self.trials.items():  # still running (a resumed sweep continues them)
            if trial.status in RUNNING and trial_id not in self.end_order:
                study.enqueue_trial({k: v for k, v in trial.hyperparameters.values.items() if k in dists})
                self._asked[trial_id] = study.ask(dists).number
        log.info("tpe: Optuna study with %d finished and %d running trials", len(ended), len(self._asked))
        self._study = study
        return study

    # ------------------------------------------------------------------ Keras Tuner's hooks
    def populate_space(self, trial_id):
        dists = distributions(self.hyperparameters)
        if not dists:
            return {"status": TrialStatus.STOPPED, "values": None}
        asked = self.study().ask(dists)
        self._asked[trial_id] = asked.number
        values = {hp.name: hp.default for hp in self.hyperparameters.space if hp.name not in dists}
        values.update(asked.params)
        return {"status": TrialStatus.RUNNING, "values": values}

    @synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        ended = self.trials[trial.trial_id]
        number = self._asked.pop(trial.trial_id, None)
        if number is None or self._study is None:
            self._study = None  # not asked in this process's study: rebuild with it on next use
            return
        import optuna

        values = self._values(ended) if ended.status == TrialStatus.COMPLETED else None
        if values:
            self._study.tell(number, values)
        else:
            self._study.tell(number, state=optuna.trial.TrialState.FAIL)
