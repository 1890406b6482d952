"""Sweeps end to end through the CLI, as the README says: every preset, multirun over models, tape trainer,
HParams, best.yaml reproducing its trial, failed trials, and resuming after SIGKILL."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from inprocess import seqlab_main

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.length=600", "dataset.input_len=16", "dataset.horizon=2", "trainer.verbose=0"]
QUIET_TB = ["trainer.tensorboard.enabled=false"]
ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def seqlab(*args, cwd, timeout=600):
    return subprocess.run([sys.executable, "-m", "seqlab", *args], cwd=cwd, env=dict(os.environ, **ENV),
                          capture_output=True, text=True, timeout=timeout)


def sweep_dirs(root: Path):
    """Job directories of every sweep under root, in job order."""
    return sorted((p.parent for p in root.glob("sweeps/*/*/*/sweep.json")), key=lambda p: (p.parent, int(p.name)))


def read_csv(path: Path):
    with open(path) as f:
        return list(csv.DictReader(f))


def attempts(sweep_dir: Path, trial_id: str):
    return json.loads((sweep_dir / "trials" / trial_id / "sweep_trial.json").read_text())["attempts"]


class Started:
    """`python -m seqlab ARGS` started now in `cwd`, its outcome read later (output in files: a pipe could fill)."""

    def __init__(self, args, cwd: Path):
        self.cwd, self.out, self.err = cwd, cwd / "seqlab.out", cwd / "seqlab.err"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "seqlab", *args], cwd=cwd,
                                         env=dict(os.environ, **ENV), stdout=out, stderr=err)

    def result(self, timeout=600) -> subprocess.CompletedProcess:
        code = self.proc.wait(timeout=timeout)
        return subprocess.CompletedProcess(self.proc.args, code, self.out.read_text(), self.err.read_text())


CAPACITY = ["-m", "model=gru,conv1d", "sweep=capacity,full", "sweep.max_trials=1", "sweep.max_epochs=1",
            "trainer.epochs=1", *TINY, *QUIET_TB]
TAPE = ["-m", "sweep=batch_size", "trainer=tape", "deterministic=true", "sweep.max_trials=2", "trainer.epochs=2",
        "model.units=4", "trainer.tensorboard.histogram_freq=0", "trainer.tensorboard.write_graph=false", *TINY]


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """The three independent sweeps of this module, started together on first use so that they run side by side
    (one sweep keeps one of two cores busy); {name: Started}, each in a folder of its own."""
    dirs = {name: tmp_path_factory.mktemp(name) for name in ("capacity", "tape", "diverge")}
    conf = dirs["diverge"] / "conf" / "sweep"
    conf.mkdir(parents=True)
    (conf / "diverge.yaml").write_text(DIVERGE)
    started = {"capacity": Started(CAPACITY, dirs["capacity"]), "tape": Started(TAPE, dirs["tape"]),
               "diverge": Started(DIVERGE_ARGS + [f"hydra.searchpath=[file://{dirs['diverge'] / 'conf'}]"],
                                  dirs["diverge"])}
    yield started
    for s in started.values():
        if s.proc.poll() is None:
            os.kill(s.proc.pid, signal.SIGKILL)
            s.proc.wait()


@pytest.mark.slow
def test_capacity_presets_under_multirun_over_model_families(sweeps):
    r = sweeps["capacity"].result()
    tmp_path = sweeps["capacity"].cwd
    assert r.returncode == 0, r.stderr[-3000:]
    jobs = sweep_dirs(tmp_path)
    assert [d.name for d in jobs] == ["0", "1", "2", "3"]  # sweeps/<date>/<time>/<job>
    seen = set()
    for d in jobs:
        state = json.loads((d / "sweep.json").read_text())
        model, name = state["config"]["model.name"], state["name"]
        seen.add((model, name))
        assert state["status"] == "completed"
        rows = read_csv(d / "trials.csv")
        assert len(rows) == 1 and rows[0]["status"] == "completed", rows
        assert float(rows[0]["val_loss"]) > 0 and rows[0]["epochs"] == "1"  # hyperband: max_epochs
        own, other = ("model.units", "model.filters") if model == "gru" else ("model.filters", "model.units")
        assert own in rows[0] and other not in rows[0] and "model.layers" in rows[0]
        best = yaml.safe_load((d / "best.yaml").read_text())
        assert best["objective"]["value"] == pytest.approx(float(rows[0]["val_loss"]))
        assert f"model={model}" in best["overrides"] and not any(o.startswith("sweep") for o in best["overrides"])
        assert any(o.startswith(own + "=") for o in best["overrides"])
        assert f"sweep {name} (" in r.stdout  # the table, once per job
    assert seen == {(m, s) for m in ("gru", "conv1d") for s in ("capacity", "full")}


def _hparams(path: Path):
    """{tag: content} of the hparams plugin in the event files under path."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path))
    acc.Reload()
    return acc.PluginTagToContent("hparams")


