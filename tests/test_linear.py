"""model=linear and trainer=lstsq: the exact least-squares fit, its ridge penalty, its checks and its outputs."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET

from seqlab.config import ConfigError, compose, validate
from seqlab.train import run


def _series(tmp_path, rows=500):
    """Two noisy seasonal columns with a trend and different scales (the windows' levels and spreads differ)."""
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    frame = pd.DataFrame({"a": 0.02 * t + 3 * np.sin(t / 5) + rng.normal(0, 0.3, rows),
                          "b": -5 + np.cos(t / 9) * (1 + t / rows) + rng.normal(0, 0.2, rows)})
    path = tmp_path / "series.csv"
    frame.to_csv(path, index=False)
    return ["dataset=csv", f"dataset.path={path}", "dataset.input_len=16", "dataset.horizon=4", "model=linear"]


def _train_split(cfg):
    from seqlab import data

    return data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)[0].train


def _full_batch_loss_and_gradient(model, split):
    """The training objective over the whole split (mean squared error plus the L2 penalty) and its gradient with
    respect to the head's kernel and bias."""
    import tensorflow as tf

    x, y = split.arrays()
    head = model.get_layer("head")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x, training=False) - y)) + tf.add_n(model.losses or [0.0])
    return float(loss), [g.numpy() for g in tape.gradient(loss, head.trainable_variables)]


@pytest.mark.parametrize("overrides", [
    ["model.norm=last", "model.channel_independent=true"],  # NLinear (the ETT preset)
    ["model.norm=none"],  # plain Linear over both channels' windows
    ["model.norm=revin", "model.channel_independent=true"],  # rows weighted by their window's variance
    ["model.norm=last", "model.channel_independent=true", "regularizer=l2", "regularizer.l2=0.01"],  # ridge
], ids=["nlinear", "linear", "revin", "ridge"])
def test_lstsq_solves_the_training_objective_exactly(overrides, tmp_path):
    """At the solution the gradient of the full training objective (what fit minimises step by step) vanishes, and
    moving any weight raises it; Adam for a few epochs stays above it."""
    cfg = compose(_series(tmp_path) + overrides + ["trainer=lstsq"] + QUIET)
    model, train = run(cfg, tmp_path / "lstsq").model, _train_split(cfg)
    loss, grads = _full_batch_loss_and_gradient(model, train)
    scale = max(np.abs(w).max() for w in model.get_layer("head").get_weights())
    for g in grads:
        assert np.abs(g).max() < 1e-4 * max(scale, 1.0), np.abs(g).max()
    kernel, bias = model.get_layer("head").get_weights()
    nudged = kernel + np.random.default_rng(1).normal(0, 1e-2, kernel.shape).astype(np.float32)
    model.get_layer("head").set_weights([nudged, bias])
    assert _full_batch_loss_and_gradient(model, train)[0] > loss
    adam = run(compose(_series(tmp_path) + overrides + ["trainer.epochs=3", "trainer.lr=0.01"] + QUIET),
               tmp_path / "adam").model
    assert _full_batch_loss_and_gradient(adam, train)[0] > loss


def test_lstsq_matches_numpy_on_the_nlinear_rows(tmp_path):
    """The head's weights are numpy's least-squares solution of the folded, last-value-normalised windows."""
    cfg = compose(_series(tmp_path) + ["model.norm=last", "model.channel_independent=true", "trainer=lstsq"] + QUIET)
    result = run(cfg, tmp_path / "run")
    x, y = _train_split(cfg).arrays()  # (n, 16, 2), (n, 4, 2)
    rows_x = np.transpose(x - x[:, -1:], (0, 2, 1)).reshape(-1, 16).astype(np.float64)
    rows_y = np.transpose(y - x[:, -1:], (0, 2, 1)).reshape(-1, 4).astype(np.float64)
    a = np.hstack([rows_x, np.ones((len(rows_x), 1))])
    expected = np.linalg.lstsq(a, rows_y, rcond=None)[0]
    kernel, bias = result.model.get_layer("head").get_weights()
    np.testing.assert_allclose(kernel, expected[:-1], atol=2e-4)
    np.testing.assert_allclose(bias, expected[-1], atol=2e-4)


@pytest.mark.parametrize("mode", ["last", "revin"])
def test_head_problem_follows_the_models_structure_not_its_layer_names(mode):
    """A RevIN / NLinear model whose layers carry other names: the rows reproduce its squared error exactly."""
    import keras

    from seqlab.models.layers import FoldChannels, UnfoldChannels, WindowDenorm, WindowNorm
    from seqlab.models.linear import head_layer, head_problem

    inp = keras.Input((16, 2))
    x, loc, scale = WindowNorm(mode, name="n")(inp)
    x = keras.layers.Flatten(name="fl")(FoldChannels(name="f")(x))
    out = UnfoldChannels(2, name="u")(keras.layers.Dense(4, name="d")(x))
    model = keras.Model(inp, WindowDenorm(None, name="dn")([out, loc, scale]))
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(3, 2, (8, 16, 2)).astype(np.float32), rng.normal(3, 2, (8, 4, 2)).astype(np.float32)
    features, targets, weights = head_problem(model)(xs, ys)
    kernel, bias = head_layer(model).get_weights()
    assert head_layer(model).name == "d" and features.shape == (16, 16) and targets.shape == (16, 4)
    rows_error = np.sum(weights * (features @ kernel + bias - targets) ** 2)
    np.testing.assert_allclose(rows_error, np.sum((np.asarray(model(xs), np.float64) - ys) ** 2), rtol=1e-4)


