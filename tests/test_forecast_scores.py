"""Scale-free forecast scores of a run (data/scoring.py): test.smape / test.mase beside baseline.smape /
baseline.mase in metrics.json, on original values, per series; the seasonal naive baseline where season > 1."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET

from seqlab import scores
from seqlab.data import load
from seqlab.data.base import Panel, WindowSplit


def _daily_csv(path, days=40, level=100.0, noise=0.0):
    """Hourly rows whose value is a pure daily pattern (plus optional noise), far from zero, in original units."""
    t = pd.date_range("2024-01-01", periods=24 * days, freq="h")
    hour = np.arange(len(t)) % 24
    rng = np.random.default_rng(0)
    y = level + 10 * np.sin(2 * np.pi * hour / 24) + 5 * (hour == 7) + noise * rng.normal(size=len(t))
    pd.DataFrame({"time": t.astype(str), "load": y}).to_csv(path, index=False)
    return y


def _csv_cfg(path, **over):
    from seqlab.config import compose

    extra = [f"dataset.{k}={v}" for k, v in over.items()]
    return compose(["dataset=csv", f"dataset.path={path}", "dataset.time_column=time", "dataset.input_len=48",
                    "dataset.horizon=6", *extra]).dataset


def test_seasonal_naive_windows_by_hand():
    targets = np.arange(20, dtype=np.float32)[:, None]  # (rows, 1): row r holds r
    split = WindowSplit(targets, targets, np.array([0, 5]), input_len=3, horizon=4)
    np.testing.assert_array_equal(split.series_index(), [0, 0])
    np.testing.assert_array_equal(split.origin(), [2, 7])  # the last input row
    # season 2: the last two rows before the origin, repeated; window 0 (origin 3) -> rows 1, 2, 1, 2
    np.testing.assert_array_equal(split.seasonal_naive(None, 2)[..., 0], [[1, 2, 1, 2], [6, 7, 6, 7]])
    # season 5: window 0 has only 3 rows before its origin -> the last value; window 1 has 8
    np.testing.assert_array_equal(split.seasonal_naive(None, 5)[..., 0], [[2, 2, 2, 2], [3, 4, 5, 6]])
    np.testing.assert_array_equal(split.seasonal_naive(None, 1)[..., 0], [[2, 2, 2, 2], [7, 7, 7, 7]])
    # a panel: series 1 starts at row 10; its window at start 10 has 3 rows before the origin, and never reads
    # series 0's rows 7..9 for a season of 5
    panel = WindowSplit(targets, targets, np.array([5, 10]), 3, 4, Panel(["a", "b"], np.array([0, 10, 20])))
    np.testing.assert_array_equal(panel.series_index(), [0, 1])
    np.testing.assert_array_equal(panel.seasonal_naive(None, 5)[..., 0], [[3, 4, 5, 6], [12, 12, 12, 12]])


def test_hourly_daily_pattern_gets_a_seasonal_naive_baseline_in_original_units(tmp_path):
    y = _daily_csv(tmp_path / "daily.csv")
    splits, _ = load(_csv_cfg(tmp_path / "daily.csv"))
    assert splits.scoring.season == 24 and splits.info["season"] == 24  # inferred from the hourly time step
    assert splits.baseline_name == "seasonal naive (season 24)"
    base = splits.baseline()
    assert base["mse"] < 1e-10 and base["smape"] < 1e-6  # the pattern repeats exactly
    # MASE's scale, the in-sample seasonal naive MAE (rows before the test split), is 0: reported, not divided by
    insample = splits.info["row_ranges"]["val"][1]
    assert splits.scoring.scales[0, 0] == pytest.approx(0.0, abs=1e-9) and base["mase"] is None
    # season 1 (last value): errors in original units, MASE scaled by the in-sample naive MAE
    splits1, _ = load(_csv_cfg(tmp_path / "daily.csv", season=1))
    assert splits1.baseline_name == "repeat last value"
    assert splits1.scoring.scales[0, 0] == pytest.approx(scores.seasonal_scale(y[:insample], 1))
    test = splits1.test
    origin = test.origin()  # the last input row
    actual = y[origin[:, None] + 1 + np.arange(6)]
    naive = np.repeat(y[origin][:, None], 6, axis=1)
    b1 = splits1.baseline()
    assert b1["smape"] == pytest.approx(scores.smape(actual, naive), rel=1e-5)
    assert b1["mase"] == pytest.approx(np.mean(np.abs(actual - naive)) / scores.seasonal_scale(y[:insample], 1),
                                       rel=1e-5)


def test_dataset_season_is_checked():
    from seqlab.config import ConfigError, compose, validate

    with pytest.raises(ConfigError, match="dataset.season"):
        validate(compose(["dataset=sine", "dataset.season=0"]))


def test_run_writes_smape_and_mase_for_model_and_baseline(tmp_path):
    from inprocess import seqlab_main

    _daily_csv(tmp_path / "daily.csv", noise=0.5)
    run = tmp_path / "run"
    r = seqlab_main("dataset=csv", f"dataset.path={tmp_path / 'daily.csv'}", "dataset.time_column=time",
                    "dataset.input_len=48", "dataset.horizon=6", "model=linear", "trainer.epochs=2", *QUIET,
                    f"hydra.run.dir={run}")
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((run / "metrics.json").read_text())
    assert m["baseline_name"] == "seasonal naive (season 24)"
    for group in ("test", "baseline"):
        assert {"smape", "mase", "mse", "mae"} <= set(m[group]), m[group]
    # noise of std 0.5 around a level of 100: sMAPE well under 5 %, the seasonal naive MASE near 1
    assert 0 < m["baseline"]["smape"] < 2 and 0.5 < m["baseline"]["mase"] < 2
    assert 0 < m["test"]["smape"] < 50 and m["test"]["mase"] > 0
    assert set(m["val_scores"]) == {"smape", "mase"} and 0 < m["val_scores"]["smape"] < 50
    assert m["scores"] == {"season": 24, "series": 1, "series_without_scale": 0, "per_series": "series_scores.csv"}
    table = pd.read_csv(run / "series_scores.csv")
    assert list(table.columns) == ["series", "target", "smape", "mase"] and table["target"].tolist() == ["load"]
    assert table["smape"].iloc[0] == pytest.approx(m["test"]["smape"])

    from seqlab.report import collect

    assert {"test.smape", "test.mase", "baseline.smape", "baseline.mase"} <= set(collect(run).columns)


def test_each_target_column_is_a_series_of_its_own():
    from seqlab.data.scoring import Accumulator, SeriesScoring

    # two series of two target columns, z-scored rows (std 2 and 10 per column); the last row of each is test
    scaled = np.array([[1.0, 1.0], [2.0, 3.0], [4.0, 2.0], [9.0, 9.0],
                       [0.0, 0.0], [0.0, 0.0], [9.0, 9.0]])
    std = np.array([[2.0, 10.0], [1.0, 1.0]])
    sc = SeriesScoring(1, scaled, [0, 4, 7], [3, 2], std, lambda v, s: v * std[s][:, None, :], ["p", "q"],
                       ["a", "b"])
    # series p: naive MAE (1, 2) and (2, 1) -> 1.5 and 1.5, times std 2 and 10; series q: a constant, no scale
    np.testing.assert_allclose(sc.scales, [[3.0, 15.0], [0.0, 0.0]])
    acc = Accumulator(sc)
    y = np.array([[[4.0, 20.0], [4.0, 20.0]], [[1.0, 1.0], [1.0, 1.0]]])  # (2 windows, 2 steps, 2 targets)
    f = np.array([[[5.0, 20.0], [3.0, 50.0]], [[1.0, 1.0], [1.0, 1.0]]])
    acc.add(y, f, np.array([0, 1]))
    tab = acc.table()
    assert tab["series"].tolist() == ["p", "p", "q", "q"] and tab["target"].tolist() == ["a", "b", "a", "b"]
    np.testing.assert_allclose(tab["smape"], [(200 / 9 + 200 / 7) / 2, (0 + 200 * 30 / 70) / 2, 0, 0])
    np.testing.assert_allclose(tab["mase"], [1 / 3, 15 / 15, np.nan, np.nan])
    assert acc.summary() == pytest.approx({"smape": tab["smape"].mean(), "mase": (1 / 3 + 1) / 2})


def test_m4_weekly_naive_baseline_through_the_panel_matches_the_competition(shared_datasets):
    """dataset=panel layout=rows on the M4 Weekly files: the baseline (season 1: Naive) scores the competition's
    published sMAPE 9.161 and MASE 2.777, so the product path computes M4's figures."""
    from seqlab.config import compose

    cfg = compose(["dataset=panel", "dataset.layout=rows", "dataset.path=M4-Weekly-train.csv.gz",
                   "dataset.test_path=M4-Weekly-test.csv.gz", "dataset.horizon=13"]).dataset
    splits, _ = load(cfg, data_dir=str(shared_datasets))
    assert splits.baseline_name == "repeat last value" and splits.scoring.season == 1
    base = splits.baseline()
    assert len(splits.test) == 359 and round(base["smape"], 3) == 9.161 and round(base["mase"], 3) == 2.777


