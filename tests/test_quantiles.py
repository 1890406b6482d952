"""model.quantiles: the monotone quantile head on every built-in family, the pinball loss and its gradient, a tiny
training with quantiles and conformal intervals through both trainers."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET, TINY_SERIES

from seqlab.config import ConfigError, compose, validate
from seqlab.data.base import DataSpec
from seqlab.models import build

SPEC = DataSpec("sine", "regression", (12, 2), (4, 2), feature_names=("a", "b"), target_names=("a", "b"))
Q = "model.quantiles=[0.1,0.5,0.9]"
VARIANTS = {  # every family, and every way the head is reached (plain, window norm, channels folded, patches, decoder)
    "gru": ["model=gru", "model.units=4", "model.norm=none"],
    "lstm_revin_ci": ["model=lstm", "model.units=4", "model.norm=revin", "model.channel_independent=true"],
    "simplernn_patch": ["model=simplernn", "model.units=4", "model.norm=last", "model.patch=3"],
    "gru_decoder": ["model=gru", "model.units=4", "model.norm=last", "model.patch=2", "model.decoder=segments",
                    "model.channel_independent=true"],
    "conv1d": ["model=conv1d", "model.filters=4", "model.norm=last"],
    "linear_ci": ["model=linear", "model.norm=last", "model.channel_independent=true"],
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_quantile_head_is_monotone_for_random_weights_and_inputs(variant):
    """Quantiles never cross, whatever the weights (scaled up so that raw heads would cross) and inputs."""
    import keras

    cfg = compose(VARIANTS[variant] + [Q])
    m = build(cfg.model, cfg.regularizer, SPEC)
    rng = np.random.default_rng(0)
    m.set_weights([rng.normal(0, 3, w.shape).astype("float32") for w in m.get_weights()])
    x = rng.normal(0, 5, (64, 12, 2)).astype("float32")
    out = np.asarray(m(x, training=False))
    assert out.shape == (64, 4, 2, 3)
    assert np.all(np.diff(out, axis=-1) >= 0), variant
    raw = keras.Model(m.inputs, m.get_layer("head").output)(x)  # the head alone does cross: the layer is the reason
    assert np.any(np.diff(np.asarray(raw).reshape(64, -1, 3), axis=-1) < 0)


def test_pinball_gradient_matches_the_analytic_subgradient():
    """d loss / d f_q = -(tau_q - 1[y < f_q]) / (values * Q) (y never equals f here, so no kink)."""
    import tensorflow as tf

    from seqlab.models.heads import PinballLoss

    taus = [0.1, 0.5, 0.9]
    rng = np.random.default_rng(3)
    y = rng.normal(size=(8, 4, 2)).astype("float32")
    f = tf.Variable(rng.normal(size=(8, 4, 2, 3)).astype("float32"))
    with tf.GradientTape() as tape:
        loss = PinballLoss(taus)(y, f)
    grad = tape.gradient(loss, f).numpy()
    expected = -(np.array(taus) - (y[..., None] < f.numpy())) / (y.size * len(taus))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-8)
    e = y[..., None] - f.numpy()
    assert float(loss) == pytest.approx(np.mean(np.maximum(np.array(taus) * e, (np.array(taus) - 1) * e)), rel=1e-5)


@pytest.mark.parametrize("bad", ["[0.9,0.1]", "[0.1,0.1,0.5]", "[0,0.5]", "[0.5,1.2]"])
def test_quantiles_checked_before_tensorflow(bad):
    with pytest.raises(ConfigError, match="model.quantiles"):
        validate(compose(TINY_SERIES + ["model=gru", f"model.quantiles={bad}"]))


def test_intervals_and_quantiles_refused_where_they_do_not_apply():
    with pytest.raises(ConfigError, match="trainer.intervals"):
        validate(compose(TINY_SERIES + ["model=gru", "trainer.intervals=[80,80]"]))
    with pytest.raises(ConfigError, match="model.quantiles"):
        validate(compose(["dataset=imdb", "model=gru", Q]))
    with pytest.raises(ConfigError, match="model.quantiles"):
        validate(compose(TINY_SERIES + ["model=linear", "trainer=lstsq", Q]))


SERIES_Q = ["dataset=csv", "dataset.time_column=date", "dataset.input_len=24", "dataset.horizon=4", "model=gru",
            "model.units=4", Q, "trainer.intervals=[80,95]", "trainer.epochs=2"]


def train_quantiles(run_dir, overrides):
    from seqlab.train import run

    return run(compose(QUIET + overrides), run_dir)


@pytest.fixture(scope="module")
def quantile_run(tmp_path_factory):
    """A csv run (hourly time column) with a quantile head and 80/95% conformal intervals: (folder, frame, result)."""
    from test_predict import series_csv

    tmp = tmp_path_factory.mktemp("quantiles")
    frame = series_csv(tmp / "train.csv")
    result = train_quantiles(tmp / "run", SERIES_Q + [f"dataset.path={tmp / 'train.csv'}", "trainer=fit",
                                                      "trainer.tensorboard.enabled=true"])
    return tmp, frame, result


def test_interval_scores_reach_tensorboard(quantile_run):
    """test/coverage_80, test/width_95, test/msis_95 beside the other test scalars, equal to metrics.json's."""
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator as ea

    run_dir = quantile_run[0] / "run"
    acc = ea.EventAccumulator(str(run_dir / "tb" / "summary"), size_guidance={ea.TENSORS: 0})
    acc.Reload()
    test = json.loads((run_dir / "metrics.json").read_text())["test"]
    for key in ("coverage_80", "width_95", "msis_95"):
        assert float(tf.make_ndarray(acc.Tensors(f"test/{key}")[0].tensor_proto)) == pytest.approx(test[key], rel=1e-6)


