"""model.quantiles: the monotone quantile head on every built-in family, the pinball loss and its gradient, a tiny
training with quantiles and conformal intervals through both trainers."""

import json

import numpy as np
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


@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_tiny_training_with_quantiles_and_intervals(tmp_path, trainer):
    """Both trainers train the quantile head on the pinball loss; metrics.json has the coverage and width of the
    test split's intervals, and inference.json the conformal offsets."""
    from seqlab.train import run

    cfg = compose(TINY_SERIES + QUIET + ["model=gru", "model.units=4", Q, "trainer.intervals=[80,95]",
                                         f"trainer={trainer}", "trainer.epochs=2"])
    result = run(cfg, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    test = metrics["test"]
    hist = result.history
    assert hist["loss"][-1] < hist["loss"][0] and {"mse", "mae", "val_mse"} <= set(hist)
    for key in ("coverage_80", "coverage_95", "width_80", "width_95"):
        assert np.isfinite(test[key]), key
    assert 0 <= test["coverage_80"] <= test["coverage_95"] <= 1 and test["width_80"] < test["width_95"]
    intervals = json.loads((tmp_path / "inference.json").read_text())["transforms"]["intervals"]
    assert intervals["method"] == "cqr" and np.array(intervals["offsets"]["95"]).shape == (2, 2)
