"""TPE, pruning and several objectives, in-process and fast: the rules on known numbers, the oracles' state."""

import json
import math

import pytest

from seqlab.config import ConfigError, compose, sweep_space, validate
from seqlab.tune import pareto, results
from seqlab.tune.pruning import CURVE, EPOCH, PRUNED, should_prune

TINY_RUN = ["dataset.length=400", "dataset.input_len=8", "dataset.horizon=2", "model.units=4", "trainer.verbose=0",
            "trainer.tensorboard.enabled=false"]


# --------------------------------------------------------------------------- config
@pytest.mark.parametrize("overrides, fragments", [
    (["sweep.pruner=sometimes"], ["sweep.pruner", "sometimes", "median", "asha", "none"]),
    (["sweep.tuner=optuna"], ["sweep.tuner", "optuna", "tpe"]),
    (["sweep.tuner=tpe", "++sweep.space.trainer.lr.sampling=reverse_log"], ["sweep.space.trainer.lr.sampling",
                                                                           "reverse_log", "tpe"]),
    (["sweep.objective=[params,val_loss]"], ["sweep.objective", "params", "logged metric first"]),
    (["sweep.objective=[val_loss,val_loss]"], ["sweep.objective", "distinct"]),
    (["sweep.objective=[val_loss,params]", "sweep.tuner=hyperband"], ["sweep.tuner", "hyperband"]),
])
def test_bad_search_settings_are_refused_before_tensorflow(overrides, fragments):
    cfg = compose(["sweep=lr", *overrides])
    with pytest.raises(ConfigError) as e:
        validate(cfg)
        sweep_space(cfg)
    for fragment in fragments:
        assert fragment in str(e.value)


def test_several_objectives_compose_with_their_directions():
    from seqlab.config import objective_directions, objective_names

    cfg = compose(["sweep=lr", "sweep.tuner=tpe", "sweep.pruner=asha", "sweep.objective=[val_loss,params,latency]"])
    validate(cfg)
    assert objective_names(cfg.sweep) == ["val_loss", "params", "latency"]
    assert objective_directions(cfg.sweep) == ["min", "min", "min"]


# --------------------------------------------------------------------------- the pruning rule
CURVES = {"a": {0: 1.0, 1: 0.50, 2: 0.40}, "b": {0: 1.0, 1: 0.60, 2: 0.45}, "c": {0: 1.0, 1: 0.55, 2: 0.42}}


def test_median_rule_stops_a_trial_worse_than_the_median_at_the_same_epoch():
    curves = {**CURVES, "bad": {0: 1.0, 1: 0.9}, "good": {0: 1.0, 1: 0.52}}
    assert should_prune("median", "min", curves, "bad", 1)
    assert not should_prune("median", "min", curves, "good", 1)
    assert not should_prune("median", "min", {**curves, "bad": {0: 5.0}}, "bad", 0)  # the first epoch: warm-up
    assert not should_prune("median", "min", {"a": CURVES["a"], "bad": {0: 1, 1: 0.9}}, "bad", 1)  # too few others
    assert not should_prune("none", "min", curves, "bad", 1)
    rising = {t: {e: -v for e, v in c.items()} for t, c in curves.items()}  # accuracies: higher is better
    assert should_prune("median", "max", rising, "bad", 1) and not should_prune("median", "max", rising, "good", 1)
    # its best so far counts: a trial that was good and had one bad epoch goes on
    assert not should_prune("median", "min", {**CURVES, "x": {0: 1.0, 1: 0.4, 2: 0.9}}, "x", 2)


def test_asha_rule_keeps_the_best_third_at_rungs_one_three_nine():
    curves = {"a": {0: 0.5}, "b": {0: 0.6}, "c": {0: 0.7}, "d": {0: 0.8}, "e": {0: 0.9}, "f": {0: 1.0}}
    assert [should_prune("asha", "min", curves, t, 0) for t in "abcdef"] == [False, False, True, True, True, True]
    mid = {t: {0: v[0], 1: v[0]} for t, v in curves.items()}
    assert not should_prune("asha", "min", mid, "f", 1)  # epoch 2 is no rung
    assert not should_prune("asha", "min", {"a": {0: 0.5}, "f": {0: 1.0}}, "f", 0)  # too few to rank


