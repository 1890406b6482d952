"""A refused re-run changes no byte of an existing run directory except its log: config changed without resume,
lock held, bad input, resume with another shape, Ctrl-C during start-up. `seqlab report` then shows the run's
own record, which agrees with its weights."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from inprocess import seqlab_main

# the log grows (the refusal is written there); .lock names the last process that held the directory
NOT_RESULTS = {"cli.log", ".lock"}


def _fingerprint(run_dir: Path) -> dict:
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run_dir.rglob("*")) if p.is_file() and p.name not in NOT_RESULTS}


def _csv(path: Path, rows: int = 300, bad: bool = False) -> Path:
    import numpy as np
    import pandas as pd

    t = np.arange(rows)
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=rows, freq="h").astype(str),
                          "a": 10 + 3 * np.sin(t / 7), "b": -5 + np.cos(t / 11)})
    if bad:
        frame = frame.drop(columns=["b"])  # the run's target column is gone
    frame.to_csv(path, index=False)
    return path


def _base(folder: Path, run_dir: Path) -> list:
    return ["dataset=csv", f"dataset.path={folder / 'train.csv'}", "dataset.time_column=date", "dataset.input_len=16",
            "dataset.horizon=2", "model=gru", "model.units=4", "trainer.epochs=2", "trainer.verbose=0",
            f"hydra.run.dir={run_dir}"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A completed two-epoch run (TensorBoard on: its files must survive too) and its command."""
    folder = tmp_path_factory.mktemp("finished")
    _csv(folder / "train.csv")
    _csv(folder / "bad.csv", bad=True)
    r = seqlab_main(*_base(folder, folder / "run"))
    assert r.returncode == 0, r.stderr[-3000:]
    return folder


def _set_interrupt(monkeypatch):
    from seqlab import data

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "load", interrupted)


def _hold_lock(run_dir):
    from seqlab import rundir

    rundir.lock(run_dir, "python -m seqlab (another run)")  # released by seqlab_main, as a process end would


# case -> (overrides appended to the finished run's command, exit code, what the error names, set-up)
CASES = {
    "config_changed": (["trainer.epochs=4"], 2, "holds a checkpoint of a different config", None),
    "resume_changed_shape": (["model.units=8", "resume=true"], 2, "the model changed", None),
    "lock_held": ([], 1, "is in use by", _hold_lock),
    "bad_input": (["dataset.path={folder}/bad.csv"], 2, "dataset.", None),
    "bad_value": (["trainer.epochs=-1"], 2, "trainer.epochs", None),
    "interrupted_during_start_up": ([], 130, "interrupted during start-up", "interrupt"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_refused_rerun_changes_no_byte_of_the_finished_run(case, finished, tmp_path, monkeypatch):
    from seqlab import report

    extra, code, names, setup = CASES[case]
    run_dir = tmp_path / "run"
    shutil.copytree(finished / "run", run_dir)
    before = _fingerprint(run_dir)
    assert {"metrics.json", "history.csv", "model.keras", ".hydra/config.yaml"} <= set(before)
    if setup == "interrupt":
        _set_interrupt(monkeypatch)
    elif setup is not None:
        setup(run_dir)
    r = seqlab_main(*_base(finished, run_dir), *[e.format(folder=finished) for e in extra])
    assert r.returncode == code, (r.stdout[-2000:], r.stderr[-3000:])
    assert names in r.stderr and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert _fingerprint(run_dir) == before
    metrics = json.loads((run_dir / "metrics.json").read_text())
    row = report.collect(tmp_path).to_dict("records")[0]
    assert row["status"] == metrics["status"] == "completed" and row["epochs"] == 2
    assert report._load_config(run_dir)["model.units"] == 4  # the record describes the trained weights
