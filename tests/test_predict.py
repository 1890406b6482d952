"""seqlab.load and `seqlab predict`: raw inputs in, the model's own test-time predictions out, per dataset family."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET_ONE_EPOCH as QUIET  # noqa: F401 - test_pictures, test_predict_cases import it

import seqlab
from seqlab import data
from seqlab.config import ConfigError, compose
from seqlab.inference.artifacts import write_artifacts
from seqlab.train import run


def train_run(run_dir, overrides, extra_callbacks=None):
    """A one-epoch run with its inference artifacts; returns (result, splits, spec) (the lead wires
    write_artifacts into run(); until then it is called here)."""
    cfg = compose(overrides + QUIET)
    result = run(cfg, run_dir, extra_callbacks=extra_callbacks)
    splits, spec = data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)
    splits = splits.limited(cfg.dataset.get("limit"))
    write_artifacts(run_dir, cfg, splits, spec)
    return result, splits, spec


def series_csv(path, rows=400):
    """Two sine columns and an hourly time column, like a user's training CSV."""
    t = np.arange(rows)
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=rows, freq="h").astype(str),
                          "a": 10 + 3 * np.sin(t / 7), "b": -5 + np.cos(t / 11)})
    frame.to_csv(path, index=False)
    return frame


SERIES = ["dataset=csv", "dataset.time_column=date", "dataset.input_len=24", "dataset.horizon=4",
          "model=gru", "model.units=8"]


# series_run: the session's trained csv run (conftest.py), shared with test_export.py


def test_series_round_trip_in_original_units(series_run):
    tmp, frame, result, splits = series_run
    pred = seqlab.load(tmp / "run")
    x, _ = splits.test.arrays()
    expected = result.model.predict(x, verbose=0) * pred.y_std + pred.y_mean  # (n, 4, 2) original units
    raw = x * pred.x_std + pred.x_mean
    np.testing.assert_allclose(pred.predict(raw), expected, rtol=1e-5, atol=1e-5)
    assert pred.y_mean[0] == pytest.approx(frame["a"][:int(0.7 * 400)].mean())  # the training rows' statistics

    out = pred.forecast(frame.tail(100))
    assert list(out["step"]) == [1, 2, 3, 4] and list(out.columns[-2:]) == ["a", "b"]
    assert pd.Timestamp(out["time"].iloc[0]) == pd.Timestamp(frame["date"].iloc[-1]) + pd.Timedelta("1h")
    last = frame[["a", "b"]].to_numpy()[-24:][None]
    np.testing.assert_allclose(out[["a", "b"]].to_numpy(), pred.predict(last)[0], rtol=1e-6)


def test_series_rolling_and_metrics_against_baseline(series_run):
    tmp, frame, _, _ = series_run
    pred = seqlab.load(tmp / "run")
    out = pred.forecast(frame.tail(40), rolling=True)
    assert len(out) == (40 - 24 + 1) * 4
    inside = out.dropna()
    assert len(inside) == (40 - 24 - 4 + 1) * 4 + 6  # the last windows reach past the input's end
    m = pred.evaluate(frame.tail(40))
    assert m["windows"] == 40 - 24 - 4 + 1
    err = inside["a"] - inside["a_actual"]
    assert np.isfinite(m["mse_original"]) and m["baseline_mse"] > 0 and float(np.abs(err).max()) > 0


def test_series_errors_are_clear(series_run):
    tmp, frame, _, _ = series_run
    pred = seqlab.load(tmp / "run")
    with pytest.raises(ConfigError, match=r"missing \['b'\]"):
        pred.forecast(frame.drop(columns=["b"]))
    with pytest.raises(ConfigError, match="extra columns"):
        pred.forecast(frame.assign(c=1.0))
    assert len(pred.forecast(frame.assign(c=1.0), ignore_extra=True)) == 4
    with pytest.raises(ConfigError, match="at least input_len = 24 rows"):
        pred.forecast(frame.tail(10))
    with pytest.raises(ConfigError, match="numbers in column 'a'"):
        pred.forecast(frame.assign(a="x"))


