"""A few real training steps per model x task: loss falls, outputs appear, the summary reads right."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET

from seqlab.config import compose
from seqlab.train import run


def _ucr(tmp_path, n=120, length=24, classes=3):
    """A 3-class UCR-layout dataset whose class sets the frequency of a sine."""
    rng = np.random.default_rng(0)
    paths = []
    for split in ("TRAIN", "TEST"):
        y = rng.integers(0, classes, n)
        t = np.arange(length)
        x = np.sin(2 * np.pi * (y[:, None] + 1) * t / length) + 0.1 * rng.normal(size=(n, length))
        p = tmp_path / f"toy_{split}.tsv"
        pd.DataFrame(np.column_stack([y + 1, x])).to_csv(p, sep="\t", header=False, index=False)
        paths.append(p)
    return [f"dataset.train_path={paths[0]}", f"dataset.test_path={paths[1]}"]


def test_without_a_validation_split_early_stopping_follows_the_training_loss(tmp_path):
    """dataset.val_fraction=0: no val_loss; early stopping restores the epoch of the lowest training loss, which
    metrics.json names as best_epoch."""
    cfg = compose(["dataset=ucr", *_ucr(tmp_path, n=60), "dataset.val_fraction=0", "model=conv1d",
                   "model.filters=8", "trainer.epochs=12", "trainer.batch_size=16", "trainer.lr=0.3",
                   "trainer.patience=2"] + QUIET)
    result = run(cfg, tmp_path / "run")
    loss = result.history["loss"]
    assert "val_loss" not in result.history and result.metrics["examples"]["val"] == 0
    assert result.metrics["best_epoch"] == int(np.argmin(loss)) + 1
    assert len(loss) < 12 and result.metrics["best_epoch"] == len(loss) - 2, loss  # stopped 2 epochs after the best
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["best_epoch"] == result.metrics["best_epoch"] and np.isfinite(saved["test"]["loss"])


TASKS = {
    "sine": lambda tmp: ["dataset=sine", "dataset.length=1200", "dataset.input_len=24", "dataset.horizon=4"],
    "adding": lambda tmp: ["dataset=adding", "dataset.length=20", "dataset.train_size=512", "dataset.val_size=64",
                           "dataset.test_size=64"],
    "text_synth": lambda tmp: ["dataset=text_synth", "dataset.train_size=512", "dataset.val_size=64",
                               "dataset.test_size=64"],
    "ucr": lambda tmp: ["dataset=ucr"] + _ucr(tmp),
}


# every model on every task family (regression and classification), each dataset twice: one model per dataset in
# the fast tier, a second in the slow tier (the full cross product repeated the same checks at ~5 s each). The fast
# tier's sine run is lstm's: test_run_writes_outputs_and_beats_baseline below, which asserts the same and more.
FAST_PAIRS = {("adding", "gru"), ("text_synth", "conv1d"), ("ucr", "simplernn")}
SLOW_PAIRS = {("sine", "conv1d"), ("adding", "simplernn"), ("text_synth", "lstm"), ("ucr", "gru")}


@pytest.mark.parametrize("model,task", [
    pytest.param(m, t, marks=() if (t, m) in FAST_PAIRS else pytest.mark.slow, id=f"{t}-{m}")
    for t in TASKS for m in ("simplernn", "lstm", "gru", "conv1d") if (t, m) in FAST_PAIRS | SLOW_PAIRS])
def test_loss_falls_for_each_model_and_task(model, task, tmp_path):
    size = "model.filters=16" if model == "conv1d" else "model.units=16"
    cfg = compose(TASKS[task](tmp_path) + [f"model={model}", size, "trainer.epochs=3", "trainer.batch_size=32",
                                           "trainer.lr=0.01"] + QUIET)
    result = run(cfg, tmp_path / "run")
    loss = result.history["loss"]
    assert len(loss) == 3 and loss[-1] < loss[0], loss
    assert np.isfinite(loss).all()
    expected_task = {"sine": "regression", "adding": "regression", "text_synth": "binary", "ucr": "multiclass"}
    assert result.metrics["task"] == expected_task[task]


def test_run_writes_outputs_and_beats_baseline(tmp_path):
    """Also the fast tier's loss-falls check of lstm on sine (see FAST_PAIRS)."""
    cfg = compose(["model=lstm", "model.units=16", "trainer.epochs=4", "dataset.length=1500"] + QUIET[:2])
    result = run(cfg, tmp_path)
    loss = result.history["loss"]
    assert len(loss) == 4 and loss[-1] < loss[0] and np.isfinite(loss).all(), loss
    for f in ("metrics.json", "history.csv", "model.keras"):
        assert (tmp_path / f).stat().st_size > 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("task", "test", "baseline", "params", "epochs", "best_epoch", "train_seconds", "samples_per_second"):
        assert key in m, key
    assert m["task"] == "regression" and set(m["test"]) >= {"loss", "mse", "mae"}
    assert m["test"]["mse"] < m["baseline"]["mse"]
    hist = pd.read_csv(tmp_path / "history.csv")
    assert list(hist["epoch"]) == [1, 2, 3, 4] and {"loss", "val_loss", "mae", "val_mae"} <= set(hist.columns)
    assert not list(tmp_path.glob(".*tmp*")) and not list(tmp_path.glob(".metrics.*"))  # no temp leftovers

