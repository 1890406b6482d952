"""A wide panel file's columns known ahead and shared by every series (dataset.layout=columns
dataset.future_columns=[holiday]): the same windows as the long file repeating them per series, a model that reads
them, `seqlab predict` reading the horizon's values from the rows after each series' end (or --future FILE) and
naming what is missing; the rows layout refuses them before TensorFlow."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET
from inprocess import seqlab_main

import seqlab
from seqlab import data
from seqlab.config import ConfigError, compose, validate

L, H = 8, 4
SPANS = [(0, 120), (10, 120), (0, 100)]  # each series' rows: staggered starts and ends


def wide(seed=0) -> pd.DataFrame:
    """Daily series whose values are their level plus 5 on a holiday (a random flag, known ahead, unpredictable
    from the past); the last H rows hold only the time and the flag (the horizon's values known ahead)."""
    rng = np.random.default_rng(seed)
    n = 120 + H
    holiday = (rng.random(n) < 0.3).astype(float)
    frame = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                          "holiday": holiday})  # before the series: it must not be read as one
    for k, (a, b) in enumerate(SPANS):
        v = np.full(n, np.nan)
        v[a:b] = 10.0 * (k + 1) + 5 * holiday[a:b] + rng.normal(0, 0.01, b - a)
        frame[f"s{k}"] = v
    return frame