def test_predict_cli_writes_forecast_metrics_and_plot(series_run, tmp_path, capsys):
    from seqlab.cli import main

    tmp, frame, _, _ = series_run
    frame.tail(60).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(SystemExit) as exit_:
        main(["predict", str(tmp / "run"), str(tmp_path / "new.csv"), "--output", str(tmp_path / "f.csv"),
              "--plot", str(tmp_path / "f.png")])
    assert exit_.value.code == 0
    out = pd.read_csv(tmp_path / "f.csv")  # long (neuralforecast's convention): a row per target and step
    assert list(out.columns) == ["id", "timestamp", "step", "forecast"] and list(out["id"]) == ["a"] * 4 + ["b"] * 4
    with pytest.raises(SystemExit) as exit_:
        main(["predict", str(tmp / "run"), str(tmp_path / "new.csv"), "--output", str(tmp_path / "w.csv"),
              "--format", "wide"])
    wide = pd.read_csv(tmp_path / "w.csv")  # a row per step, a column per target: the same numbers
    assert exit_.value.code == 0 and len(wide) == 4 and {"time", "a", "b"} <= set(wide.columns)
    np.testing.assert_allclose(out["forecast"], np.concatenate([wide["a"], wide["b"]]))
    assert list(out["timestamp"][:4]) == list(wide["time"]) and list(out["step"][:4]) == list(wide["step"])
    metrics = json.loads((tmp_path / "f.metrics.json").read_text())
    assert metrics["windows"] == 60 - 24 - 4 + 1 and "baseline_mse" in metrics
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert "rows/s" in capsys.readouterr().out


def test_predict_plot_x_axis_is_the_inputs_timestamps_for_a_run_with_a_time_column(series_run, tmp_path,
                                                                                   monkeypatch):
    from seqlab import plots
    from seqlab.cli import main

    tmp, frame, _, _ = series_run
    figures = []
    monkeypatch.setattr(plots, "save_png", lambda fig, path: figures.append(fig))
    frame.tail(60).to_csv(tmp_path / "new.csv", index=False)
    frame.tail(60).drop(columns=["date"]).to_csv(tmp_path / "untimed.csv", index=False)
    for name in ("new.csv", "untimed.csv"):
        with pytest.raises(SystemExit) as exit_:
            main(["predict", str(tmp / "run"), str(tmp_path / name), "--output", str(tmp_path / f"{name}.out.csv"),
                  "--plot", str(tmp_path / "p.png")])
        assert exit_.value.code == 0
    timed, untimed = (fig.axes[0] for fig in figures)
    lines = {line.get_label(): line.get_xdata() for line in timed.lines}
    history, forecast = lines["history"], lines["forecast"]
    dates = pd.to_datetime(frame["date"])
    assert list(pd.to_datetime(history)) == list(dates.tail(24))  # history at its own times
    assert list(pd.to_datetime(forecast)) == [dates.iloc[-1] + pd.Timedelta(hours=h) for h in (1, 2, 3, 4)]
    assert figures[0].axes[-1].get_xlabel() == "time"
    assert list(untimed.lines[0].get_xdata()) == list(range(-23, 1))  # no timestamps in the input: steps
    assert figures[1].axes[-1].get_xlabel() == "step (0 = last input row)"


@pytest.mark.slow
def test_text_round_trip_from_raw_strings(tmp_path):
    result, splits, spec = train_run(tmp_path / "run", ["dataset=text_synth", "dataset.train_size=256",
                                                        "dataset.val_size=64", "dataset.test_size=64",
                                                        "model=lstm", "model.units=8"])
    pred = seqlab.load(tmp_path / "run")
    x, y = splits.test.arrays()
    vocab = pred.text.vocabulary
    texts = [" ".join(vocab[i] for i in row[row != 0]) for row in x]  # text_synth has no unknown words
    np.testing.assert_array_equal(pred.encode(texts), x)
    p = result.model.predict(x, verbose=0)[:, 0]
    table = pred.predict(texts)
    np.testing.assert_allclose(table["prob_positive"], p, rtol=1e-5, atol=1e-6)
    assert set(table["label"]) <= {"negative", "positive"}
    with pytest.raises(ConfigError, match="a list of str"):
        pred.encode([1, 2])


@pytest.mark.slow
def test_ucr_round_trip_from_raw_rows(tmp_path):
    from test_train import _ucr

    result, splits, spec = train_run(tmp_path / "run", ["dataset=ucr", "model=gru", "model.units=8"]
                                     + _ucr(tmp_path, n=60))
    pred = seqlab.load(tmp_path / "run")
    x, _ = splits.test.arrays()
    norm = pred.meta["normalization"]
    rows = x[:, :, 0] * norm["std"] + norm["mean"]
    np.testing.assert_allclose(pred.predict_proba(rows), result.model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert list(pred.predict(rows).columns) == ["label", "prob_1", "prob_2", "prob_3"]