@pytest.mark.slow
def test_classification_reports_accuracy_and_majority_baseline(tmp_path):
    cfg = compose(["dataset=text_synth", "dataset.train_size=256", "dataset.val_size=64", "dataset.test_size=64",
                   "model=lstm", "model.units=8", "trainer.epochs=1"] + QUIET)
    m = run(cfg, tmp_path).metrics
    assert m["task"] == "binary" and "accuracy" in m["test"] and "accuracy" in m["baseline"]
    assert m["baseline_name"] and 0.3 < m["baseline"]["accuracy"] < 0.7

@pytest.mark.slow
def test_early_stopping_restores_best_weights(tmp_path):
    import keras

    class Record(keras.callbacks.Callback):  # the weights at the end of every epoch
        weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append([np.array(w) for w in self.model.get_weights()])

    cfg = compose(["model=lstm", "model.units=8", "dataset.length=800", "trainer.epochs=30", "trainer.patience=1",
                   "trainer.lr=0.3", "trainer.optimizer=sgd"] + QUIET)
    result = run(cfg, tmp_path, extra_callbacks=[Record()])
    val = result.history["val_loss"]
    best = result.metrics["best_epoch"]
    assert best == int(np.argmin(val)) + 1 and best < result.metrics["epochs"] < 30  # stopped after a worse epoch
    for kept, at_best in zip(result.model.get_weights(), Record.weights[best - 1], strict=True):
        np.testing.assert_array_equal(kept, at_best)
    saved = keras.models.load_model(tmp_path / "model.keras", compile=False)
    for kept, at_best in zip(saved.get_weights(), Record.weights[best - 1], strict=True):
        np.testing.assert_array_equal(kept, at_best)


@pytest.mark.slow
@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_text_model_trains_short_and_evaluates_long(trainer, tmp_path):
    """dataset.eval_sequence_length: one model trains on 8-token cuts and scores 24-token validation/test rows."""
    cfg = compose(["dataset=text_synth", "dataset.train_size=2048", "dataset.val_size=64", "dataset.test_size=256",
                   "dataset.sequence_length=8", "dataset.eval_sequence_length=24", "model=lstm", "model.units=16",
                   "model.pooling=max", f"trainer={trainer}", "trainer.epochs=4", "trainer.batch_size=32",
                   "trainer.lr=0.01", "trainer.verbose=0", "trainer.checkpoint.every=0"])
    result = run(cfg, tmp_path)
    loss, val_loss = result.history["loss"], result.history["val_loss"]
    assert loss[-1] < loss[0] and np.isfinite(val_loss).all(), (loss, val_loss)
    # the negation rule is learnable: well above the majority class (~0.5 on text_synth)
    accuracy, majority = result.metrics["test"]["accuracy"], result.metrics["baseline"]["accuracy"]
    assert accuracy > majority + 0.2, (accuracy, majority)
    import keras

    model = keras.models.load_model(tmp_path / "model.keras", compile=False)
    assert model.input_shape == (None, None)  # the saved model also takes any length
    assert model.predict(np.ones((2, 40), np.int32), verbose=0).shape == (2, 1)

