"""Sweep config and its parts, in-process and fast: space validation, Keras Tuner translation, results, leases."""

import json
import os
import signal
import time

import pandas as pd
import pytest

from seqlab.config import ConfigError, compose, options, sweep_space, validate
from seqlab.tune import results
from seqlab.tune.space import format_value, trial_config, trial_overrides

SWEEPS = [s for s in options("sweep") if s != "none"]


def test_the_four_presets_exist_and_cover_every_tuner():
    assert set(SWEEPS) >= {"lr", "batch_size", "capacity", "full"}
    tuners = {compose([f"sweep={s}"]).sweep.tuner for s in SWEEPS}
    assert tuners == {"random", "hyperband", "grid"}  # hyperband: the default (docs/SWEEPS.md says why)


@pytest.mark.parametrize("model", ["lstm", "conv1d"])
@pytest.mark.parametrize("sweep", SWEEPS)
def test_every_sweep_composes_validates_and_fits_the_model_family(sweep, model):
    cfg = compose([f"sweep={sweep}", f"model={model}", "sweep.max_trials=3"])
    validate(cfg)
    assert cfg.sweep.max_trials == 3  # budgets override on the command line
    space, skipped = sweep_space(cfg)
    assert space and all(k.count(".") >= 1 for k in space)
    if sweep in ("capacity", "full"):
        own, other = ("model.units", "model.filters") if model == "lstm" else ("model.filters", "model.units")
        assert own in space and other not in space and skipped == [other]
        assert space["model.layers"] == {"type": "int", "min": 1, "max": 3, "sampling": "linear"}
    if sweep in ("lr", "full"):
        assert space["trainer.lr"] == {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log"}


def test_command_line_edits_of_the_space_merge_into_entries():
    cfg = compose(["sweep=lr", "+sweep.space.trainer.lr.max=0.05",
                   "++sweep.space={trainer.batch_size: [8, 16], model.layers: {type: int, min: 1, max: 2}}"])
    space, _ = sweep_space(cfg)
    assert space["trainer.lr"]["max"] == 0.05 and space["trainer.lr"]["sampling"] == "log"
    assert space["trainer.batch_size"] == {"type": "choice", "values": [8, 16]}
    assert space["model.layers"]["max"] == 2


@pytest.mark.parametrize("overrides, fragments", [
    (["++sweep.space={model.unit: {type: int, min: 1, max: 4}}"],
     ["sweep.space.model.unit", "no such key", "model.units"]),
    (["++sweep.space={trainer.lrr: {type: float, min: 0.1, max: 1}}"], ["sweep.space.trainer.lrr", "trainer.lr"]),
    (["+sweep.space.trainer.lr.type=flaot"], ["sweep.space.trainer.lr.type", "flaot", "float, int, choice"]),
    (["+sweep.space.trainer.lr.min=0.1"], ["sweep.space.trainer.lr.max", "> min (0.1)"]),
    (["+sweep.space.trainer.lr.min=0"], ["sweep.space.trainer.lr.min", "sampling: log"]),
    (["+sweep.space.trainer.lr.min=abc"], ["sweep.space.trainer.lr.min", "finite number", "abc"]),
    (["+sweep.space.trainer.lr.sampling=cubic"], ["sweep.space.trainer.lr.sampling", "cubic", "reverse_log"]),
    (["+sweep.space.trainer.lr.values=[1]"], ["sweep.space.trainer.lr", "only the fields", "values"]),
    (["++sweep.space={model.units: {type: float, min: 8, max: 16}}"], ["sweep.space.model.units", "type: int"]),
    (["++sweep.space={trainer.batch_size: [0, 32]}"], ["sweep.space.trainer.batch_size", "0", "> 0"]),
    (["++sweep.space={regularizer.dropout: {type: float, min: 0.0, max: 1.5}}"],
     ["sweep.space.regularizer.dropout", "1.5", "[0, 1)"]),
    (["++sweep.space={trainer.optimizer: [adam, lion]}"], ["sweep.space.trainer.optimizer", "lion", "adamw"]),
    (["++sweep.space={trainer.batch_size: []}"], ["sweep.space.trainer.batch_size.values", "non-empty"]),
    (["sweep=full", "++sweep.space={trainer.epochs: [1, 2]}"], ["sweep.space.trainer.epochs", "hyperband"]),
    (["sweep.objective=val_foo"], ["sweep.direction", "val_foo", "min, max"]),
    (["sweep.tuner=annealing"], ["sweep.tuner", "annealing", "hyperband"]),
    (["sweep.distributed.role=boss"], ["sweep.distributed.role", "boss", "worker"]),
    (["sweep.isolation=thread"], ["sweep.isolation", "thread", "process"]),
])
def test_bad_sweep_config_raises_config_error_naming_the_key(overrides, fragments):
    base = ["sweep=lr"] if not any(o.startswith("sweep=") for o in overrides) else []
    cfg = compose(base + overrides)
    with pytest.raises(ConfigError) as e:
        validate(cfg)
    for fragment in fragments:
        assert fragment in str(e.value), (fragment, str(e.value))


def test_only_other_family_keys_is_an_error():
    cfg = compose(["sweep=capacity", "model=lstm"])
    cfg.sweep.space = {"model.filters": {"type": "int", "min": 8, "max": 16}}
    with pytest.raises(ConfigError, match=r"sweep.space: .*at least one key.*model.filters"):
        validate(cfg)


def test_direction_is_inferred_or_taken():
    from seqlab.config import objective_direction

    assert objective_direction(compose(["sweep=lr"]).sweep) == "min"
    assert objective_direction(compose(["sweep=lr", "sweep.objective=val_accuracy"]).sweep) == "max"
    assert objective_direction(compose(["sweep=lr", "sweep.objective=val_foo", "sweep.direction=max"]).sweep) == "max"


def test_space_becomes_keras_tuner_hyperparameters():
    import keras_tuner

    from seqlab.tune.space import declare

    cfg = compose(["sweep=full", "model=gru", "++sweep.space={trainer.lr_schedule: [constant, cosine], "
                   "regularizer.dropout: [0, 0.25]}"])
    space, _ = sweep_space(cfg)
    hp = keras_tuner.HyperParameters()
    declare(hp, space, cfg)
    by_name = {p.name: p for p in hp.space}
    assert list(by_name) == list(space)  # every key declared up front, named by its config key
    lr = by_name["trainer.lr"]
    assert isinstance(lr, keras_tuner.engine.hyperparameters.Float) and lr.sampling == "log"
    assert (lr.min_value, lr.max_value) == (1e-4, 1e-2) and lr.default == cfg.trainer.lr  # the base config
    units = by_name["model.units"]
    assert (units.min_value, units.max_value, units.step, units.default) == (16, 128, 16, 32)
    assert list(by_name["trainer.batch_size"].values) == [16, 32, 64, 128]
    assert by_name["trainer.batch_size"].default == 64
    assert list(by_name["regularizer.dropout"].values) == [0.0, 0.25]  # one type per Choice
    assert list(by_name["trainer.lr_schedule"].values) == ["constant", "cosine"]


def test_trial_config_writes_values_and_overrides_reproduce_them():
    cfg = compose(["sweep=full", "model=gru", "trainer.lr=0.5", "trainer.epochs=7"])
    values = {"trainer.lr": 0.00123456789, "trainer.batch_size": 32, "model.units": 48, "tuner/epochs": 3,
              "tuner/bracket": 1}
    trial = trial_config(cfg, values, seed=5, epochs=3)
    validate(trial)
    assert (trial.trainer.lr, trial.trainer.batch_size, trial.model.units) == (0.00123456789, 32, 48)
    assert (trial.seed, trial.trainer.epochs, trial.sweep.name) == (5, 3, "none")
    base = ["model=gru", "sweep=full", "sweep.max_trials=4", "trainer.lr=0.5", "trainer.epochs=7", "resume=true",
            "+sweep.space.trainer.lr.max=0.1"]
    ovr = trial_overrides(base, values, epochs=3)
    assert ovr == ["~family", "model=gru", "trainer.lr=0.00123456789", "trainer.batch_size=32", "model.units=48",
                   "trainer.epochs=3"]  # ~family: a single run would take the dataset family's budget (patience)
    again = compose(ovr)
    for key in ("trainer.lr", "trainer.batch_size", "model.units", "trainer.epochs", "model.name", "trainer.patience"):
        assert again[key.split(".")[0]][key.split(".")[1]] == trial[key.split(".")[0]][key.split(".")[1]]


@pytest.mark.parametrize("value, text", [(True, "true"), (None, "null"), (1e-05, "1e-05"), (3, "3"),
                                         ("cosine", "cosine"), ("a b", "'a b'"), ("true", "'true'"),
                                         ([1, 2], "[1,2]")])
def test_values_are_written_in_hydra_grammar(value, text):
    assert format_value(value) == text


# --------------------------------------------------------------------------- results
def _fake_sweep(tmp_path, trials):
    """Keras Tuner trial.json files and seqlab attempt records as a finished sweep leaves them."""
    for tid, lr, status, score, attempts in trials:
        d = tmp_path / "tuner" / f"trial_{tid}"
        d.mkdir(parents=True)
        d.joinpath("trial.json").write_text(json.dumps({
            "trial_id": tid, "hyperparameters": {"space": [], "values": {"trainer.lr": lr}}, "score": score,
            "best_step": 1, "status": status, "message": "Traceback...\nValueError: boom" if status != "COMPLETED"
            else None, "metrics": {}}))
        r = tmp_path / "trials" / tid
        r.mkdir(parents=True)
        r.joinpath("sweep_trial.json").write_text(json.dumps({"attempts": attempts}))


def test_results_table_csv_and_best_yaml(tmp_path):
    import csv

    import yaml

    ok = [{"status": "completed", "epochs": 2, "seconds": 1.5}]
    _fake_sweep(tmp_path, [
        ("0", 0.001, "COMPLETED", 0.5, ok),
        ("1", 0.01, "COMPLETED", 0.25, [{"status": "running", "seconds": None},
                                         {"status": "completed", "epochs": 2, "seconds": 2.0}]),
        ("2", 10.0, "FAILED", None, [{"status": "failed", "reason": "diverged: loss inf", "epochs": 0,
                                      "seconds": 0.5}]),
        ("3", 0.002, "RUNNING", None, [{"status": "interrupted", "epochs": 1, "seconds": 1.0}]),
    ])
    rows = results.collect(tmp_path, ["trainer.lr"], "val_loss")
    summary = results.Summary(sweep_dir=tmp_path, name="lr", tuner="random", objective="val_loss", direction="min",
                              keys=["trainer.lr"], rows=rows)
    results.write_csv(tmp_path / "trials.csv", rows, ["trainer.lr"], "val_loss")
    with open(tmp_path / "trials.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["trial_id"] for r in table] == ["0", "1", "2", "3"]
    assert list(table[0])[:4] == ["trial_id", "trainer.lr", "val_loss", "status"]
    assert [r["status"] for r in table] == ["completed", "completed", "failed", "interrupted"]
    assert table[1]["attempts"] == "2" and float(table[1]["seconds"]) == 2.0
    assert table[2]["reason"] == "diverged: loss inf" and table[2]["val_loss"] == ""

    best = results.best_trial(rows, "val_loss", "min", ["model=gru", "sweep=lr", "sweep.max_trials=4"])
    assert best["trial_id"] == "1" and best["overrides"] == ["~family", "model=gru", "trainer.lr=0.01"]
    results.write_best(tmp_path / "best.yaml", best, "val_loss", "min", "lr")
    doc = yaml.safe_load((tmp_path / "best.yaml").read_text())
    assert doc["objective"] == {"name": "val_loss", "direction": "min", "value": 0.25}
    assert doc["command"] == "python -m seqlab '~family' model=gru trainer.lr=0.01"

    text = summary.table()
    lines = [ln.split()[0] for ln in text.splitlines()[3:7]]
    assert lines == ["1", "0", "2", "3"]  # sorted by objective, then the rest
    assert "2 completed, 1 failed" in text and "diverged: loss inf" in text
    assert not summary.all_failed
    assert results.best_trial(rows, "val_loss", "max", [])["trial_id"] == "0"


def test_all_failed_gives_reasons(tmp_path):
    _fake_sweep(tmp_path, [("0", 1.0, "FAILED", None, [{"status": "failed", "reason": "diverged: a"}]),
                           ("1", 2.0, "INVALID", None, [])])
    rows = results.collect(tmp_path, ["trainer.lr"], "val_loss")
    summary = results.Summary(sweep_dir=tmp_path, name="lr", tuner="grid", objective="val_loss", direction="min",
                              keys=["trainer.lr"], rows=rows)
    assert summary.all_failed
    assert summary.reasons() == ["trial 0: diverged: a", "trial 1: ValueError: boom"]
    assert results.best_trial(rows, "val_loss", "min", []) is None


# --------------------------------------------------------------------------- isolation and leases
def test_isolated_call_returns_raises_and_notices_a_killed_child():
    from seqlab.tune import isolate

    assert isolate.call(lambda: {"pid": os.getpid()})["pid"] != os.getpid()

    def boom():
        raise ValueError("bad trial")

    with pytest.raises(isolate.ChildFailed) as e:
        isolate.call(boom)
    assert e.value.kind == "ValueError" and e.value.message == "bad trial" and "boom" in e.value.trace
    assert e.value.raised(ValueError) and e.value.raised(Exception) and not e.value.raised(KeyError)
    with pytest.raises(isolate.ChildLost, match="SIGKILL"):
        isolate.call(lambda: os.kill(os.getpid(), signal.SIGKILL))


def test_lease_hands_a_silent_workers_trial_to_another_worker(tmp_path):
    import keras_tuner
    from keras_tuner.engine.trial import TrialStatus

    from seqlab.tune.tuner import make_oracle

    cfg = compose(["sweep=lr", "sweep.max_trials=2"])
    oracle = make_oracle(cfg, lease=0.5)
    oracle._set_project_dir(str(tmp_path), "tuner")
    hp = keras_tuner.HyperParameters()
    hp.Float("trainer.lr", 1e-4, 1e-2, sampling="log")
    oracle.update_space(hp)
    a, b = oracle.create_trial("a"), oracle.create_trial("b")
    assert a.status == b.status == TrialStatus.RUNNING and a.trial_id != b.trial_id
    assert oracle.create_trial("c").status == TrialStatus.IDLE  # all handed out, but others still run
    for _ in range(8):  # b keeps beating, a is silent
        time.sleep(0.1)
        oracle.get_trial(b.trial_id)
    assert oracle.reap() == [a.trial_id]
    retried = oracle.create_trial("c")
    assert retried.trial_id == a.trial_id and retried.status == TrialStatus.RUNNING
    for trial in (b, retried):
        oracle.update_trial(trial.trial_id, {"val_loss": 0.5, "loss": 0.4})
        trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
    assert oracle.create_trial("b").status == TrialStatus.STOPPED
    assert sorted(oracle.end_order) == sorted([a.trial_id, b.trial_id])  # each trial ended once


# --------------------------------------------------------------------------- in-process sweeps (isolation none)
SWEEP_RUN = ["model.units=4", "trainer.epochs=1", "trainer.verbose=0", "trainer.tensorboard.enabled=false",
             "sweep.isolation=none"]


@pytest.mark.slow
def test_a_trial_that_the_model_refuses_fails_and_the_sweep_goes_on(tmp_path, monkeypatch):
    """A combination that validate passes but the model builder refuses (a ConfigError in the run's prepare stage,
    like data too short for its input_len) fails that trial; the sweep completes the others."""
    from seqlab import models
    from seqlab.config import config_error
    from seqlab.tune.sweep import run_sweep

    build = models.build

    def picky(model_cfg, reg_cfg, spec):
        if model_cfg.units == 5:
            raise config_error("model.units", "an even number", 5)
        return build(model_cfg, reg_cfg, spec)

    monkeypatch.setattr(models, "build", picky)
    cfg = compose(["dataset.length=400", "dataset.input_len=8", "dataset.horizon=2"] + SWEEP_RUN + [
        "sweep=lr", "sweep.tuner=grid", "sweep.max_trials=2", "++sweep.space={model.units: [4, 5]}"])
    summary = run_sweep(cfg, tmp_path / "sweep", overrides=[])
    by_units = {r["model.units"]: r for r in summary.rows}
    assert by_units[4]["status"] == "completed" and by_units[5]["status"] == "failed", summary.rows
    assert "invalid combination" in by_units[5]["reason"] and "model.units" in by_units[5]["reason"]
    failed = json.loads((tmp_path / "sweep" / by_units[5]["run_dir"] / "metrics.json").read_text())
    assert failed["status"] == "failed" and failed["error"]["stage"] == "prepare"
    record = json.loads((tmp_path / "sweep" / by_units[4]["run_dir"] / results.RECORD).read_text())
    assert record["attempts"][0]["pid"] == os.getpid()  # isolation none: the trial ran in this process
    assert summary.best["trial_id"] == by_units[4]["trial_id"]


def test_resume_false_refuses_a_directory_that_holds_a_sweep(tmp_path):
    from seqlab.tune.sweep import _write_state, locate

    cfg = compose(["sweep=lr"])
    _write_state(tmp_path, cfg, "interrupted")
    assert locate(cfg, tmp_path, None) == tmp_path
    with pytest.raises(ConfigError, match=r"sweep\.resume: expected true"):
        locate(compose(["sweep=lr", "sweep.resume=false"]), tmp_path, None)


def test_a_second_sweep_into_a_running_sweeps_folder_is_refused(tmp_path):
    from seqlab.tune.sweep import LOCK, _write_state, hold

    _write_state(tmp_path, compose(["sweep=lr"]), "running")
    first = hold(tmp_path)
    with pytest.raises(ConfigError) as e:
        hold(tmp_path)  # flock locks per open file: a second open in this process conflicts as another process would
    msg = str(e.value)
    assert msg.startswith("hydra.sweep.dir: expected a folder no other sweep is running in")
    assert str(tmp_path) in msg and f"pid {os.getpid()}" in msg
    first.close()  # the sweep ended (or its process died): the folder is free again
    hold(tmp_path).close()
    assert (tmp_path / LOCK).exists()


def test_keras_tuner_state_is_written_atomically(tmp_path, monkeypatch):
    """oracle.json / trial.json go through keras_tuner's save_json, which seqlab makes atomic: a write interrupted
    half-way leaves the previous file whole and no temp file behind."""
    from pathlib import Path

    import keras_tuner
    from keras_tuner.engine.trial import Trial

    import seqlab.tune.tuner  # noqa: F401  (installs the atomic writer)

    path = tmp_path / "trial_0" / "trial.json"
    hp = keras_tuner.HyperParameters()
    hp.Fixed("units", 8)
    Trial(hp, trial_id="0").save(str(path))
    before = path.read_text()
    assert json.loads(before)["trial_id"] == "0"
    real = Path.write_text

    def half_then_interrupt(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise KeyboardInterrupt  # SIGINT mid-write

    monkeypatch.setattr(Path, "write_text", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        Trial(hp, trial_id="0", status="COMPLETED").save(str(path))
    monkeypatch.undo()
    assert path.read_text() == before and sorted(p.name for p in path.parent.iterdir()) == ["trial.json"]


def test_kerastuner_variables_decide_the_role(monkeypatch):
    from seqlab.tune import distributed

    dcfg = compose(["sweep=lr"]).sweep.distributed
    for k in distributed.ENV:
        monkeypatch.delenv(k, raising=False)
    assert distributed.configure(dcfg) is None  # no variables: one process
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    with pytest.raises(ConfigError, match=r"KERASTUNER_TUNER_ID.*KERASTUNER_ORACLE_PORT"):
        distributed.configure(dcfg)
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert distributed.configure(dcfg) == "chief"
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "worker-3")
    assert distributed.configure(dcfg) == "worker" and distributed.address() == "127.0.0.1:8000"

@pytest.mark.slow

def test_executions_per_trial_write_two_run_dirs_and_average_them(tmp_path):
    from seqlab.tune.sweep import run_sweep

    cfg = compose(["dataset.length=400", "dataset.input_len=8", "dataset.horizon=2"] + SWEEP_RUN + [
        "sweep=lr", "sweep.max_trials=1", "sweep.executions_per_trial=2"])
    summary = run_sweep(cfg, tmp_path, overrides=[])
    (row,) = summary.rows
    runs = [tmp_path / row["run_dir"] / f"execution{k}" for k in range(2)]
    best = [min(pd.read_csv(r / "history.csv")["val_loss"]) for r in runs]
    assert best[0] != best[1]  # two seeds
    assert row["val_loss"] == pytest.approx(sum(best) / 2, rel=1e-6)

@pytest.mark.slow

def test_hyperband_promotion_continues_the_parent_trials_checkpoint(tmp_path):
    from seqlab.tune.sweep import run_sweep

    cfg = compose(["dataset.length=400", "dataset.input_len=8", "dataset.horizon=2"] + SWEEP_RUN + [
        "sweep=lr", "sweep.tuner=hyperband", "sweep.max_epochs=3", "sweep.max_trials=4"])
    summary = run_sweep(cfg, tmp_path, overrides=[])
    promoted = [r for r in summary.rows if r.get("continues") and r["status"] == "completed"]
    assert promoted, summary.rows
    child = promoted[0]
    parent = next(r for r in summary.rows if r["trial_id"] == child["continues"])
    h_child = pd.read_csv(tmp_path / child["run_dir"] / "history.csv")
    h_parent = pd.read_csv(tmp_path / parent["run_dir"] / "history.csv")
    record = json.loads((tmp_path / child["run_dir"] / results.RECORD).read_text())
    first = record["attempts"][0]["start_epoch"]
    assert first == len(h_parent) >= 1  # the promoted trial's first epoch is the parent's next one
    assert list(h_child["loss"][:first]) == list(h_parent["loss"])  # continued from the parent's checkpoint