# --------------------------------------------------------------------------- the oracles
def _hp():
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.Float("trainer.lr", 1e-4, 1e-2, sampling="log")
    hp.Int("model.units", 8, 32, step=8)
    hp.Choice("trainer.batch_size", [16, 32])
    return hp


def _oracle(tmp_path, overrides, reload=False):
    from seqlab.tune.tuner import make_oracle

    oracle = make_oracle(compose(["sweep=lr", *overrides]))
    oracle._set_project_dir(str(tmp_path), "tuner")  # what Tuner.__init__ does
    oracle.update_space(_hp())
    if reload:
        oracle.reload()
    return oracle


def _finish(oracle, trial, value):
    from keras_tuner.engine.trial import TrialStatus

    oracle.update_trial(trial.trial_id, {"val_loss": value, "params": 100.0 * value})
    trial.status = TrialStatus.COMPLETED
    oracle.end_trial(trial)


def test_tpe_maps_the_space_to_optuna_distributions():
    import optuna.distributions as od

    from seqlab.tune.tpe import distributions

    d = distributions(_hp())
    assert d["trainer.lr"] == od.FloatDistribution(1e-4, 1e-2, log=True)
    assert d["model.units"] == od.IntDistribution(8, 32, step=8)
    assert d["trainer.batch_size"] == od.CategoricalDistribution([16, 32])


def test_tpe_oracle_resumes_from_its_saved_trials_without_repeating_one(tmp_path):
    from keras_tuner.engine.trial import TrialStatus

    oracle = _oracle(tmp_path, ["sweep.tuner=tpe", "sweep.max_trials=6"])
    seen = []
    for k in range(3):
        trial = oracle.create_trial("tuner0")
        seen.append(dict(trial.hyperparameters.values))
        _finish(oracle, trial, 1.0 / (k + 1))
    running = oracle.create_trial("tuner0")  # then the process is killed mid-trial
    assert len(oracle.study().trials) == 4
    # a fresh process: the oracle reloads oracle.json and the trial.json files, the study is rebuilt from them
    resumed = _oracle(tmp_path, ["sweep.tuner=tpe", "sweep.max_trials=6"], reload=True)
    study = resumed.study()
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3 + ["RUNNING"]
    assert sorted(t.values[0] for t in study.trials[:3]) == pytest.approx([1 / 3, 1 / 2, 1.0])
    again = resumed.create_trial("tuner0")  # Keras Tuner hands the killed trial back to the same tuner first
    assert again.trial_id == running.trial_id
    _finish(resumed, again, 0.2)
    new = resumed.create_trial("tuner0")
    assert new.status == TrialStatus.RUNNING and new.trial_id not in {running.trial_id} | set(resumed.end_order)
    assert dict(new.hyperparameters.values) not in seen + [dict(running.hyperparameters.values)]
    assert [t.state.name for t in resumed.study().trials][-1] == "RUNNING"
    assert resumed.study().trials[3].state.name == "COMPLETE"  # the continued trial was told


def test_tpe_with_two_objectives_tells_optuna_both(tmp_path):
    oracle = _oracle(tmp_path, ["sweep.tuner=tpe", "sweep.objective=[val_loss,params]"])
    trial = oracle.create_trial("tuner0")
    _finish(oracle, trial, 0.5)
    (done,) = oracle.study().trials
    assert done.values == pytest.approx([0.5, 50.0])
    assert [d.name for d in oracle.study().directions] == ["MINIMIZE", "MINIMIZE"]