@pytest.mark.slow
def test_adversarial_training_learns_and_fit_and_tape_take_the_same_step(tmp_path):
    """regularizer.adversarial: both trainers take the adversarial step, the loss falls, model.keras loads."""
    import keras

    losses = {}
    for trainer in ("fit", "tape"):
        cfg = compose(["dataset=text_synth", "dataset.train_size=512", "dataset.val_size=64",
                       "dataset.test_size=64", "dataset.sequence_length=8", "model=lstm", "model.units=16",
                       "model.pooling=max", "regularizer.adversarial=0.3", f"trainer={trainer}", "trainer.epochs=3",
                       "trainer.batch_size=32", "trainer.lr=0.01", "trainer.verbose=0", "trainer.checkpoint.every=0"])
        result = run(cfg, tmp_path / trainer)
        losses[trainer] = loss = result.history["loss"]
        assert loss[-1] < loss[0] and np.isfinite(result.history["val_loss"]).all(), loss
        model = keras.models.load_model(tmp_path / trainer / "model.keras", compile=False)
        assert "adversarial_noise" in [layer.name for layer in model.layers]
    np.testing.assert_allclose(losses["tape"], losses["fit"], rtol=1e-5)


def test_lr_schedules_decay(tmp_path):
    from seqlab.train.optim import current_lr, make_optimizer

    for schedule in ("exponential", "cosine"):
        t = compose(["~family", f"trainer.lr_schedule={schedule}", "trainer.decay_steps=10",
                     "trainer.decay_rate=0.5"]).trainer
        opt = make_optimizer(t, steps_per_epoch=10)
        first = current_lr(opt)
        opt.iterations.assign(10)
        assert current_lr(opt) < first
    exp = make_optimizer(compose(["trainer.lr=1e-3", "trainer.lr_schedule=exponential", "trainer.decay_steps=10",
                                  "trainer.decay_rate=0.5"]).trainer, 10)
    exp.iterations.assign(10)
    assert current_lr(exp) == pytest.approx(0.5e-3)


@pytest.mark.parametrize("trainer", ["fit", pytest.param("tape", marks=pytest.mark.slow)])  # three runs each
def test_plateau_halves_the_rate_after_a_stall_and_resumes_where_it_was(trainer, tmp_path):
    """lr_schedule=plateau (lr_patience 1): the rate is cut right after each epoch whose val_loss is no new best;
    a run stopped at epoch 6 and resumed cuts where the uninterrupted run does (the rate, the best value and
    the epochs waited all come back from the checkpoint)."""
    base = ["dataset=sine", "dataset.length=600", "dataset.input_len=16", "dataset.horizon=2", "model=gru",
            "model.units=8", "trainer.batch_size=16", "trainer.lr=0.05", "trainer.lr_schedule=plateau",
            "trainer.decay_rate=0.5", "trainer.lr_patience=1", "deterministic=true", f"trainer={trainer}",
            "trainer.verbose=0", "trainer.tensorboard.enabled=false"]
    whole = run(compose(base + ["trainer.epochs=8"]), tmp_path / "whole").history
    lr, val = np.asarray(whole["learning_rate"]), np.asarray(whole["val_loss"])
    best = np.minimum.accumulate(val)
    stalled = val[1:] > best[:-1]  # epoch e + 1 no better than the best before it
    assert stalled.sum() >= 2, val  # the data makes the schedule act (twice), or the test proves nothing
    # history's learning_rate is the rate an epoch trained with; a stall at epoch e cuts it from epoch e + 1 on
    np.testing.assert_allclose(lr[2:], np.where(stalled[:-1], 0.5, 1.0) * lr[1:-1], rtol=1e-6)
    assert lr[0] == lr[1] == pytest.approx(0.05)
    run(compose(base + ["trainer.epochs=6"]), tmp_path / "resumed")
    resumed = run(compose(base + ["trainer.epochs=8", "resume=true"]), tmp_path / "resumed").history
    np.testing.assert_allclose(resumed["learning_rate"], lr, rtol=1e-6)
    np.testing.assert_allclose(resumed["val_loss"], val, rtol=1e-5)


