"""TPE, pruning and several objectives end to end through the CLI: resume after SIGKILL, chief and worker on
loopback, pruning in forked trials (trials.csv, metrics.json, `seqlab report`), the Pareto front, sweep folders."""

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
from test_sweep_distributed import free_port

TINY = ["dataset.length=600", "dataset.input_len=16", "dataset.horizon=2", "trainer.verbose=0", "model.units=4",
        "trainer.tensorboard.enabled=false"]
ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def seqlab(*args, cwd, timeout=600):
    return subprocess.run([sys.executable, "-m", "seqlab", *args], cwd=cwd, env=dict(os.environ, **ENV),
                          capture_output=True, text=True, timeout=timeout)


def rows(sweep_dir: Path):
    with open(sweep_dir / "trials.csv") as f:
        return list(csv.DictReader(f))


def attempts(sweep_dir: Path, trial_id: str):
    return json.loads((sweep_dir / "trials" / trial_id / "sweep_trial.json").read_text())["attempts"]


@pytest.mark.slow
def test_tpe_sweep_killed_mid_trial_resumes_the_same_search(tmp_path):
    args = ["-m", "sweep=lr", "sweep.tuner=tpe", "sweep.max_trials=3", "trainer.epochs=2", *TINY,
            f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    sweep_dir = tmp_path / "sweep" / "0"
    proc = subprocess.Popen([sys.executable, "-m", "seqlab", *args], cwd=tmp_path, env=dict(os.environ, **ENV),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not (sweep_dir / "trials" / "1" / "checkpoints" / "epoch-0001.npz").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint of trial 1 to kill at"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its trial's process
        proc.wait(timeout=30)
    before = json.loads((sweep_dir / "tuner" / "trial_1" / "trial.json").read_text())["hyperparameters"]["values"]

    r = seqlab_main(*args, cwd=tmp_path)  # the same command (in this process: what is killed is the first)
    assert r.returncode == 0, r.stderr[-3000:]
    table = rows(sweep_dir)
    assert [row["status"] for row in table] == ["completed"] * 3
    assert [a["status"] for a in attempts(sweep_dir, "0")] == ["completed"]  # not run again
    lost, resumed = attempts(sweep_dir, "1")
    assert lost["status"] == "running" and resumed["status"] == "completed" and resumed["start_epoch"] >= 1
    assert float(table[1]["trainer.lr"]) == pytest.approx(before["trainer.lr"])  # the same trial continued
    assert len({row["trainer.lr"] for row in table}) == 3  # and a new one after it
    # the resumed process rebuilt the study from the two trials that had ended by its first new trial
    assert "tpe: Optuna study with 2 finished and 0 running trials" in (sweep_dir / "cli.log").read_text()


@pytest.mark.slow
def test_tpe_with_pruning_on_a_chief_and_a_worker(tmp_path):
    common = ["-m", "sweep=lr", "sweep.tuner=tpe", "sweep.pruner=median", "sweep.max_trials=5", "trainer.epochs=3",
              *TINY, "++sweep.space.trainer.lr.min=1e-6", f"hydra.sweep.dir={tmp_path / 'shared'}",
              "sweep.distributed.oracle_ip=127.0.0.1", f"sweep.distributed.oracle_port={free_port()}"]
    roles = {"chief": ["sweep.distributed.role=chief"],
             "w1": ["sweep.distributed.role=worker", "sweep.distributed.tuner_id=w1"]}
    procs = {}
    try:
        for name, extra in roles.items():
            with open(tmp_path / f"{name}.log", "w") as log:
                procs[name] = subprocess.Popen([sys.executable, "-m", "seqlab", *common, *extra], cwd=tmp_path,
                                               env=dict(os.environ, **ENV), stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True)
        for name in ("w1", "chief"):
            assert procs[name].wait(timeout=420) == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
    sweep_dir = tmp_path / "shared" / "0"
    table = rows(sweep_dir)
    assert len(table) == 5 and all(r["status"] in ("completed", "pruned") for r in table), table
    assert {a["tuner_id"] for r in table for a in attempts(sweep_dir, r["trial_id"])} == {"w1"}
    state = json.loads((sweep_dir / "tuner" / "oracle.json").read_text())
    # the chief recorded every epoch the worker's forked trials reported over gRPC
    assert sorted(state["seqlab_curves"]) == [r["trial_id"] for r in table]
    assert set(state["seqlab_pruned"]) == {r["trial_id"] for r in table if r["status"] == "pruned"}
    assert (sweep_dir / "best.yaml").exists()


PRUNE = """\
# Three learning rates that learn, then one that cannot (grid: in this order).
defaults:
  - /schema/sweep/sweep@_here_
  - _self_
name: prune
tuner: grid
max_trials: 4
space:
  trainer.lr: {type: choice, values: [0.03, 0.02, 0.01, 1.0e-7]}
"""


@pytest.mark.slow
def test_forked_trials_are_pruned_and_the_front_is_drawn(tmp_path):
    """Grid order is known: three learning rates that learn, then one that cannot (1e-7), pruned after epoch 2 as
    worse than the median of the three at that epoch; objectives val_loss and params give a front."""
    conf = tmp_path / "conf" / "sweep"
    conf.mkdir(parents=True)
    (conf / "prune.yaml").write_text(PRUNE)
    args = ["-m", "sweep=prune", "sweep.pruner=median", "sweep.objective=[val_loss,params]", "trainer.epochs=3",
            *TINY, f"hydra.sweep.dir={tmp_path / 'sweep'}", f"hydra.searchpath=[file://{tmp_path / 'conf'}]"]
    r = seqlab(*args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    sweep_dir = tmp_path / "sweep" / "0"
    table = {row["trainer.lr"]: row for row in rows(sweep_dir)}
    pruned = table["1e-07"]
    assert pruned["status"] == "pruned" and pruned["epochs"] == "2", table
    assert "median rule" in pruned["reason"]
    assert [table[k]["status"] for k in ("0.03", "0.02", "0.01")] == ["completed"] * 3
    metrics = json.loads((sweep_dir / pruned["run_dir"] / "metrics.json").read_text())
    assert metrics["pruned"]["epoch"] == 2 and metrics["epochs"] == 2
    assert attempts(sweep_dir, pruned["trial_id"])[-1]["pid"] != os.getpid()  # forked
    assert "1 pruned" in r.stdout and "pareto" in r.stdout
    assert {table[k]["pareto"] for k in ("0.03", "0.02", "0.01")} <= {"True", "False"}
    assert pruned["pareto"] == "False" and any(table[k]["pareto"] == "True" for k in table)
    assert (sweep_dir / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    best = yaml.safe_load((sweep_dir / "best.yaml").read_text())
    assert best["trial_id"] in best["pareto_front"]["trials"]
    report = seqlab_main("report", str(sweep_dir), cwd=tmp_path)
    assert report.returncode == 0 and "pruned" in report.stdout, report.stdout + report.stderr


@pytest.mark.slow
def test_two_sweeps_in_the_same_second_get_two_folders(tmp_path):
    # the default's mechanism with a fixed name, so that both collide; a refused config keeps it fast (no TF)
    args = [sys.executable, "-m", "seqlab", "-m", "sweep=lr", "hydra.sweep.dir=${seqlab_unique:sweeps/same}",
            "trainer.lr=-1"]
    procs = [subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    assert all(p.wait(timeout=120) != 0 for p in procs)
    assert sorted(p.name for p in (tmp_path / "sweeps").iterdir()) == ["same", "same-1"]


def _summary_events(run_dir: Path):
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator

    acc = EventAccumulator(str(run_dir / "tb" / "summary"), size_guidance={TENSORS: 0})
    acc.Reload()
    return acc


@pytest.mark.slow
def test_a_pruned_trial_is_pruned_for_all_its_executions_in_the_table_report_and_hparams(tmp_path):
    """Two executions per trial: the 1e-7 trial's first execution is pruned after epoch 2, its second never runs,
    and trials.csv, the trial's record, `seqlab report` and TensorBoard HParams all say so (in-process CLI)."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api_pb2, metadata

    conf = tmp_path / "conf" / "sweep"
    conf.mkdir(parents=True)
    (conf / "prune.yaml").write_text(PRUNE)
    r = seqlab_main("-m", "sweep=prune", "sweep.pruner=median", "sweep.executions_per_trial=2", "trainer.epochs=3",
                    *[a for a in TINY if "tensorboard" not in a], f"hydra.sweep.dir={tmp_path / 'sweep'}",
                    f"hydra.searchpath=[file://{tmp_path / 'conf'}]", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    sweep_dir = tmp_path / "sweep" / "0"
    table = {row["trainer.lr"]: row for row in rows(sweep_dir)}
    pruned = table["1e-07"]
    assert pruned["status"] == "pruned" and pruned["epochs"] == "2", table
    assert pruned["reason"] == "pruned after epoch 2 (median rule) in execution 1 of 2; execution 2 not run"
    assert [(a["execution"], a["status"]) for a in attempts(sweep_dir, pruned["trial_id"])] == [(0, "pruned")]
    trial_dir = sweep_dir / pruned["run_dir"]
    assert json.loads((trial_dir / "sweep_trial.json").read_text())["pruned"]["execution"] == 0
    assert not (trial_dir / "execution1").exists()
    for lr in ("0.03", "0.02", "0.01"):
        assert table[lr]["status"] == "completed"
        assert [a["status"] for a in attempts(sweep_dir, table[lr]["trial_id"])] == ["completed"] * 2

    report = seqlab_main("report", str(sweep_dir), cwd=tmp_path)
    assert report.returncode == 0 and "pruned" in report.stdout, report.stdout + report.stderr

    # HParams: a `pruned` column in the experiment, the epoch in the pruned session, status Unknown (no "pruned")
    from test_sweep_cli import _hparams

    experiment = metadata.parse_experiment_plugin_data(_hparams(sweep_dir / "hparams")[metadata.EXPERIMENT_TAG])
    assert "pruned" in [m.name.tag for m in experiment.metric_infos]
    for lr, row in table.items():
        events = _summary_events(sweep_dir / row["run_dir"] / "execution0")
        end = metadata.parse_session_end_info_plugin_data(
            events.SummaryMetadata(metadata.SESSION_END_INFO_TAG).plugin_data.content)
        if lr == "1e-07":
            assert end.status == api_pb2.STATUS_UNKNOWN
            assert float(tf.make_ndarray(events.Tensors("pruned")[0].tensor_proto)) == 2.0
        else:
            assert end.status == api_pb2.STATUS_SUCCESS and "pruned" not in events.Tags()["tensors"]


@pytest.mark.slow
def test_val_loss_and_latency_give_a_pareto_front_with_latencies(tmp_path):

    r = seqlab_main("-m", "sweep=lr", "sweep.tuner=tpe", "sweep.max_trials=3", "sweep.objective=[val_loss,latency]",
                    "trainer.epochs=1", *TINY, f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    sweep_dir = tmp_path / "sweep" / "0"
    table = rows(sweep_dir)
    assert len(table) == 3 and all(row["status"] == "completed" for row in table), table
    assert all(0 < float(row["latency"]) < 1000 for row in table)  # ms per example
    front = [row["trial_id"] for row in table if row["pareto"] == "True"]
    assert front and "pareto" in r.stdout
    best = yaml.safe_load((sweep_dir / "best.yaml").read_text())
    assert best["pareto_front"]["trials"] == front and best["trial_id"] in front
    assert (sweep_dir / "pareto.png").read_bytes()[:4] == b"\x89PNG"