@pytest.mark.parametrize("trainer", ["fit", pytest.param("tape", marks=pytest.mark.slow)])
def test_tiny_training_with_quantiles_and_intervals(quantile_run, tmp_path, trainer):
    """Both trainers train the quantile head on the pinball loss; metrics.json has the coverage, width and MSIS of
    the test split's intervals and the scaled pinball loss, beside the seasonal naive's intervals, and
    inference.json the conformal offsets."""
    tmp, _, result = quantile_run
    run_dir = tmp / "run"
    if trainer == "tape":
        run_dir = tmp_path / "tape"
        result = train_quantiles(run_dir, SERIES_Q + [f"dataset.path={tmp / 'train.csv'}", "trainer=tape"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test = metrics["test"]
    hist = result.history
    assert hist["loss"][-1] < hist["loss"][0] and {"mse", "mae", "val_mse"} <= set(hist)
    for key in ("coverage_80", "coverage_95", "width_80", "width_95", "msis_80", "msis_95", "scaled_pinball",
                "smape", "mase", "coverage_raw_80", "width_raw_80", "msis_raw_80"):  # raw: the (0.1, 0.9) pair
        assert np.isfinite(test[key]), key
    assert 0 <= test["coverage_80"] <= test["coverage_95"] <= 1 and test["width_80"] < test["width_95"]
    assert {"coverage_80", "coverage_95", "width_95", "msis_95"} <= set(metrics["baseline"])
    intervals = json.loads((run_dir / "inference.json").read_text())["transforms"]["intervals"]
    assert intervals["method"] == "cqr" and np.array(intervals["offsets"]["95"]).shape == (4, 2)
    assert metrics["intervals"]["quantile_pairs"] == {"80": [0.1, 0.9], "95": [0.1, 0.9]}


def test_predict_writes_the_intervals_and_draws_them(quantile_run):
    """seqlab predict (long format): lo-80 ... beside each target's forecast (the median), equal to the saved
    offsets applied to the model's quantiles in original units; the plot is written."""
    from inprocess import seqlab_main

    import seqlab

    tmp, frame, result = quantile_run
    frame.tail(60).to_csv(tmp / "new.csv", index=False)
    r = seqlab_main("predict", str(tmp / "run"), str(tmp / "new.csv"), "--output", str(tmp / "out.csv"), "--plot",
                    str(tmp / "out.png"))
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp / "out.csv")
    assert list(out.columns) == ["id", "timestamp", "step", "forecast", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert set(out["id"]) == {"a", "b"}
    a = out[out["id"] == "a"]
    assert (tmp / "out.png").stat().st_size > 0
    pred = seqlab.load(tmp / "run")
    raw = pred.model_inputs(frame.tail(24)[["a", "b"]].to_numpy()[None])
    q = result.model.predict(raw, verbose=0)[0]  # (horizon, targets, quantiles), model units
    off = pred.intervals.offsets[80.0]
    np.testing.assert_allclose(a["forecast"], q[:, 0, 1] * pred.y_std[0] + pred.y_mean[0], rtol=1e-5)
    np.testing.assert_allclose(a["lo-80"], (q[:, 0, 0] - off[:, 0]) * pred.y_std[0] + pred.y_mean[0], rtol=1e-5)
    np.testing.assert_allclose(a["hi-80"], (q[:, 0, 2] + off[:, 0]) * pred.y_std[0] + pred.y_mean[0], rtol=1e-5)
    assert np.all(a["lo-95"] <= a["lo-80"]) and np.all(a["hi-80"] <= a["hi-95"])


def test_export_carries_quantiles_and_intervals(quantile_run):
    """The SavedModel serves the quantiles and the interval bounds in original units; parity covers them."""
    import tensorflow as tf

    import seqlab
    from seqlab.inference.export import export

    tmp, frame, _ = quantile_run
    res = export(tmp / "run", "saved_model", tmp / "sm", tolerance=1e-4)
    assert res["max_abs_diff"] <= 1e-4
    raw = frame.tail(24)[["a", "b"]].to_numpy(np.float32)[None]
    loaded = tf.saved_model.load(str(tmp / "sm"))
    served = loaded.serve(tf.constant(raw))
    assert {"outputs", "forecast", "quantiles", "lo_80", "hi_80", "lo_95", "hi_95"} <= set(served)
    want = seqlab.load(tmp / "run").predict_bands(raw)
    np.testing.assert_allclose(served["hi_95"].numpy(), want["hi-95"], rtol=1e-5)
    assert served["quantiles"].shape == (1, 4, 2, 3)


@pytest.mark.slow
def test_panel_with_quantiles_and_intervals(tmp_path):
    """A panel (per-series scaling) with a quantile head and intervals: MSIS per series beside the naive's, predict's
    long format gains lo-80 ... hi-95 (neuralforecast's names), the export serves them within parity."""
    from test_panel import H, L, panel_frame, write_layouts

    from seqlab.inference.export import export
    from seqlab.inference.predict_cli import main as predict_main

    files = write_layouts(tmp_path, panel_frame())
    train_quantiles(tmp_path / "run", ["dataset=panel", f"dataset.path={files['long']}", f"dataset.input_len={L}",
                                       f"dataset.horizon={H}", "dataset.id_column=unique_id",
                                       "dataset.time_column=ds", "model=linear", "trainer=tape", Q,
                                       "trainer.intervals=[80,95]", "trainer.epochs=2"])
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert np.isfinite(metrics["test"]["msis_95"]) and np.isfinite(metrics["baseline"]["msis_95"])
    assert predict_main([str(tmp_path / "run"), str(files["long"]), "--output", str(tmp_path / "p.csv")]) == 0
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["id", "timestamp", "step", "forecast", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert np.all(table["lo-95"] <= table["lo-80"]) and np.all(table["hi-80"] <= table["hi-95"])
    assert export(tmp_path / "run", "saved_model", tolerance=1e-4)["max_abs_diff"] <= 1e-4


def test_backtest_scores_the_intervals_of_every_window(quantile_run):
    """seqlab backtest on a quantile run with 80/95% intervals: the median is the point forecast, each window's
    coverage/width/MSIS are those of the bounds in forecasts.csv, equal to predict's bounds for that window."""
    from inprocess import seqlab_main

    import seqlab
    from seqlab.scores import coverage, mean_width
    from seqlab.train.outputs import write_config_yaml

    tmp, frame, _ = quantile_run
    write_config_yaml(tmp / "run" / ".hydra" / "config.yaml",
                      compose(QUIET + SERIES_Q + [f"dataset.path={tmp / 'train.csv'}", "trainer=fit"]))
    r = seqlab_main("backtest", str(tmp / "run"), "--windows", "3", "--out", str(tmp / "bt"))
    assert r.returncode == 0, r.stderr[-3000:]
    rows, fc = pd.read_csv(tmp / "bt" / "backtest.csv"), pd.read_csv(tmp / "bt" / "forecasts.csv")
    assert len(rows) == 3 and {"model_coverage_80", "model_width_95", "model_msis_95"} <= set(rows.columns)
    pred = seqlab.load(tmp / "run")
    for _, row in rows.iterrows():
        w = fc[fc["window"] == row["window"]]
        truth, lo, hi = (w[[f"{t}{s}" for t in ("a", "b")]].to_numpy() for s in ("_actual", "_lo-80", "_hi-80"))
        assert row["model_coverage_80"] == pytest.approx(coverage(truth, lo, hi))
        assert row["model_width_80"] == pytest.approx(mean_width(lo, hi)) and (lo <= w[["a", "b"]].to_numpy()).all()
        start = int(row["origin"]) - pred.input_len + 1  # the same window through seqlab's predictor
        bands = pred.bands_at(frame[["a", "b"]].to_numpy(), np.array([start]))
        np.testing.assert_allclose(hi, bands["hi-80"][0], rtol=1e-5)
        np.testing.assert_allclose(w[["a", "b"]].to_numpy(), bands["forecast"][0], rtol=1e-5)
    assert "| intervals |" in (tmp / "bt" / "backtest.md").read_text()