def test_plateau_settings_are_checked():
    from seqlab.config import ConfigError, validate

    with pytest.raises(ConfigError, match=r"^trainer.decay_rate: expected a factor below 1 with lr_schedule=plateau"):
        validate(compose(["trainer.lr_schedule=plateau", "trainer.decay_rate=1"]))
    with pytest.raises(ConfigError, match=r"^trainer.min_lr: expected a floor below trainer.lr"):
        validate(compose(["trainer.lr_schedule=plateau", "trainer.lr=0.001", "trainer.min_lr=0.01"]))
    with pytest.raises(ConfigError, match=r"^trainer.lr_patience"):
        validate(compose(["trainer.lr_schedule=plateau", "trainer.lr_patience=0"]))


@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_a_regression_trains_on_the_loss_trainer_loss_names(trainer, tmp_path):
    """trainer.loss=mae: the training and validation loss are the MAE (equal to the mae metric, not the mse one),
    early stopping reads it, and it falls; a classification task refuses any loss but its own."""
    from seqlab.config import ConfigError

    base = TASKS["sine"](tmp_path) + [f"trainer={trainer}", "model=gru", "model.units=8", "trainer.epochs=3",
                                      "trainer.batch_size=32", "trainer.lr=0.01", "trainer.patience=2"] + QUIET
    h = run(compose(base + ["trainer.loss=mae"]), tmp_path / "mae").history
    assert h["loss"][-1] < h["loss"][0], h["loss"]
    np.testing.assert_allclose(h["val_loss"], h["val_mae"], rtol=1e-4)
    assert not np.allclose(h["val_loss"], h["val_mse"], rtol=1e-2)
    huber = run(compose(base + ["trainer.loss=huber"]), tmp_path / "huber").history
    assert np.all(np.asarray(huber["val_loss"]) <= np.asarray(huber["val_mse"]) / 2 + 1e-6)  # Huber <= mse / 2
    with pytest.raises(ConfigError, match=r"^trainer.loss: expected auto for dataset=ucr"):
        run(compose(TASKS["ucr"](tmp_path) + ["trainer.loss=mae"] + QUIET), tmp_path / "ucr")


def test_limit_caps_every_split(tmp_path):
    from seqlab import data

    cfg = compose(["dataset=adding", "dataset.limit=50"])
    splits, spec = data.load(cfg.dataset)
    assert len(splits.train) == len(splits.val) == len(splits.test) == 50
    assert spec.output_shape == (1,)

@pytest.mark.slow
def test_default_conv1d_learns_the_default_data(tmp_path):
    """Regression: a single 5-step convolution with average pooling plateaued at ~0.6x the baseline."""
    result = run(compose(["model=conv1d", "trainer.epochs=6"] + QUIET), tmp_path)
    assert result.metrics["test"]["mse"] < 0.2 * result.metrics["baseline"]["mse"]


def test_jit_compile_auto_picks_xla_for_long_cpu_runs_of_unmasked_models():
    """auto: XLA on a CPU-only machine (Keras' own auto never uses it there) for runs long enough to earn back
    the compile, not for masked text, never under op determinism; true/false are taken as given."""
    import tensorflow as tf

    from seqlab.data.base import DataSpec
    from seqlab.models import build
    from seqlab.train.run import XLA_MIN_STEPS, resolve_jit_compile

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("auto defers to Keras on a GPU machine")
    cfg = compose(["model.units=8"])
    series = build(cfg.model, cfg.regularizer, DataSpec("s", "regression", (16, 1), (2,)))
    text = build(cfg.model, cfg.regularizer, DataSpec("t", "binary", (16,), (), num_classes=2, vocab_size=50))
    long_run, short_run = XLA_MIN_STEPS, XLA_MIN_STEPS - 1
    assert resolve_jit_compile("auto", series, False, long_run) is True
    assert resolve_jit_compile("auto", series, False, short_run) is False
    assert resolve_jit_compile("auto", series, True, long_run) is False
    assert resolve_jit_compile("auto", text, False, long_run) is False
    assert resolve_jit_compile(True, text, False, short_run) is True
    assert resolve_jit_compile(False, series, False, long_run) is False
    conv = compose(["model=conv1d", "model.filters=8", "model.pooling=max"])
    fixed = build(conv.model, conv.regularizer, DataSpec("t", "binary", (16,), (), num_classes=2, vocab_size=50))
    open_length = build(conv.model, conv.regularizer, DataSpec("t", "binary", (None,), (), num_classes=2,
                                                               vocab_size=50))
    assert resolve_jit_compile("auto", fixed, False, long_run) is True  # unmasked text of one length
    assert resolve_jit_compile("auto", open_length, False, long_run) is False  # eval_sequence_length


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    ["dataset.length=600", "dataset.input_len=16", "dataset.horizon=2"],
    ["dataset.length=600", "dataset.input_len=16", "dataset.horizon=2", "trainer=tape"],
    ["dataset=text_synth", "dataset.train_size=256", "dataset.val_size=32", "dataset.test_size=32"],
])
def test_runs_train_under_xla_and_record_it(overrides, tmp_path):
    cfg = compose(overrides + ["model.units=8", "trainer.epochs=2", "trainer.lr=0.01", "trainer.jit_compile=true"]
                  + QUIET)
    result = run(cfg, tmp_path)
    assert result.metrics["jit_compile"] is True
    loss = result.history["loss"]
    assert np.isfinite(loss).all() and loss[-1] < loss[0], loss
    assert json.loads((tmp_path / "metrics.json").read_text())["jit_compile"] is True
    default = run(compose(overrides + ["model.units=8", "trainer.epochs=1"] + QUIET), tmp_path / "short")
    assert default.metrics["jit_compile"] is False  # auto: a run this short does not earn back the compile