def test_panel_run_scores_each_series_in_its_own_units(tmp_path):
    """A long panel of two daily series at levels 10 and 1000: metrics.json's errors in original units come back
    through each series' own scaling, and series_scores.csv has a row per series; season 7 inferred (daily)."""
    from inprocess import seqlab_main

    rng = np.random.default_rng(0)
    t = pd.date_range("2024-01-01", periods=120, freq="D")
    pd.concat([pd.DataFrame({"unique_id": sid, "ds": t.astype(str), "y": level * (1 + 0.1 * rng.normal(size=120))})
               for sid, level in (("small", 10.0), ("big", 1000.0))]).to_csv(tmp_path / "long.csv", index=False)
    run = tmp_path / "run"
    r = seqlab_main("dataset=panel", f"dataset.path={tmp_path / 'long.csv'}", "dataset.time_column=ds",
                    "dataset.input_len=14", "dataset.horizon=7", "model=linear", "trainer=lstsq", *QUIET,
                    f"hydra.run.dir={run}")
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((run / "metrics.json").read_text())
    assert m["baseline_name"] == "seasonal naive (season 7)" and m["scores"]["series"] == 2
    table = pd.read_csv(run / "series_scores.csv").set_index("series")
    assert sorted(table.index) == ["big", "small"] and (table["smape"] > 0).all()
    # noise of 10 % of the level: the mean absolute error in original units is dominated by "big" (~100 per step)
    assert 20 < m["test_original_units"]["mae"] < 500


def test_smape_and_mase_are_minimised_by_report_compare_and_sweeps():
    from seqlab.config.metric import metric_direction

    assert [metric_direction(n) for n in ("test.smape", "test.mase", "baseline.mase", "val_scores.smape")] == \
        ["min"] * 4
