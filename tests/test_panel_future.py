"""Inputs known ahead on a panel: dataset.calendar and dataset.future_columns per series, `seqlab predict` reading
each series' rows ahead (naming what is missing), export parity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET
from inprocess import seqlab_main

import seqlab
from seqlab import data
from seqlab.config import ConfigError, compose, validate
from seqlab.inference.export import export
from seqlab.inference.panel import PanelPredictor
from seqlab.inference.predict_cli import main as predict_main
from seqlab.train import run
from seqlab.train.outputs import write_config_yaml

L, H = 8, 4


def sales_panel(n=(90, 100, 110), seed=0) -> pd.DataFrame:
    """Three hourly series whose sales fall with their (known ahead) price, each on its own level."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, rows in enumerate(n):
        price = rng.uniform(1, 2, rows)
        parts.append(pd.DataFrame({"unique_id": f"s{k}", "ds": pd.date_range(f"2024-01-0{k + 1}", periods=rows,
                                                                             freq="h"),
                                   "price": price, "y": 10.0 * (k + 1) - 3 * price + rng.normal(0, 0.1, rows)}))
    return pd.concat(parts, ignore_index=True)


def overrides(path, *extra):
    return ["dataset=panel", f"dataset.path={path}", "dataset.id_column=unique_id", "dataset.time_column=ds",
            f"dataset.input_len={L}", f"dataset.horizon={H}", "dataset.calendar=[hour]",
            "dataset.future_columns=[price]", *extra]


def test_panel_windows_carry_each_series_future(tmp_path):
    frame = sales_panel()
    frame.to_csv(tmp_path / "p.csv", index=False)
    splits, spec = data.load(compose(overrides(tmp_path / "p.csv", "model=linear")).dataset)
    assert spec.future_names == ("hour_sin", "hour_cos", "price") and spec.input_shape == (L, 4)
    x, _ = splits.test.arrays()
    starts = splits.test.starts.astype(int)
    scaler = splits.artifacts["transforms"]["series_standardize"]
    series = splits.test.series_index()
    # the future columns scaled with each series' own statistics, read at the window's horizon rows
    price = frame["price"].to_numpy()[starts[:, None] + L + np.arange(H)]
    np.testing.assert_allclose(x["future"][..., 2], scaler.apply(price[..., None], series, ["price"])[..., 0],
                               rtol=1e-5, atol=1e-5)
    hours = pd.DatetimeIndex(frame["ds"].to_numpy()[starts + L]).hour.to_numpy()
    np.testing.assert_allclose(x["future"][:, 0, 0], np.sin(2 * np.pi * hours / 24), atol=1e-5)


def test_future_columns_of_a_wide_file_are_its_columns():  # the rows layout: tests/test_panel_wide_future.py
    with pytest.raises(ConfigError, match=r"dataset\.future_columns: expected numeric columns of panel_wide.csv, "
                       r"got 'price' \(valid choices: store_a, store_b, store_c\)"):
        validate(compose(["dataset=panel", "dataset.path=docs/examples/panel_wide.csv", "dataset.layout=columns",
                          "dataset.time_column=ds", "dataset.future_columns=[price]", "model=linear"]))


def test_predict_reads_each_series_rows_ahead_and_names_the_missing(tmp_path):
    frame = sales_panel()
    frame.to_csv(tmp_path / "p.csv", index=False)
    cfg = compose(overrides(tmp_path / "p.csv", "model=linear", "model.series_embedding=2") + QUIET
                  + ["trainer.epochs=2"])
    run(cfg, tmp_path / "run")
    ahead = []
    for sid, g in frame.groupby("unique_id"):
        times = pd.date_range(g["ds"].max() + pd.Timedelta(hours=1), periods=H, freq="h")
        ahead.append(pd.DataFrame({"unique_id": sid, "ds": times, "price": 1.5}))
    full = pd.concat([frame, *ahead], ignore_index=True)
    full.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "pred.csv"
    assert predict_main([str(tmp_path / "run"), str(tmp_path / "in.csv"), "--output", str(out)]) == 0
    table = pd.read_csv(out)
    assert table["id"].tolist() == [f"s{k}" for k in range(3) for _ in range(H)]
    assert pd.Timestamp(table["timestamp"].iloc[0]) == ahead[0]["ds"].iloc[0]
    # the same rows from --future FILE
    pd.concat(ahead).to_csv(tmp_path / "ahead.csv", index=False)
    assert predict_main([str(tmp_path / "run"), str(tmp_path / "p.csv"), "--future", str(tmp_path / "ahead.csv"),
                         "--output", str(tmp_path / "f.csv")]) == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path / "f.csv")["forecast"], table["forecast"], rtol=1e-6)
    # a higher price ahead changes the forecast: the future input is read
    full.loc[len(frame):, "price"] = 5.0
    full.to_csv(tmp_path / "dear.csv", index=False)
    assert predict_main([str(tmp_path / "run"), str(tmp_path / "dear.csv"), "--output", str(tmp_path / "d.csv")]) == 0
    assert not np.allclose(pd.read_csv(tmp_path / "d.csv")["forecast"], table["forecast"])
    # s1 without its rows ahead: refused, naming the series and the column
    missing = pd.concat([frame, ahead[0], ahead[2]], ignore_index=True)
    missing.to_csv(tmp_path / "missing.csv", index=False)
    pred = seqlab.load(tmp_path / "run")
    assert isinstance(pred, PanelPredictor)
    with pytest.raises(ConfigError, match=r"'s1'.*price"):
        pred.forecast(missing)
    assert predict_main([str(tmp_path / "run"), str(tmp_path / "missing.csv"), "--output",
                         str(tmp_path / "m.csv")]) == 2
    # a backtest reads the calendar and the future column of its windows from the run's own rows
    write_config_yaml(tmp_path / "run" / ".hydra" / "config.yaml", cfg)
    r = seqlab_main("backtest", str(tmp_path / "run"), "--windows", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(pd.read_csv(tmp_path / "run" / "backtest" / "backtest.csv")) == 3  # one window per series
    # the same forecasts as seqlab predict on each series' last H rows given as rows ahead (y blanked)
    last = frame.groupby("unique_id").cumcount(ascending=False) < H
    frame.assign(y=frame["y"].where(~last)).to_csv(tmp_path / "cut.csv", index=False)
    assert predict_main([str(tmp_path / "run"), str(tmp_path / "cut.csv"), "--output", str(tmp_path / "c.csv")]) == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path / "run" / "backtest" / "forecasts.csv")["y"],
                               pd.read_csv(tmp_path / "c.csv")["forecast"], rtol=1e-5)
    for fmt in ("saved_model", "litert"):  # serve(series, series_id, future); LiteRT: the model's three inputs
        assert export(tmp_path / "run", fmt, tolerance=1e-4)["max_abs_diff"] <= 1e-4
