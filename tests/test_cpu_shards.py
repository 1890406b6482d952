"""trainer.cpu_shards: the step's batch as one XLA program per CPU core takes the same steps as one program;
where the groups could interfere (dropout, batch norm, loss hooks) the ordinary step runs, and says why."""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import QUIET

from seqlab.config import ConfigError, compose, validate
from seqlab.train import run, shards

TINY = ["dataset=sine", "dataset.length=300", "dataset.input_len=12", "dataset.horizon=2", "model=lstm",
        "model.units=8", "trainer.batch_size=37", "trainer.epochs=2", "trainer.lr=0.01",
        "trainer.jit_compile=true"] + QUIET


@pytest.mark.parametrize("bad", ["0", "two", "-1", "true"])
def test_a_bad_cpu_shards_names_the_key(bad):
    with pytest.raises(ConfigError, match="trainer.cpu_shards") as err:
        validate(compose([f"trainer.cpu_shards={bad}"]))
    assert bad.lower() in str(err.value).lower()


def _model(*layers):
    x = keras.Input((5, 3))
    y = x
    for layer in layers:
        y = layer(y)
    return keras.Model(x, keras.layers.Dense(1)(y))


def test_the_groups_run_only_where_they_cannot_interfere(monkeypatch, caplog):
    monkeypatch.setattr(shards, "cpu_cores", lambda: 4)
    plain = _model(keras.layers.LSTM(4))
    assert shards.reasons_not_to_shard(plain) == []
    assert shards.plan("auto", True, plain) == 4  # one per core, with XLA
    assert shards.plan("auto", True, plain, batch_size=128) == 4
    assert shards.plan("auto", True, plain, batch_size=32) == 2  # no group under MIN_ROWS = 16 rows
    assert shards.plan("auto", True, plain, batch_size=20) == 1
    assert shards.plan("auto", "auto", plain) == 1  # a GPU's or Keras' choice: no XLA, no groups
    assert shards.plan("auto", False, plain) == 1
    assert shards.plan(3, False, plain) == 3 and shards.plan(1, True, plain) == 1
    rnn_dropout = _model(keras.layers.LSTM(4, dropout=0.2))
    assert shards.reasons_not_to_shard(rnn_dropout) == ["random layers in training (dropout)"]
    assert shards.reasons_not_to_shard(_model(keras.layers.GRU(4, recurrent_dropout=0.1))) != []
    assert shards.reasons_not_to_shard(_model(keras.layers.LSTM(4), keras.layers.Dropout(0.0))) == []
    assert shards.reasons_not_to_shard(_model(keras.layers.LSTM(4), keras.layers.Dropout(0.5))) != []
    assert "batch-norm statistics" in shards.reasons_not_to_shard(
        _model(keras.layers.Conv1D(4, 3), keras.layers.BatchNormalization(), keras.layers.GlobalAveragePooling1D()))

    class OwnStep(keras.Model):
        def train_step(self, data):
            return super().train_step(data)

    x = keras.Input((5, 3))
    assert shards.reasons_not_to_shard(OwnStep(x, keras.layers.Dense(1)(keras.layers.LSTM(4)(x)))) == [
        "the model's own train_step"]
    with caplog.at_level(logging.WARNING, logger="seqlab.train.shards"):
        assert shards.plan(2, True, rnn_dropout) == 1
    assert "trainer.cpu_shards=2" in caplog.text and "dropout" in caplog.text
    monkeypatch.setattr(shards, "cpu_cores", lambda: 1)
    assert shards.plan("auto", True, plain) == 1


class _Noise(keras.layers.Layer):
    """A user's layer that declares whether it draws random numbers in training (the layer protocol)."""

    def __init__(self, random: bool, **kw):
        super().__init__(**kw)
        self.random, self.rate = random, 0.5  # a `rate` of its own meaning (not a dropout rate)
        self.seed_generator = keras.random.SeedGenerator(1)

    @property
    def random_in_training(self):
        return self.random

    def call(self, x, training=False):
        return x


