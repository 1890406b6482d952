"""Inputs known in advance (dataset.calendar, dataset.future_columns): the dict model input, the calendar across a
DST change, gaps refused, predict naming what is missing, export parity."""

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET_ONE_EPOCH

from seqlab import data
from seqlab.config import ConfigError, compose
from seqlab.data.known import calendar_features
from seqlab.data.timecolumns import parse_time

# sine_1 is known ahead for sine_0's horizon: the model's input is {"series", "future"}
FUTURE_SINE = ["dataset=sine", "dataset.length=200", "dataset.input_len=8", "dataset.horizon=4",
               "dataset.future_columns=[sine_1]", "dataset.targets=[sine_0]", "dataset.limit=40"]
FAMILIES = {
    "linear": ["model=linear"],
    "gru": ["model=gru", "model.units=4"],
    "conv1d": ["model=conv1d", "model.filters=4"],
    # the window-forecasting wrapper: revin, one model per channel, patches, SegRNN's parallel decoder
    "segrnn": ["model=gru", "model.units=4", "model.norm=revin", "model.channel_independent=true",
               "model.patch=4", "model.patch_embedding=true", "model.decoder=pmf",
               "dataset.targets=[sine_0,sine_1]"],
}


# each family once and each trainer twice: the batches reach the model alike for every family, and each family
# builds its input alike for both trainers (the trainers' dict handling: train/batches.py batch_rows)
@pytest.mark.parametrize("family,trainer", [("linear", "tape"), ("gru", "fit"), ("conv1d", "tape"),
                                            ("segrnn", "fit")])
def test_every_family_trains_on_the_dict_input_and_reads_the_future(family, trainer, tmp_path):
    from seqlab.models import build
    from seqlab.train import run

    cfg = compose(FUTURE_SINE + FAMILIES[family] + [f"trainer={trainer}"] + QUIET_ONE_EPOCH)
    splits, spec = data.load(cfg.dataset, seed=0)
    x, y = splits.train.arrays(np.arange(3))
    assert spec.future_shape == (4, 1) and x["future"].shape == (3, 4, 1) and x["series"].shape == (3, 8, 2)
    # the future input of a window is sine_1 (z-scored) over the window's horizon
    np.testing.assert_allclose(x["future"][0, :, 0], splits.train.inputs[8:12, 1], rtol=1e-6)
    result = run(cfg, tmp_path)
    assert np.isfinite(result.test["mse"])
    model = build(cfg.model, cfg.regularizer, spec)
    shifted = {"series": x["series"], "future": x["future"] + 1.0}
    assert not np.allclose(model(x), model(shifted))  # the forecast depends on the future input


def _hours(features):  # (rows, 2) sin/cos of the hour -> the hour 0..23
    return np.round(np.mod(np.arctan2(features[:, 0], features[:, 1]) * 24 / (2 * np.pi), 24)).astype(int) % 24


@pytest.mark.parametrize("start,local_hours", [
    ("2026-03-28 23:00", [23, 0, 1, 3, 4]),  # spring: 02:00 does not exist in Berlin
    ("2026-10-24 23:00", [23, 0, 1, 2, 2, 3]),  # autumn: 02:00 twice (+02:00, then +01:00)
])
def test_calendar_hours_follow_local_time_across_a_dst_change(start, local_hours, tmp_path):
    times = pd.date_range(start, periods=len(local_hours), freq="h", tz="Europe/Berlin")
    raw = pd.DataFrame({"time": times.astype(str), "y": np.arange(len(times), dtype=float)})
    assert raw["time"].str[-6:].nunique() == 2  # the offsets change inside the column: parsed as UTC
    frame, parsed, report = parse_time(raw, ["time"], tmp_path / "dst.csv")
    assert report["gaps"] == 0 and report["duplicate_timestamps"] == 0  # in absolute time, hourly throughout
    assert _hours(calendar_features(pd.Series(frame.index), ["hour"])).tolist() == local_hours
    # a column of one time zone (e.g. a DataFrame handed in) is read in it as well
    assert _hours(calendar_features(pd.Series(times), ["hour"])).tolist() == local_hours


def test_future_column_gaps_are_refused_naming_the_key_and_rows(tmp_path):
    path = tmp_path / "gaps.csv"
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=120, freq="h").astype(str),
                          "y": np.sin(np.arange(120) / 5), "price": np.arange(120, dtype=float)})
    frame.loc[[30, 31], "price"] = np.nan
    frame.to_csv(path, index=False)
    cfg = compose(["dataset=csv", f"dataset.path={path}", "dataset.time_column=date", "dataset.input_len=8",
                   "dataset.horizon=4", "dataset.future_columns=[price]", "dataset.interpolate=true"])
    with pytest.raises(ConfigError, match=r"dataset\.future_columns.*price.*2024-01-02 06:00:00"):
        data.load(cfg.dataset, seed=0)
    with pytest.raises(ConfigError, match=r"dataset\.calendar.*fortnight"):
        data.load(compose(["dataset=csv", f"dataset.path={path}", "dataset.time_column=date",
                           "dataset.calendar=[fortnight]"]).dataset, seed=0)


# y is 3 * price plus the hour's sine: known ahead, price and the calendar make it exactly predictable
KNOWN = ["dataset=csv", "dataset.time_column=date", "dataset.input_len=8", "dataset.horizon=4",
         "dataset.targets=[y]", "model=linear", "model.norm=none", "trainer=lstsq"]