def test_lstsq_run_writes_one_epoch_and_resumes_to_the_same_weights(tmp_path):
    overrides = ["experiment=ett_linear"] + _series(tmp_path) + ["trainer.verbose=0"]
    first = run(compose(overrides), tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["trainer"] == "lstsq" and metrics["epochs"] == 1
    assert metrics["diagnosis"]["verdict"] == "solved"
    assert metrics["test"]["mse"] < metrics["baseline"]["mse"]
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert list(history["epoch"]) == [1] and history["val_mse"].notna().all()
    assert (tmp_path / "run" / "checkpoints" / "epoch-0001.npz").exists()
    from test_tensorboard import read_tags

    tags = read_tags(tmp_path / "run" / "tb")
    assert tags["train"]["epoch_loss"][1] == [1] and tags["validation"]["epoch_mse"][1] == [1], tags
    again = run(compose(overrides + ["resume=true"]), tmp_path / "run")
    for a, b in zip(first.model.get_weights(), again.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test"] == metrics["test"]


@pytest.mark.parametrize("overrides, key", [
    (["model=gru"], "model"),
    (["dataset=text_synth"], "dataset"),
    (["dataset=imdb"], "dataset"),
    (["trainer.loss=mae"], "trainer.loss"),
    (["regularizer=dropout"], "regularizer.dropout"),
    (["regularizer.head_dropout=0.1"], "regularizer.head_dropout"),
    (["sweep=lr"], "sweep"),
    (["trainer.distribute=mirrored"], "trainer.distribute"),
    (["model.norm=revin"], "model.norm"),
])
def test_lstsq_refuses_what_it_cannot_solve_before_tensorflow(overrides, key):
    with pytest.raises(ConfigError, match="^" + key.replace(".", r"\.") + ": expected"):
        validate(compose(["dataset=sine", "model=linear", "trainer=lstsq"] + overrides))


def test_linear_model_trains_with_fit_on_series_and_text(tmp_path):
    """Without lstsq it is an ordinary model: Adam lowers its loss on a series and on text (a bag of embeddings)."""
    h = run(compose(_series(tmp_path) + ["model.norm=last", "trainer.epochs=3", "trainer.lr=0.01"] + QUIET),
            tmp_path / "series").history
    assert h["loss"][-1] < h["loss"][0], h["loss"]
    text = ["dataset=text_synth", "dataset.train_size=512", "dataset.val_size=64", "dataset.test_size=64",
            "model=linear", "trainer.epochs=4", "trainer.lr=0.01"]
    h = run(compose(text + QUIET), tmp_path / "text").history
    assert h["loss"][-1] < h["loss"][0], h["loss"]
    with pytest.raises(ConfigError, match=r"^regularizer\.recurrent_dropout"):
        validate(compose(["model=linear", "regularizer.recurrent_dropout=0.1"]))


@pytest.mark.slow
def test_the_readme_ridge_multirun_reproduces_the_documented_etth2_figures(shared_datasets, tmp_path):
    """README, trainer=lstsq: the Hydra multirun over regularizer.l2 on ETTh2, as a user types it (the CLI in this
    process); each job's test MSE is the one docs/RESULTS.md reports for experiment=ett_linear at lookback 336 (the
    solve has no randomness)."""
    from inprocess import seqlab_main

    r = seqlab_main("-m", "experiment=ett_linear", "dataset=etth2", "regularizer=l2", "regularizer.l2=0,1e-4,1e-3",
                    f"hydra.sweep.dir={tmp_path}", f"data_dir={shared_datasets}")
    assert r.returncode == 0, r.stderr[-3000:]
    documented = {0: (0.2053, 0.2726), 1: (0.2050, 0.2721), 2: (0.2053, 0.2716)}  # job: validation, test MSE
    for job, (val, test) in documented.items():
        metrics = json.loads((tmp_path / str(job) / "metrics.json").read_text())
        assert metrics["trainer"] == "lstsq" and metrics["dataset"] == "etth2"
        assert metrics["final"]["val_mse"] == pytest.approx(val, abs=1e-4)
        assert metrics["test"]["mse"] == pytest.approx(test, abs=1e-4)


def test_lstsq_refuses_a_window_too_wide_to_solve_before_the_pass(tmp_path, monkeypatch):
    """Many channels flattened together make the normal equations huge: the error names the option that folds them."""
    from seqlab.train import lstsq

    monkeypatch.setattr(lstsq, "MAX_GRAM_BYTES", 8 * 20**2)  # 16 steps x 2 channels = 32 features: too many
    cfg = compose(_series(tmp_path) + ["model.norm=none", "trainer=lstsq"] + QUIET)
    with pytest.raises(ConfigError, match=r"^model\.channel_independent: expected true.*32 features"):
        run(cfg, tmp_path / "wide")
    run(compose(_series(tmp_path) + ["model.channel_independent=true", "trainer=lstsq"] + QUIET), tmp_path / "folded")