def long_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The same panel as a long file: one row per series and time, the shared column repeated."""
    parts = [pd.DataFrame({"unique_id": s, "ds": frame["ds"], "y": frame[s], "holiday": frame["holiday"]}).dropna()
             for s in ("s0", "s1", "s2")]
    return pd.concat(parts, ignore_index=True)


def overrides(path, layout, *extra):
    return ["dataset=panel", f"dataset.path={path}", f"dataset.layout={layout}", "dataset.time_column=ds",
            f"dataset.input_len={L}", f"dataset.horizon={H}", "dataset.future_columns=[holiday]", *extra]


def test_wide_shared_future_columns_give_the_long_files_windows(tmp_path):
    frame = wide()
    frame.to_csv(tmp_path / "columns.csv", index=False)
    long_of(frame).to_csv(tmp_path / "long.csv", index=False)
    extra = ["dataset.calendar=[dayofweek]", "model=linear"]
    (ws, wspec), (ls, lspec) = (data.load(compose(overrides(tmp_path / f"{k}.csv", k, *extra)).dataset)
                                for k in ("columns", "long"))
    assert wspec == lspec and wspec.future_names == ("dayofweek_sin", "dayofweek_cos", "holiday")
    assert wspec.input_shape == (L, 4)  # y, holiday (a past covariate too), the calendar's sin/cos
    for name in ("train", "val", "test"):
        (wx, wy), (lx, ly) = getattr(ws, name).arrays(), getattr(ls, name).arrays()
        assert len(wy) > 0 and set(wx) == {"series", "future"}
        for key in wx:
            np.testing.assert_array_equal(wx[key], lx[key])
        np.testing.assert_array_equal(wy, ly)
    # each series' holiday column in its own rows: the future input of s1's first window is the flag after it
    scaler = ws.artifacts["transforms"]["series_standardize"]
    x, _ = ws.train.arrays()
    first = np.flatnonzero(ws.train.series_index() == 1)[0]
    flag = frame["holiday"].to_numpy()[10 + L:10 + L + H]
    np.testing.assert_allclose(x["future"][first, :, 2], scaler.apply(flag[:, None], np.array([1]), ["holiday"])[:, 0],
                               rtol=1e-5, atol=1e-5)


def test_wide_future_column_gaps_and_the_rows_layout_are_refused(tmp_path):
    frame = wide()
    frame.loc[50, "holiday"] = np.nan  # inside every series
    frame.to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(ConfigError, match=r"dataset\.future_columns: .*gaps.*'holiday': \['2024-02-20"):
        validate(compose(overrides(tmp_path / "gap.csv", "columns", "model=linear")))
    # rows (M4 files): no place for a column beside the values; named before TensorFlow, with what is expected
    rows = ["dataset=panel", "dataset.layout=rows", "dataset.path=x.csv", "model=linear"]
    with pytest.raises(ConfigError, match=r"^dataset\.future_columns: expected dataset\.layout=long .* or columns "
                       r".*got 'dataset\.layout=rows'"):
        validate(compose(rows + ["dataset.future_columns=[holiday]"]))
    with pytest.raises(ConfigError, match=r"^dataset\.calendar: expected a panel with dataset\.time_column.*rows"):
        validate(compose(rows + ["dataset.calendar=[dayofweek]", "dataset.time_column=ds"]))


@pytest.fixture(scope="module")
def holiday_run(tmp_path_factory):
    """(folder, wide frame, run dir): a linear model solved exactly on the wide file with its holiday column."""
    tmp = tmp_path_factory.mktemp("wide")
    frame = wide()
    frame.to_csv(tmp / "wide.csv", index=False)
    r = seqlab_main(*overrides(tmp / "wide.csv", "columns", "model=linear", "model.norm=none", "trainer=lstsq",
                               "dataset.season=1"),  # season 1: the baseline repeats the last value
                    f"hydra.run.dir={tmp / 'run'}", *QUIET)
    assert r.returncode == 0, r.stderr[-3000:]
    return tmp, frame, tmp / "run"


def test_a_model_learns_the_shared_future_column(holiday_run):
    """The values move only with the holiday flag: repeating the last value misses them, the model reads them."""
    _, _, run_dir = holiday_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["baseline_name"] == "repeat last value", metrics["baseline_name"]
    assert metrics["test"]["mse"] < 0.01 * metrics["baseline"]["mse"] and metrics["baseline"]["mse"] > 0.5, metrics


def test_predict_reads_the_shared_rows_ahead_and_names_what_is_missing(holiday_run):
    folder, frame, run_dir = holiday_run
    out = folder / "out.csv"
    r = seqlab_main("predict", str(run_dir), str(folder / "wide.csv"), "--output", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    table = pd.read_csv(out)
    assert table["id"].tolist() == [s for s in ("s0", "s1", "s2") for _ in range(H)]
    ends = [b for _, b in SPANS]
    truth = [10.0 * (k + 1) + 5 * frame["holiday"].to_numpy()[b + h] for k, b in enumerate(ends) for h in range(H)]
    np.testing.assert_allclose(table["forecast"], truth, atol=0.1)  # s2's rows ahead: those after its own end
    assert table["timestamp"].tolist()[:H] == frame["ds"].iloc[120:].tolist()
    # the same rows ahead from --future FILE (the time and the shared column) after the history
    frame.iloc[:120].to_csv(folder / "history.csv", index=False)
    frame.iloc[120:][["ds", "holiday"]].to_csv(folder / "ahead.csv", index=False)
    r = seqlab_main("predict", str(run_dir), str(folder / "history.csv"), "--future", str(folder / "ahead.csv"),
                    "--output", str(folder / "f.csv"))
    assert r.returncode == 0, r.stderr[-3000:]
    np.testing.assert_allclose(pd.read_csv(folder / "f.csv")["forecast"], table["forecast"], rtol=1e-6)
    # without the rows ahead: refused, naming the series, the column and the steps' count
    r = seqlab_main("predict", str(run_dir), str(folder / "history.csv"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{H} rows after each series' history" in r.stderr and "first 's0' missing ['holiday']" in r.stderr
    # without the column: named
    frame.drop(columns=["holiday"]).to_csv(folder / "no_holiday.csv", index=False)
    pred = seqlab.load(run_dir)
    with pytest.raises(ConfigError, match=r"future columns \['holiday'\].*missing \['holiday'\]"):
        pred.forecast(pd.read_csv(folder / "no_holiday.csv"))