def _sales(n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = pd.date_range("2024-03-01", periods=n, freq="h")
    price = rng.normal(10, 2, n)
    return pd.DataFrame({"date": t.astype(str), "y": 3 * price + np.sin(2 * np.pi * t.hour / 24), "price": price})


@pytest.fixture(scope="module")
def sales_run(tmp_path_factory):
    """(folder, frame, run dir) of a run with dataset.future_columns=[price] and dataset.calendar=[hour]."""
    from inprocess import seqlab_main

    tmp = tmp_path_factory.mktemp("sales")
    frame = _sales()
    frame.to_csv(tmp / "sales.csv", index=False)
    r = seqlab_main(*KNOWN, f"dataset.path={tmp / 'sales.csv'}", "dataset.future_columns=[price]",
                    "dataset.calendar=[hour]", f"hydra.run.dir={tmp / 'run'}", *QUIET_ONE_EPOCH)
    assert r.returncode == 0, r.stderr
    return tmp, frame, tmp / "run"


def test_the_future_input_makes_the_forecast(sales_run, tmp_path):
    import json

    from inprocess import seqlab_main

    folder, _, run_dir = sales_run
    r = seqlab_main(*KNOWN, f"dataset.path={folder / 'sales.csv'}", f"hydra.run.dir={tmp_path}", *QUIET_ONE_EPOCH)
    assert r.returncode == 0, r.stderr
    with_future = json.loads((run_dir / "metrics.json").read_text())["test"]["mse"]
    without = json.loads((tmp_path / "metrics.json").read_text())["test"]["mse"]
    assert with_future < 1e-6 < 0.5 < without  # price is random: without its future values y is unpredictable


def test_predict_reads_the_future_rows_and_names_what_is_missing(sales_run):
    from inprocess import seqlab_main

    folder, frame, run_dir = sales_run
    history, ahead = frame.iloc[:100], frame.iloc[100:104][["date", "price"]]
    truth = frame["y"].iloc[100:104].to_numpy()
    pd.concat([history, ahead]).to_csv(folder / "input.csv", index=False)  # the rows ahead: y left empty
    history.to_csv(folder / "history.csv", index=False)
    ahead.to_csv(folder / "future.csv", index=False)
    for args in (["input.csv"], ["history.csv", "--future", "future.csv"]):
        out = folder / "out.csv"
        r = seqlab_main("predict", str(run_dir), *[str(folder / a) if a.endswith(".csv") else a for a in args],
                        "--output", str(out), "--overwrite")
        assert r.returncode == 0, r.stderr
        forecast = pd.read_csv(out)
        np.testing.assert_allclose(forecast["forecast"], truth, atol=1e-3)
        assert forecast["timestamp"].tolist() == frame["date"].iloc[100:104].tolist()
    pd.concat([history, ahead.iloc[:2]]).to_csv(folder / "short.csv", index=False)
    r = seqlab_main("predict", str(run_dir), str(folder / "short.csv"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "future columns" in r.stderr and "'price': ['step 3', 'step 4']" in r.stderr
    history.drop(columns=["price"]).to_csv(folder / "no_price.csv", index=False)
    r = seqlab_main("predict", str(run_dir), str(folder / "no_price.csv"))
    assert r.returncode == 2 and "missing ['price']" in r.stderr and "Traceback" not in r.stderr


def test_export_takes_named_series_and_future_inputs_with_parity(sales_run):
    import tensorflow as tf
    from inprocess import seqlab_main

    _, _, run_dir = sales_run
    for fmt in ("saved_model", "litert"):
        r = seqlab_main("export", str(run_dir), "--format", fmt, "--overwrite")
        assert r.returncode == 0 and "parity" in r.stdout, r.stderr
    loaded = tf.saved_model.load(str(run_dir / "export" / "saved_model"))
    inputs = loaded.signatures["serving_default"].structured_input_signature[1]
    assert {k: tuple(v.shape) for k, v in inputs.items()} == {"series": (None, 8, 4), "future": (None, 4, 3)}


def test_onnx_takes_the_series_and_future_inputs(sales_run, tmp_path):
    from test_panel_export import NO_ONNX, onnx_outputs

    import seqlab
    from seqlab.inference.export import export, raw_examples

    pytest.importorskip("tf2onnx", reason=NO_ONNX)
    pytest.importorskip("onnxruntime", reason=NO_ONNX)
    _, _, run_dir = sales_run
    res = export(run_dir, "onnx", tmp_path / "m.onnx", tolerance=1e-4)
    assert res["max_abs_diff"] <= 1e-4
    pred = seqlab.load(run_dir)
    raw, _ = raw_examples(pred)  # (series, future) raw
    out = onnx_outputs(res["path"], pred.model_inputs(*raw))  # the model's own inputs: z-scored on the host
    want = pred.predict(*raw)  # `seqlab predict`'s forecast, original units
    assert np.ptp(want) > 1
    np.testing.assert_allclose(pred.scaler.invert(out, pred.targets), want, rtol=1e-4, atol=1e-4)


def test_backtest_reads_the_values_known_ahead_of_every_window(sales_run, tmp_path):
    """seqlab backtest on a run with future columns and calendar features: each window's horizon gets its own
    known-ahead values (y is unpredictable without the price, and exact with it)."""
    import pandas as pd
    from inprocess import seqlab_main

    _, _, run_dir = sales_run
    r = seqlab_main("backtest", str(run_dir), "--windows", "3", "--out", str(tmp_path / "bt"))
    assert r.returncode == 0, r.stderr[-3000:]
    rows = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert len(rows) == 3 and rows["model_mse"].max() < 1e-4 < 0.1 < rows["repeat_mse"].min()