def test_random_layers_are_known_by_their_declaration_or_keras_class_not_attribute_names():
    dropout = ["random layers in training (dropout)"]
    assert shards.reasons_not_to_shard(_model(keras.layers.LSTM(4), _Noise(True))) == dropout
    assert shards.reasons_not_to_shard(_model(keras.layers.LSTM(4), _Noise(False))) == []  # its rate is no dropout
    assert shards.reasons_not_to_shard(_model(keras.layers.LSTM(4), keras.layers.GaussianNoise(0.1))) == dropout
    assert shards.reasons_not_to_shard(_model(keras.layers.LSTM(4), keras.layers.GaussianNoise(0.0))) == []
    assert shards.reasons_not_to_shard(_model(keras.layers.SpatialDropout1D(0.2), keras.layers.LSTM(4))) == dropout
    conv = keras.Sequential([keras.Input((5, 4, 3)), keras.layers.ConvLSTM1D(2, 3, dropout=0.2),
                             keras.layers.Flatten(), keras.layers.Dense(1)])
    assert shards.reasons_not_to_shard(conv) == dropout  # ConvLSTM's cell: Keras' dropout RNN cell


def test_uneven_groups_cover_the_batch():
    sizes = shards._sizes(tf.constant(37), 2).numpy().tolist()
    assert sizes == [19, 18]
    assert shards._sizes(tf.constant(5), 4).numpy().tolist() == [2, 1, 1, 1]


@pytest.mark.slow  # four trainings end to end; test_a_batch_smaller_than_the_groups_trains_on_its_rows stays fast
@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_sharded_steps_train_like_one_program(tmp_path, trainer):
    """Batches of 37 (uneven groups, a short last batch): same losses, metrics and weights as one XLA program."""
    one = run(compose(TINY + [f"trainer={trainer}", "trainer.cpu_shards=1"]), tmp_path / "one")
    two = run(compose(TINY + [f"trainer={trainer}", "trainer.cpu_shards=2"]), tmp_path / "two")
    assert one.metrics["cpu_shards"] == 1 and two.metrics["cpu_shards"] == 2
    assert one.model.jit_compile and not two.model.jit_compile  # the groups are the XLA programs
    assert two.metrics["jit_compile"] is True
    np.testing.assert_allclose(two.history["loss"], one.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(two.history["val_loss"], one.history["val_loss"], rtol=1e-5)
    assert two.history["loss"][-1] < two.history["loss"][0]
    assert two.metrics["test"]["mae"] == pytest.approx(one.metrics["test"]["mae"], rel=1e-5)
    for a, b in zip(one.model.get_weights(), two.model.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    # predict (forecast pictures, the run's test predictions) goes through the groups too
    x = np.random.default_rng(0).normal(size=(9, *one.model.input_shape[1:])).astype("float32")
    np.testing.assert_allclose(two.model.predict(x, verbose=0), one.model.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_a_dropout_run_takes_the_ordinary_step(tmp_path):
    result = run(compose(TINY + ["regularizer=dropout", "trainer.cpu_shards=2"]), tmp_path / "run")
    assert result.metrics["cpu_shards"] == 1 and result.model.jit_compile


def test_a_batch_smaller_than_the_groups_trains_on_its_rows():
    """A last batch of 1 row and 2 groups: the empty group adds nothing (Keras' mean of no rows is 0, not NaN),
    the one row gets the whole weight."""
    model = _model(keras.layers.LSTM(4))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    reference = keras.models.clone_model(model)
    reference.set_weights(model.get_weights())
    reference.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"], jit_compile=True)
    shards.install(model, 2)
    x = np.random.default_rng(1).normal(size=(1, 5, 3)).astype("float32")
    y = np.ones((1, 1), "float32")
    logs = model.train_on_batch(x, y, return_dict=True)
    expected = reference.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"]) and logs["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_sharded_mixed_precision_steps_train_like_one_program(tmp_path, precision):
    """16-bit groups, float32 weights; mixed_float16's loss scale goes through each group and the one update."""
    extra = [f"trainer.precision={precision}"]
    one = run(compose(TINY + extra + ["trainer.cpu_shards=1"]), tmp_path / "one")
    two = run(compose(TINY + extra + ["trainer.cpu_shards=2"]), tmp_path / "two")
    assert two.metrics["cpu_shards"] == 2
    assert two.model.get_layer("lstm_0").compute_dtype == precision.split("_")[1]
    np.testing.assert_allclose(two.history["loss"], one.history["loss"], rtol=2e-3)
    assert two.history["loss"][-1] < two.history["loss"][0]
    assert two.metrics["test"]["mse"] == pytest.approx(one.metrics["test"]["mse"], rel=2e-3)
