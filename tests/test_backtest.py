"""`seqlab backtest`: rolling origins over a run's test rows, equal to `seqlab predict --rolling` with the run's model,
resumable after a kill, retrained in processes of their own every K windows, and its refusals."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET_ONE_EPOCH, TINY_SERIES
from inprocess import seqlab_main

from seqlab.backtest.plan import make_plan

L, H = 24, 4


@pytest.fixture(scope="module")
def bt_run(series_run, tmp_path_factory):
    """The session's trained csv run (conftest.py; hourly, two columns, input 24, horizon 4), copied with the config
    it was trained with recorded in .hydra/ as the command line records it."""
    import shutil

    from test_predict import SERIES

    from seqlab.config import compose
    from seqlab.train.outputs import write_config_yaml

    src, frame, _, _ = series_run
    tmp = tmp_path_factory.mktemp("backtest")
    shutil.copytree(src / "run", tmp / "run")
    overrides = SERIES + [f"dataset.path={src / 'train.csv'}", "model.norm=last", "model.channel_independent=true",
                          "model.patch=4"] + QUIET_ONE_EPOCH  # series_run's (conftest.py)
    write_config_yaml(tmp / "run" / ".hydra" / "config.yaml", compose(overrides))
    return tmp, frame


def backtest(*args):
    r = seqlab_main("backtest", *map(str, args))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    return r


def test_plan_origins_end_at_the_last_test_row():
    plan = make_plan({"train": [0, 280], "val": [280, 340], "test": [340, 400]}, L, H, 5, 3, 2)
    assert plan.origins == [383, 386, 389, 392, 395] and plan.origins[-1] + H == 399  # the last row forecast
    assert [plan.refit_window(i) for i in range(5)] == [0, 0, 2, 2, 4] and plan.refit_windows() == [0, 2, 4]
    assert plan.cutoff_back(2) == 400 - 390 and plan.val_len == 60  # the retraining validates on [330, 390)
    assert make_plan({"train": [0, 280], "val": [280, 340], "test": [340, 400]}, L, H, None, None, None).origins \
        == [395 - 4 * k for k in range(9, -1, -1)]  # defaults: 10 origins a horizon apart


def test_refit_never_equals_predict_rolling(bt_run):
    tmp, frame = bt_run
    out = tmp / "bt"
    r = backtest(tmp / "run", "--windows", 5, "--step", 3, "--out", out)
    assert "5 windows" in r.stdout
    rows = pd.read_csv(out / "backtest.csv")
    assert list(rows["origin"]) == [383, 386, 389, 392, 395] and set(rows["model"]) == {"run"}
    # predict --rolling --stride 3 on the rows those windows read: the same windows, the same forecasts
    first = 383 - L + 1
    frame.iloc[first:396].to_csv(tmp / "input.csv", index=False)
    r = seqlab_main("predict", str(tmp / "run"), str(tmp / "input.csv"), "--rolling", "--stride", "3",
                    "--format", "wide", "--output", str(tmp / "rolling.csv"))
    assert r.returncode == 0, r.stderr
    rolling = pd.read_csv(tmp / "rolling.csv")
    forecasts = pd.read_csv(out / "forecasts.csv")
    assert len(rolling) == len(forecasts) == 5 * H
    assert list(rolling["origin"] + first) == list(forecasts["origin"]) and list(rolling["step"]) == list(
        forecasts["step"])
    np.testing.assert_array_equal(forecasts[["a", "b"]].to_numpy(), rolling[["a", "b"]].to_numpy())
    # the truth and the scores, in original units
    truth = np.stack([frame[["a", "b"]].to_numpy()[o + 1:o + 1 + H] for o in rows["origin"]])
    np.testing.assert_allclose(forecasts[["a_actual", "b_actual"]].to_numpy(), truth.reshape(-1, 2))
    err = forecasts[["a", "b"]].to_numpy().reshape(5, H, 2) - truth
    np.testing.assert_allclose(rows["model_mse"], (err**2).mean(axis=(1, 2)))
    last = frame[["a", "b"]].to_numpy()[rows["origin"]][:, None, :]
    np.testing.assert_allclose(rows["repeat_mae"], np.abs(truth - last).mean(axis=(1, 2)))
    season = frame[["a", "b"]].to_numpy()[np.array(rows["origin"])[:, None] - 23 + np.arange(H)]  # hourly: 24
    np.testing.assert_allclose(rows["snaive_mse"], ((truth - season) ** 2).mean(axis=(1, 2)))
    md = (out / "backtest.md").read_text()
    assert "| seasonal naive |" in md and "season: 24" in md and (out / "backtest.png").stat().st_size > 1000


class Killed(BaseException):
    """Stands for SIGKILL in the middle of a backtest."""


def test_killed_backtest_resumes_at_the_next_window(bt_run, monkeypatch):
    from seqlab.backtest import cli

    tmp, _ = bt_run
    window, calls = cli.Backtest.window, []

    def dies_after_two(self, i):
        if len(calls) == 2:
            raise Killed
        calls.append(i)
        return window(self, i)

    monkeypatch.setattr(cli.Backtest, "window", dies_after_two)
    with pytest.raises(Killed):
        seqlab_main("backtest", str(tmp / "run"), "--windows", "5", "--step", "3", "--out", str(tmp / "killed"))
    assert len(json.loads((tmp / "killed" / "progress.json").read_text())["windows"]) == 2
    assert not (tmp / "killed" / "backtest.csv").exists()

    monkeypatch.setattr(cli.Backtest, "window", lambda self, i: calls.append(i) or window(self, i))
    r = backtest(tmp / "run", "--windows", 5, "--step", 3, "--out", tmp / "killed")
    assert calls == [0, 1, 2, 3, 4] and "3 now, 2 recorded before" in r.stdout  # no finished window again
    uninterrupted = tmp / "bt"
    if not (uninterrupted / "backtest.csv").exists():
        backtest(tmp / "run", "--windows", 5, "--step", 3, "--out", uninterrupted)
    for name in ("backtest.csv", "forecasts.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp / "killed" / name), pd.read_csv(uninterrupted / name))


def test_a_panel_gets_per_series_origins_and_predicts_as_seqlab_predict(tmp_path):
    from test_panel import H as PH
    from test_panel import L as PL
    from test_panel import panel_frame, write_layouts
    from test_predict import train_run

    from seqlab.config import compose
    from seqlab.train.outputs import write_config_yaml

    frame = panel_frame()  # series s0..s3 of 30, 24, 40, 19 days
    files = write_layouts(tmp_path, frame)
    overrides = ["dataset=panel", f"dataset.path={files['long']}", "dataset.time_column=ds", f"dataset.input_len={PL}",
                 f"dataset.horizon={PH}", "dataset.test_steps=6", "model=gru", "model.units=4"]
    train_run(tmp_path / "run", overrides)
    write_config_yaml(tmp_path / "run" / ".hydra" / "config.yaml", compose(overrides + QUIET_ONE_EPOCH))
    backtest(tmp_path / "run", "--windows", 2)
    rows = pd.read_csv(tmp_path / "run" / "backtest" / "backtest.csv")
    lengths = {"s0": 30, "s1": 24, "s2": 40, "s3": 19}
    assert len(rows) == 8 and rows["id"].tolist() == list(lengths) * 2
    assert (rows["origin"] == rows["id"].map(lengths) - PH - 1 - PH * (1 - rows["window"])).all()  # per series
    forecasts = pd.read_csv(tmp_path / "run" / "backtest" / "forecasts.csv")
    for i in (0, 1):  # seqlab predict on every series cut after its origin: the same forecasts
        origin = dict(zip(rows["id"][rows["window"] == i], rows["origin"][rows["window"] == i]))
        cut = frame[frame.groupby("unique_id").cumcount() <= frame["unique_id"].map(origin)]
        cut.drop(columns=["x"]).to_csv(tmp_path / f"cut{i}.csv", index=False)
        r = seqlab_main("predict", str(tmp_path / "run"), str(tmp_path / f"cut{i}.csv"), "--output",
                        str(tmp_path / f"pred{i}.csv"))
        assert r.returncode == 0, r.stderr
        pred = pd.read_csv(tmp_path / f"pred{i}.csv")
        np.testing.assert_array_equal(forecasts[forecasts["window"] == i]["y"].to_numpy(), pred["forecast"])
    md = (tmp_path / "run" / "backtest" / "backtest.md").read_text()
    assert "4 series" in md and "| per series |" in md


REFUSALS = {  # arguments -> the option the one-line error names
    ("--refit", "0"): "--refit", ("--refit", "sometimes"): "--refit", ("--windows", "0"): "--windows",
    ("--windows", "1000"): "--windows", ("--step", "0"): "--step",
}


def test_refusals_name_the_option_before_tensorflow(bt_run):
    tmp, _ = bt_run
    ucr = tmp / "ucr_run"
    ucr.mkdir(exist_ok=True)
    (ucr / "inference.json").write_text(json.dumps({"kind": "ucr", "task": "classification", "length": 8,
                                                    "class_names": [0, 1]}))
    cases = [[str(tmp / "run"), *k] for k in REFUSALS] + [[str(ucr)], [str(tmp / "missing")]]
    script = ("import sys, contextlib, io; from seqlab.backtest.cli import main\n"
              f"for args in {cases!r}:\n"
              "    err = io.StringIO()\n"
              "    with contextlib.redirect_stderr(err):\n"
              "        code = main(args)\n"
              "    print(code, err.getvalue().strip().replace(chr(10), ' | '))\n"
              "print('tensorflow' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])
    lines = r.stdout.strip().splitlines()
    assert lines[-1] == "False", r.stdout  # argument errors cost no TensorFlow start-up
    assert len(lines) == len(cases) + 1, r.stdout + r.stderr
    for line, key in zip(lines, [*REFUSALS.values(), "RUN_DIR", "RUN_DIR"]):
        assert line.startswith(f"2 error: {key}: expected") and " | " not in line, line
    assert "a forecasting run" in lines[-3] and "at most" in lines[3]


@pytest.mark.slow
def test_refit_every_k_windows_retrains_in_processes_of_their_own(tmp_path):
    r = seqlab_main(*TINY_SERIES, "model=gru", "model.units=4", *QUIET_ONE_EPOCH, f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 0, r.stderr[-2000:]
    out = tmp_path / "run" / "backtest"
    backtest(tmp_path / "run", "--windows", 4, "--step", 2, "--refit", 2)
    rows = pd.read_csv(out / "backtest.csv")
    assert list(rows["model"]) == ["refit-000", "refit-000", "refit-002", "refit-002"]
    # sine 400 rows: test rows [340, 400); horizon 2 -> origins 391, 393, 395, 397; validation 60 rows
    assert list(rows["origin"]) == [391, 393, 395, 397]
    for name, cutoff in (("refit-000", 392), ("refit-002", 396)):
        refit = out / name
        cfg = (refit / ".hydra" / "config.yaml").read_text()
        assert f"boundaries:\n  - {cutoff - 60}\n  - {cutoff}\n  - 400" in cfg, cfg  # training ends at the cutoff
        assert (refit / "model.keras").is_file() and (refit / "inference.json").is_file()
        holder = json.loads((refit / ".lock").read_text())
        assert holder["pid"] != __import__("os").getpid()  # trained by a process of its own
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("refit-*/model.keras")}
    r = backtest(tmp_path / "run", "--windows", 4, "--step", 2, "--refit", 2)
    assert "0 now, 4 recorded before" in r.stdout
    assert {p: p.stat().st_mtime_ns for p in out.glob("refit-*/model.keras")} == stamps  # nothing retrained
    # another --refit on the same folder is refused, naming the option
    r = seqlab_main("backtest", str(tmp_path / "run"), "--windows", "4", "--step", "2", "--refit", "3")
    assert r.returncode == 2 and r.stderr.startswith("error: --refit: expected the options of the backtest")