@pytest.mark.parametrize("tuner", ["random", "tpe"])
def test_pruning_oracle_answers_stop_and_keeps_the_curves_in_its_state(tmp_path, tuner):
    from keras_tuner.engine.trial import TrialStatus

    oracle = _oracle(tmp_path, [f"sweep.tuner={tuner}", "sweep.pruner=median"])
    for tid, curve in CURVES.items():
        for epoch, value in curve.items():
            oracle.update_trial(oracle.create_trial(tid).trial_id if epoch == 0 else oracle.ongoing_trials[tid]
                                .trial_id, {CURVE: value}, step=epoch)
    bad = oracle.create_trial("bad")
    assert oracle.update_trial(bad.trial_id, {EPOCH: 1.0}, step=0).status == TrialStatus.RUNNING
    assert oracle.update_trial(bad.trial_id, {EPOCH: 0.9}, step=1).status == TrialStatus.STOPPED
    assert not oracle.trials[bad.trial_id].metrics.exists("val_loss")  # Keras Tuner still records the final metrics
    oracle.update_trial(bad.trial_id, {PRUNED: 1.0}, step=1)
    state = json.loads(json.dumps(oracle.get_state()))  # oracle.json
    again = _oracle(tmp_path / "other", [f"sweep.tuner={tuner}", "sweep.pruner=median"])
    again.set_state({**again.get_state(), "seqlab_curves": state["seqlab_curves"],
                     "seqlab_pruned": state["seqlab_pruned"]})
    assert again.pruned == {bad.trial_id: 1} and again.curves[bad.trial_id] == {0: 1.0, 1: 0.9}


# --------------------------------------------------------------------------- several objectives
def test_pareto_front_of_known_points():
    points = [(1.0, 10.0), (2.0, 5.0), (3.0, 1.0), (2.5, 6.0), (1.0, 12.0), None, (3.0, 1.0)]
    assert pareto.front(points, ["min", "min"]) == [True, True, True, False, False, False, True]
    assert pareto.front([(0.9, 10.0), (0.8, 5.0)], ["max", "min"]) == [True, True]
    assert pareto.front([(0.9, 10.0), (0.95, 5.0)], ["max", "min"]) == [False, True]