def test_jit_compile_true_is_refused_with_determinism():
    from seqlab.config import ConfigError, validate

    with pytest.raises(ConfigError, match=r"trainer\.jit_compile: expected false or auto with deterministic=true"):
        validate(compose(["deterministic=true", "trainer.jit_compile=true"]))


def test_a_deterministic_run_does_not_leak_into_the_next_one_in_the_same_process():
    from tensorflow.python.framework import config as tf_config

    from seqlab.train.run import setup_tensorflow

    setup_tensorflow(0, deterministic=True)
    assert tf_config.is_op_determinism_enabled()
    setup_tensorflow(0, deterministic=False)
    assert not tf_config.is_op_determinism_enabled()  # it also turned XLA off for every later model


@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_batch_norm_epochs_drop_the_short_last_batch(trainer, tmp_path):
    """120 training series in batches of 16: a model with batch normalisation takes 7 full steps an epoch (a batch
    of 8 would skew its moving statistics), the same model without it takes 8."""
    base = TASKS["ucr"](tmp_path) + [f"trainer={trainer}", "model=conv1d", "model.filters=8", "dataset.val_fraction=0",
                                     "trainer.epochs=2", "trainer.batch_size=16"] + QUIET
    steps = {}
    for norm in ("true", "false"):
        result = run(compose(base + [f"model.batch_norm={norm}"]), tmp_path / norm)
        steps[norm] = int(result.model.optimizer.iterations.numpy())
        assert result.history["loss"][-1] < result.history["loss"][0]
    assert steps == {"true": 2 * 7, "false": 2 * 8}


def test_batch_fraction_sizes_the_batch_from_the_training_file(tmp_path):
    """trainer.batch_fraction=0.1 with batch_size 16 is Fawaz et al.'s int(min(n / 10, 16)): 120 series train in
    batches of 12 (10 steps an epoch), 400 in batches of 16 (the cap); bad values are refused by key."""
    from seqlab.config import ConfigError, validate

    base = ["model=conv1d", "model.filters=8", "dataset.val_fraction=0", "trainer.epochs=1",
            "trainer.batch_size=16", "trainer.batch_fraction=0.1"] + QUIET
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small = run(compose(["dataset=ucr"] + _ucr(tmp_path / "small") + base), tmp_path / "small_run")
    assert int(small.model.optimizer.iterations.numpy()) == 10
    large = run(compose(["dataset=ucr"] + _ucr(tmp_path / "large", n=400) + base), tmp_path / "large_run")
    assert int(large.model.optimizer.iterations.numpy()) == 25
    for bad in (["trainer.batch_fraction=0"], ["trainer.batch_fraction=1.5"],
                ["trainer.distribute=mirrored", "trainer=tape"]):
        with pytest.raises(ConfigError, match=r"^trainer\.batch_fraction: expected"):
            validate(compose(["trainer.batch_fraction=0.1"] + bad))