@pytest.mark.slow
def test_tape_sweep_writes_hparams_and_best_yaml_reproduces_its_trial(sweeps):
    from tensorboard.plugins.hparams import metadata

    r = sweeps["tape"].result()
    tmp_path = sweeps["tape"].cwd
    assert r.returncode == 0, r.stderr[-3000:]
    (d,) = sweep_dirs(tmp_path)
    rows = read_csv(d / "trials.csv")
    assert [row["status"] for row in rows] == ["completed", "completed"]
    sizes = [int(row["trainer.batch_size"]) for row in rows]
    assert sizes[0] == 64 and sizes[1] in (16, 32, 128)  # grid: the base config's value first
    for row in rows:  # the tape loop ran Keras Tuner's callbacks: it saved the best epoch's weights
        assert (d / "tuner" / f"trial_{row['trial_id']}" / "checkpoint.weights.h5").stat().st_size > 0
        assert float(row["seconds"]) > 0 and row["epochs"] == "2"
    # the table, sorted by objective
    table = r.stdout[r.stdout.index("sweep batch_size (grid): "):]
    best_row = min(rows, key=lambda row: float(row["val_loss"]))
    assert table.splitlines()[2].split()[0] == best_row["trial_id"]

    # TensorBoard HParams: the experiment's domain from the space, each trial's session with its value
    experiment = metadata.parse_experiment_plugin_data(_hparams(d / "hparams")[metadata.EXPERIMENT_TAG])
    info = next(h for h in experiment.hparam_infos if h.name == "trainer.batch_size")
    assert [v.number_value for v in info.domain_discrete.values] == [16, 32, 64, 128]
    assert "val/loss" in [m.name.tag for m in experiment.metric_infos]
    for row in rows:
        start = metadata.parse_session_start_info_plugin_data(
            _hparams(d / "trials" / row["trial_id"] / "tb" / "summary")[metadata.SESSION_START_INFO_TAG])
        assert start.hparams["trainer.batch_size"].number_value == int(row["trainer.batch_size"])

    best = yaml.safe_load((d / "best.yaml").read_text())
    assert best["trial_id"] == best_row["trial_id"]
    assert best["objective"]["value"] == pytest.approx(float(best_row["val_loss"]), rel=1e-12)
    assert "trainer=tape" in best["overrides"] and "deterministic=true" in best["overrides"]
    again = seqlab_main(*best["overrides"], f"hydra.run.dir={tmp_path / 'again'}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    val_loss = [float(row["val_loss"]) for row in read_csv(tmp_path / "again" / "history.csv")]
    assert min(val_loss) == pytest.approx(best["objective"]["value"], rel=1e-6)


DIVERGE = """\
# A learning rate that trains beside one that diverges (nested keys: command-line overridable).
defaults:
  - /schema/sweep/sweep@_here_
  - _self_
name: diverge
tuner: grid
max_trials: 2
space:
  trainer:
    lr: {type: choice, values: [0.003, 1.0e+30]}
"""


# job 0: one trial trains, one diverges; job 1: both diverge (plus the searchpath of the folder holding DIVERGE)
DIVERGE_ARGS = ["-m", "sweep=diverge", "sweep.space.trainer.lr.values=[0.003,1e30],[1e29,1e30]", "trainer.epochs=1",
                "model.units=4", *TINY, *QUIET_TB]


@pytest.mark.slow
def test_failed_trials_are_recorded_and_an_all_failed_sweep_exits_nonzero(sweeps):
    r = sweeps["diverge"].result()
    tmp_path = sweeps["diverge"].cwd
    assert r.returncode == 1, r.stderr[-3000:]
    assert "every trial failed" in r.stderr and "trial 0: diverged" in r.stderr and "trial 1: diverged" in r.stderr
    first, second = sweep_dirs(tmp_path)
    rows = read_csv(first / "trials.csv")
    assert [(row["trainer.lr"], row["status"]) for row in rows] == [("0.003", "completed"), ("1e+30", "failed")]
    assert rows[1]["reason"].startswith("diverged:") and "learning rate" in rows[1]["reason"]
    assert (first / "best.yaml").exists()
    assert [row["status"] for row in read_csv(second / "trials.csv")] == ["failed", "failed"]
    assert json.loads((second / "sweep.json").read_text())["status"] == "failed"
    assert not (second / "best.yaml").exists()


@pytest.mark.slow
def test_sigkill_mid_trial_then_the_same_command_resumes(tmp_path):
    args = ["-m", "sweep=lr", "sweep.max_trials=2", "trainer.epochs=2", "model.units=4", *TINY, *QUIET_TB]
    proc = subprocess.Popen([sys.executable, "-m", "seqlab", *args], cwd=tmp_path, env=dict(os.environ, **ENV),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not list(tmp_path.glob("sweeps/*/*/0/trials/1/checkpoints/epoch-0001.npz")):
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint of trial 1 to kill at"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its trial's process, mid-trial
        proc.wait(timeout=30)
    (killed,) = sweep_dirs(tmp_path)
    assert not (killed / "trials.csv").exists()
    time.sleep(1.1)  # the rerun gets its own timestamped directory

    r = seqlab_main(*args, cwd=tmp_path)  # the same command (in this process: what is killed is the first)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "continuing the unfinished sweep" in r.stdout + r.stderr
    fresh = [d for d in sweep_dirs(tmp_path) if d != killed]
    assert fresh == [] and len(list(tmp_path.glob("sweeps/*/*/0/RESUMED.txt"))) == 1
    rows = read_csv(killed / "trials.csv")
    assert [row["status"] for row in rows] == ["completed"] * 2
    assert [a["status"] for a in attempts(killed, "0")] == ["completed"]  # not run again
    lost, resumed = attempts(killed, "1")
    assert lost["status"] == "running" and lost["start_epoch"] == 0  # SIGKILLed: it never said goodbye
    assert resumed["status"] == "completed" and resumed["start_epoch"] >= 1  # from its last epoch checkpoint
    assert resumed["epochs"] == 2 and rows[1]["attempts"] == "2"


@pytest.mark.slow
def test_a_second_command_into_a_running_sweeps_folder_is_refused_before_any_training(tmp_path):
    args = ["-m", "sweep=lr", "sweep.max_trials=100", "trainer.epochs=20", "model.units=4",
            f"hydra.sweep.dir={tmp_path / 'sw'}", *TINY, *QUIET_TB]  # far more work than the test waits for
    first = subprocess.Popen([sys.executable, "-m", "seqlab", *args], cwd=tmp_path, env=dict(os.environ, **ENV),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        state = tmp_path / "sw" / "0" / "sweep.json"
        deadline = time.monotonic() + 120
        while not (state.exists() and json.loads(state.read_text())["status"] == "running"):
            assert first.poll() is None and time.monotonic() < deadline, "the first sweep never started"
            time.sleep(0.1)
        second = seqlab(*args, cwd=tmp_path, timeout=120)
        assert first.poll() is None  # still running, untouched
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert second.returncode != 0
    err = second.stdout + second.stderr
    assert f"hydra.sweep.dir: expected a folder no other sweep is running in, got {tmp_path / 'sw' / '0'}" in err
    assert f"pid {first.pid}" in err
    assert not (tmp_path / "sw" / "0" / "trials.csv").exists()