def test_front_in_the_table_csv_picture_and_best_yaml(tmp_path):
    rows = [{"trial_id": str(i), "trainer.lr": lr, "val_loss": v, "params": p, "status": s, "epochs": 2,
             "seconds": 1.0, "reason": "", "attempts": 1, "run_dir": f"trials/{i}", "_values": {"trainer.lr": lr}}
            for i, (lr, v, p, s) in enumerate([(0.1, 0.5, 900.0, "completed"), (0.01, 0.4, 2000.0, "completed"),
                                               (0.02, 0.6, 300.0, "completed"), (0.03, 0.7, 950.0, "completed"),
                                               (0.04, 0.45, 100.0, "pruned")])]
    pareto.mark_front(rows, ["val_loss", "params"], ["min", "min"])
    assert [r["pareto"] for r in rows] == [True, True, True, False, False]  # a pruned trial never competes
    pareto.plot(tmp_path / "pareto.png", rows, ["val_loss", "params"], ["min", "min"])
    assert (tmp_path / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results.write_csv(tmp_path / "trials.csv", rows, ["trainer.lr"], "val_loss", ["params"])
    header = (tmp_path / "trials.csv").read_text().splitlines()[0]
    assert header.startswith("trial_id,trainer.lr,val_loss,params,pareto,status")
    summary = results.Summary(sweep_dir=tmp_path, name="lr", tuner="tpe", objective="val_loss", direction="min",
                              keys=["trainer.lr"], rows=rows, measured=["params"])
    table = summary.table()
    assert "pareto" in table.splitlines()[2] and "1 pruned" in table
    best = results.best_trial(rows, "val_loss", "min", [])
    assert best["trial_id"] == "1" and best["pareto_front"] == ["0", "1", "2"]  # the front's lowest val_loss
    results.write_best(tmp_path / "best.yaml", best, "val_loss", "min", "lr")
    import yaml

    doc = yaml.safe_load((tmp_path / "best.yaml").read_text())
    assert doc["pareto_front"]["trials"] == ["0", "1", "2"] and "lowest val_loss" in doc["pareto_front"]["chosen"]


# --------------------------------------------------------------------------- pruning in the training path
class StopAfter:
    """An oracle stand-in that answers STOPPED to the report of epoch `epoch` (0-based)."""

    def __init__(self, epoch):
        self.epoch, self.reports = epoch, []

    def update_trial(self, trial_id, metrics, step=0):
        self.reports.append((step, metrics[EPOCH]))
        return "STOPPED" if step == self.epoch else "RUNNING"


@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_a_pruned_run_stops_at_that_epoch_in_both_trainers_and_says_so(tmp_path, trainer):
    from seqlab.train import run
    from seqlab.tune.pruning import PruneCallback

    oracle = StopAfter(1)
    cb = PruneCallback(oracle, "0", "val_loss", "median")
    result = run(compose([f"trainer={trainer}", "trainer.epochs=4", *TINY_RUN]), tmp_path, extra_callbacks=[cb])
    assert [s for s, _ in oracle.reports] == [0, 1]
    assert result.metrics["epochs"] == 2 and result.metrics["status"] == "completed"
    assert result.metrics["pruned"]["epoch"] == 2 and result.metrics["pruned"]["rule"] == "median"
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["pruned"]["reason"] == "pruned after epoch 2 (median rule)"
    assert all(math.isfinite(v) for _, v in oracle.reports)
    from seqlab.report import _row

    assert _row(tmp_path, tmp_path)["status"] == "pruned"  # `seqlab report`


def test_default_sweep_directories_take_suffixes_like_run_directories():
    from omegaconf import OmegaConf

    from seqlab.config import conf_dir

    hydra_cfg = OmegaConf.load(f"{conf_dir()}/config.yaml").hydra
    assert OmegaConf.to_container(hydra_cfg.sweep)["dir"].startswith("${seqlab_unique:sweeps/")


class Killed(BaseException):
    """SIGKILL's stand-in: nothing after it runs (no checkpoint of the epoch, no metrics.json)."""


def kill_once_stopped():
    """A callback that kills the run right after one before it decided to stop: between the decision and the end."""
    import keras

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if self.model.stop_training:
                raise Killed

    return Kill()


def test_a_pruned_run_killed_before_its_end_resumes_pruned_at_the_same_epoch(tmp_path):
    from seqlab.train import run
    from seqlab.train.checkpoint import CheckpointStore
    from seqlab.tune.hypermodel import read_record
    from seqlab.tune.pruning import PruneCallback

    cfg = compose(["trainer.epochs=4", *TINY_RUN])
    with pytest.raises(Killed):
        run(cfg, tmp_path, extra_callbacks=[PruneCallback(StopAfter(1), "0", "val_loss", "median", tmp_path),
                                            kill_once_stopped()])
    assert read_record(tmp_path)["pruned"] == {"execution": 0, "epoch": 2, "rule": "median",
                                               "reason": "pruned after epoch 2 (median rule)"}
    # what the restart finds: epoch 1's checkpoint, not marked stopped, and no metrics.json
    assert max(CheckpointStore(tmp_path / "checkpoints").paths()) == 1 and not (tmp_path / "metrics.json").exists()

    never = StopAfter(None)  # an oracle that would let it run to epoch 4
    assert PruneCallback(never, "0", "val_loss", "median", tmp_path, execution=1).pruned_at is None  # another one
    result = run(cfg, tmp_path, extra_callbacks=[PruneCallback(never, "0", "val_loss", "median", tmp_path)])
    assert never.reports == []  # decided already: not asked again
    assert result.metrics["epochs"] == 2 and result.metrics["pruned"]["epoch"] == 2
    assert len(result.history["val_loss"]) == 2


def test_the_oracle_keeps_a_pruned_trial_pruned(tmp_path):
    """A trial continued after its worker was lost reports its epochs again: the chief says stop at the same one."""
    from keras_tuner.engine.trial import TrialStatus

    oracle = _oracle(tmp_path, ["sweep.tuner=random", "sweep.pruner=median"])
    for tid, curve in CURVES.items():
        for epoch, value in curve.items():
            oracle.update_trial(oracle.create_trial(tid).trial_id if epoch == 0 else oracle.ongoing_trials[tid]
                                .trial_id, {CURVE: value}, step=epoch)
    bad = oracle.create_trial("bad").trial_id
    answers = [oracle.update_trial(bad, {EPOCH: v}, step=e).status for e, v in [(0, 1.0), (1, 0.9), (0, 1.0),
                                                                               (1, 0.3)]]
    assert answers == [TrialStatus.RUNNING, TrialStatus.STOPPED, TrialStatus.RUNNING, TrialStatus.STOPPED]
