"""Keras Tuner's chief/worker mode on loopback: one chief, two workers, one of them SIGKILLed mid-trial."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ongoing(sweep_dir: Path) -> dict:
    try:
        return json.loads((sweep_dir / "tuner" / "oracle.json").read_text())["ongoing_trials"]
    except (OSError, ValueError, KeyError):
        return {}


@pytest.mark.slow
def test_chief_and_two_workers_finish_every_trial_once_despite_a_killed_worker(tmp_path):
    common = ["-m", "sweep=lr", "sweep.max_trials=4", "trainer.epochs=3", "model.units=4", "dataset.length=600",
              "dataset.input_len=16", "dataset.horizon=2", "trainer.verbose=0", "trainer.tensorboard.enabled=false",
              f"hydra.sweep.dir={tmp_path / 'shared'}", "sweep.distributed.oracle_ip=127.0.0.1",
              f"sweep.distributed.oracle_port={free_port()}", "sweep.distributed.lease_seconds=5"]
    roles = {"chief": ["sweep.distributed.role=chief"],
             "w1": ["sweep.distributed.role=worker", "sweep.distributed.tuner_id=w1"],
             "w2": ["sweep.distributed.role=worker", "sweep.distributed.tuner_id=w2"]}
    procs, logs = {}, {}
    sweep_dir = tmp_path / "shared" / "0"
    try:
        for name, extra in roles.items():
            logs[name] = open(tmp_path / f"{name}.log", "w")
            procs[name] = subprocess.Popen([sys.executable, "-m", "seqlab", *common, *extra], cwd=tmp_path,
                                           env=dict(os.environ, **ENV), stdout=logs[name], stderr=subprocess.STDOUT,
                                           start_new_session=True)
        deadline = time.monotonic() + 300
        killed_trial = None
        while killed_trial is None:  # kill w2 once its trial has an epoch checkpoint
            assert time.monotonic() < deadline and procs["w2"].poll() is None, "w2 never got into a trial"
            tid = ongoing(sweep_dir).get("w2")
            if tid and list((sweep_dir / "trials" / tid / "checkpoints").glob("epoch-*.npz")):
                os.killpg(procs["w2"].pid, signal.SIGKILL)
                killed_trial = tid
            time.sleep(0.1)
        for name in ("w1", "chief"):
            assert procs[name].wait(timeout=max(10, deadline + 120 - time.monotonic())) == 0, \
                (tmp_path / f"{name}.log").read_text()[-3000:]
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
        for f in logs.values():
            f.close()

    with open(sweep_dir / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["trial_id"] for r in rows) == ["0", "1", "2", "3"]
    assert all(r["status"] == "completed" for r in rows), rows
    by_trial = {r["trial_id"]: json.loads((sweep_dir / "trials" / r["trial_id"] / "sweep_trial.json").read_text())
                ["attempts"] for r in rows}
    for tid, runs in by_trial.items():
        done = [a for a in runs if a["status"] == "completed"]
        assert len(done) == 1, (tid, runs)  # no trial run twice
        assert done[0]["epochs"] == 3
    lost, retried = by_trial[killed_trial]
    assert lost["tuner_id"] == "w2" and lost["status"] == "running"
    assert retried["tuner_id"] == "w1" and retried["start_epoch"] >= 1  # another worker, from the checkpoint
    assert {a["tuner_id"] for runs in by_trial.values() for a in runs} == {"w1", "w2"}
    assert "worker w2 silent" in (tmp_path / "chief.log").read_text()
    assert (sweep_dir / "best.yaml").exists()
