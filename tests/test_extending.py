"""Bring your own model and dataset (docs/EXTENDING.md): docs/examples/my_models.py beside the command, through
the whole pipeline: config checks, both trainers, checkpoints, TensorBoard, a sweep and `seqlab report`."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from inprocess import seqlab_main

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "my_models.py"
QUICK = ["trainer.verbose=0", "trainer.batch_size=32", "trainer.lr=0.01", "+model.params.filters=8",
         "+model.params.levels=2"]


def _seqlab(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "seqlab", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture
def workdir(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "my_models.py")  # the user's own file, importable from the working directory
    return tmp_path


def test_a_missing_builder_fails_before_tensorflow(workdir):
    r = _seqlab(workdir, "model=custom", "model.builder=my_modelz:tcn")
    assert r.returncode == 2 and "model.builder" in r.stderr and "my_modelz" in r.stderr, r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("trainer,dataset", [
    ("fit", ["dataset.length=600"]),  # the default sine forecasting data
    ("tape", ["dataset=custom", "dataset.loader=my_models:load_counting", "+dataset.params.train_size=512"]),
])
def test_custom_model_and_dataset_train_through_both_trainers(workdir, trainer, dataset):
    run_dir = workdir / trainer
    r = seqlab_main("model=custom", "model.builder=my_models:tcn", f"trainer={trainer}", "trainer.epochs=4",
                    f"hydra.run.dir={run_dir}", *dataset, *QUICK, cwd=workdir)
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["model"] == "custom"
    assert (run_dir / "model.keras").is_file() and list((run_dir / "checkpoints").glob("*.npz"))
    assert list((run_dir / "tb").rglob("events.out.tfevents.*"))
    if trainer == "tape":  # the count of ones is learnable: well above the majority class
        assert metrics["test"]["accuracy"] > metrics["baseline"]["accuracy"] + 0.15, metrics
    else:
        assert metrics["test"]["mse"] < metrics["baseline"]["mse"], metrics


@pytest.mark.slow
def test_custom_model_sweeps_and_reports(workdir):
    sweep_dir = workdir / "sweep"
    r = seqlab_main("-m", "sweep=lr", "sweep.max_trials=2", "model=custom", "model.builder=my_models:tcn",
                    "trainer.epochs=2", "dataset.length=600", f"hydra.sweep.dir={sweep_dir}", *QUICK, cwd=workdir)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(list(sweep_dir.rglob("metrics.json"))) == 2
    r = seqlab_main("report", str(sweep_dir), cwd=workdir)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "custom" in r.stdout
