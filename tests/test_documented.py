"""Documented options that used to crash after training: the adding problem's summary, a date spread over
columns (`dataset.time_column=[year,month,day,hour]`), numeric time columns end to end (in-process CLI runs)."""

import json

import numpy as np
import pandas as pd
import pytest
from inprocess import seqlab_main

TINY = ["trainer.epochs=1", "trainer.verbose=0", "trainer.tensorboard.enabled=false"]


def test_the_adding_preset_prints_its_summary(tmp_path):
    r = seqlab_main("experiment=adding_gru", "dataset.limit=64", "dataset.length=20", "model.units=4", *TINY,
                    f"hydra.run.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "run directory:" in r.stdout and "features: value, marker" in r.stdout


def _hourly(rows=300):
    t = np.arange(rows)
    when = pd.date_range("2024-01-01", periods=rows, freq="h")
    return when, pd.DataFrame({"load": 10 + 3 * np.sin(t / 7), "temp": -5 + np.cos(t / 11)})


def test_a_time_spread_over_columns_trains_writes_inference_json_and_predicts(tmp_path):
    when, frame = _hourly()
    parts = pd.DataFrame({"year": when.year, "month": when.month, "day": when.day, "hour": when.hour})
    pd.concat([parts, frame], axis=1).to_csv(tmp_path / "meter.csv", index=False)
    run_dir = tmp_path / "run"
    r = seqlab_main("dataset=csv", f"dataset.path={tmp_path / 'meter.csv'}",
                    "dataset.time_column=[year,month,day,hour]", "dataset.input_len=12", "dataset.horizon=2",
                    "model.units=4", *TINY, f"hydra.run.dir={run_dir}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((run_dir / "inference.json").read_text())["time_column"] == ["year", "month", "day", "hour"]
    r = seqlab_main("predict", str(run_dir), str(tmp_path / "meter.csv"), "--output", str(tmp_path / "p.csv"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert pd.read_csv(tmp_path / "p.csv").groupby("id").size().eq(2).all()  # long: 2 steps per target


@pytest.mark.slow  # a training and a predict end to end; the time-column parsing has unit tests in test_tabular
def test_numeric_dates_train_and_predict_with_time_format(tmp_path):
    when, frame = _hourly()
    frame.insert(0, "t", when.strftime("%Y%m%d%H").astype(int))
    frame.to_csv(tmp_path / "meter.csv", index=False)
    base = ["dataset=csv", f"dataset.path={tmp_path / 'meter.csv'}", "dataset.time_column=t", "dataset.input_len=12",
            "dataset.horizon=2", "model.units=4", *TINY]
    r = seqlab_main(*base, f"hydra.run.dir={tmp_path / 'refused'}")
    assert r.returncode == 2 and "dataset.time_format=FORMAT" in r.stderr and "Traceback" not in r.stderr
    r = seqlab_main(*base, "dataset.time_format=%Y%m%d%H", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["data"]["time"]["time_step"] == "0 days 01:00:00"
    r = seqlab_main("predict", str(tmp_path / "run"), str(tmp_path / "meter.csv"), "--output", str(tmp_path / "p.csv"))
    assert r.returncode == 0, r.stderr[-3000:]
    out = pd.read_csv(tmp_path / "p.csv")
    assert out["timestamp"].tolist()[:2] == ["2024-01-13 12:00:00", "2024-01-13 13:00:00"]
