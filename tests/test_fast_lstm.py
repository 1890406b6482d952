"""seqlab's fast_lstm.LSTM: keras.layers.LSTM's numbers (forward, gradients, XLA), weights and files; fallbacks."""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqlab.models import fast_lstm

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 7, 3)).astype("float32")  # (batch, time, features)


def _pair(**kwargs):
    """A keras.layers.LSTM and a fast_lstm.LSTM holding the same weights."""
    ref, fast = keras.layers.LSTM(5, **kwargs), fast_lstm.LSTM(5, **kwargs)
    ref.build(X.shape)
    fast.build(X.shape)
    fast.set_weights([w + RNG.normal(scale=0.3, size=w.shape).astype("float32") for w in ref.get_weights()])
    ref.set_weights(fast.get_weights())
    return ref, fast


def _forward_and_grads(layer, x, training=False, jit=False):
    def f(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
            loss = tf.reduce_sum(tf.square(y) * 0.3 + y)  # gradients flowing into every output
        return y, tape.gradient(loss, [x] + layer.trainable_weights)

    y, grads = tf.function(f, jit_compile=jit)(tf.constant(x)) if jit else f(tf.constant(x))
    return y.numpy(), [g.numpy() for g in grads]


@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True}, {"go_backwards": True, "return_sequences": True},
                                    {"unroll": True, "return_sequences": True}, {"go_backwards": True}])
@pytest.mark.parametrize("jit", [False, True])
def test_forward_and_gradients_match_keras_lstm(kwargs, jit):
    ref, fast = _pair(**kwargs)
    y_ref, g_ref = _forward_and_grads(ref, X)
    y, g = _forward_and_grads(fast, X, jit=jit)
    assert y.shape == y_ref.shape
    np.testing.assert_allclose(y, y_ref, atol=1e-5, rtol=0)
    for a, b in zip(g, g_ref):  # d/dx, d/dkernel, d/drecurrent_kernel, d/dbias
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def test_the_input_dropout_mask_is_keras_own():
    """Same seed, same mask: one (batch, features) mask for every step, as keras.layers.LSTM draws it."""
    ref, fast = _pair(dropout=0.4, seed=3)
    y_ref, g_ref = _forward_and_grads(ref, X, training=True)
    y, g = _forward_and_grads(fast, X, training=True)
    np.testing.assert_allclose(y, y_ref, atol=1e-5)
    for a, b in zip(g, g_ref):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    assert not np.allclose(y, _forward_and_grads(fast, X)[0])  # dropout did something


@pytest.mark.parametrize("case", ["mask", "recurrent_dropout"])
def test_masks_and_recurrent_dropout_take_keras_own_loop(case, caplog):
    kwargs = {"recurrent_dropout": 0.3} if case == "recurrent_dropout" else {}
    ref, fast = _pair(**kwargs)
    mask = tf.constant(np.arange(7)[None, :] < np.array([[7], [5], [3], [1]]))  # (batch, time) padding
    with caplog.at_level(logging.INFO, logger="seqlab.models.fast_lstm"):
        y = fast(X, mask=mask if case == "mask" else None).numpy()
    np.testing.assert_allclose(y, ref(X, mask=mask if case == "mask" else None).numpy(), atol=1e-6)
    assert any("keras.layers.LSTM's own loop" in r.message for r in caplog.records)


def _model(layer_class, bidirectional=False):
    keras.utils.set_random_seed(1)
    rnn = layer_class(6, return_sequences=False, name="lstm_0")
    inp = keras.Input((7, 3))
    x = keras.layers.Bidirectional(rnn, name="bidirectional_0")(inp) if bidirectional else rnn(inp)
    return keras.Model(inp, keras.layers.Dense(1, name="head")(x))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_weights_of_a_keras_lstm_model_load_into_the_fast_one_and_back(tmp_path, bidirectional):
    old, new = _model(keras.layers.LSTM, bidirectional), _model(fast_lstm.LSTM, bidirectional)
    assert [v.path for v in old.weights] == [v.path for v in new.weights]  # the same variable paths
    old.save_weights(tmp_path / "old.weights.h5")  # a weights file written by keras.layers.LSTM
    new.load_weights(tmp_path / "old.weights.h5")
    np.testing.assert_allclose(new.predict(X, verbose=0), old.predict(X, verbose=0), atol=1e-5)


def test_saved_model_file_reloads_as_fast_lstm(tmp_path):
    model = _model(fast_lstm.LSTM, bidirectional=True)
    model.save(tmp_path / "m.keras")
    back = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(back.get_layer("bidirectional_0").forward_layer, fast_lstm.LSTM)
    np.testing.assert_allclose(back.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)


def test_bfloat16_compute_matches_float32_roughly():
    ref, fast = _pair(return_sequences=True)
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        half = fast_lstm.LSTM(5, return_sequences=True)
        half.build(X.shape)
        half.set_weights(ref.get_weights())
        y, grads = _forward_and_grads(half, X)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    assert half.compute_dtype == "bfloat16" and all(w.dtype == "float32" for w in half.weights)
    assert all(g.dtype == np.float32 for g in grads[1:])  # gradients reach the float32 variables
    np.testing.assert_allclose(y.astype("float32"), ref(X).numpy(), atol=0.05)


@pytest.mark.parametrize("trainer", ["fit", pytest.param("tape", marks=pytest.mark.slow)])
def test_model_loop_hoisted_trains_with_both_trainers(tmp_path, trainer):
    from seqlab.config import compose
    from seqlab.train import run

    cfg = compose(["dataset=sine", "dataset.length=400", "dataset.input_len=12", "dataset.horizon=2", "model=lstm",
                   "model.loop=hoisted", "model.units=8", "trainer.batch_size=32", "trainer.epochs=3",
                   "trainer.lr=0.01", f"trainer={trainer}", "trainer.verbose=0", "trainer.tensorboard.enabled=false",
                   "trainer.checkpoint.every=0"])
    result = run(cfg, tmp_path / "run")
    assert type(result.model.get_layer("lstm_0")) is fast_lstm.LSTM
    loss = result.history["loss"]
    assert loss[-1] < 0.8 * loss[0]


def test_model_loop_hoisted_is_for_lstm_only():
    from seqlab.config import ConfigError, compose, validate

    with pytest.raises(ConfigError, match=r"model.loop.*model=gru"):
        validate(compose(["model=gru", "model.loop=hoisted"]))
