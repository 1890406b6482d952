"""train.run's stages: every outcome goes through the one writer; stateful callbacks round-trip a checkpoint; the
one flattener and the one metric direction."""

import importlib
import json
import signal

import keras
import numpy as np
import pytest

from seqlab.config import ConfigError, compose
from seqlab.config.flat import flatten
from seqlab.config.metric import metric_direction
from seqlab.train import Diverged, Interrupted, stage_of
from seqlab.train import outcome as outcome_mod

run_mod = importlib.import_module("seqlab.train.run")  # the module: `seqlab.train.run` names the function

RUN = ["model.units=4", "trainer.epochs=2", "trainer.verbose=0", "trainer.tensorboard.enabled=false"]
TINY = ["dataset.length=500", "dataset.input_len=12", "dataset.horizon=2"] + RUN


@pytest.fixture()
def writes(monkeypatch):
    """Every call of the one outcome writer, by status (run() must reach it for each way a run ends)."""
    seen = []
    real = run_mod.write_outcome

    def spy(run_dir, outcome):
        seen.append(outcome.status)
        return real(run_dir, outcome)

    monkeypatch.setattr(run_mod, "write_outcome", spy)
    return seen


class Raise(keras.callbacks.Callback):
    """Raises `error` as epoch `epoch` (0-based) begins."""

    def __init__(self, error, epoch=0):
        super().__init__()
        self.error, self.epoch = error, epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise self.error


def _metrics(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def test_completed_goes_through_the_writer_and_its_hook(tmp_path, writes, monkeypatch):
    calls = []
    monkeypatch.setattr(outcome_mod, "ON_COMPLETED", [lambda d, cfg, p, m: calls.append(d) or {"extra": 1}])
    result = run_mod.run(compose(TINY), tmp_path)
    assert writes == ["completed"] and calls == [tmp_path]
    m = _metrics(tmp_path)
    assert m["status"] == "completed" and m["extra"] == 1 and set(m["test"]) >= {"loss", "mse"}
    assert result.metrics == m and (tmp_path / "model.keras").is_file()


def test_diverged_goes_through_the_writer(tmp_path, writes):
    cfg = compose(TINY + ["trainer.optimizer=sgd", "trainer.lr=1e6"])
    with pytest.raises(Diverged):
        run_mod.run(cfg, tmp_path)
    assert writes == ["diverged"] and _metrics(tmp_path)["status"] == "diverged"


def test_interrupted_goes_through_the_writer_with_its_checkpoint(tmp_path, writes):
    with pytest.raises(Interrupted) as info:
        run_mod.run(compose(TINY), tmp_path, extra_callbacks=[Raise(Interrupted(signal.SIGTERM), epoch=1)])
    m = _metrics(tmp_path)
    assert writes == ["interrupted"] and m["status"] == "interrupted" and m["signal"] == "SIGTERM"
    assert info.value.epoch == 1 and info.value.checkpoint.name == "epoch-0001.npz"


@pytest.mark.parametrize("overrides, extra, error, stage", [
    (["dataset=csv", "dataset.input_len=400", "dataset.horizon=2"], None, ConfigError, "prepare"),  # too short
    ([], [Raise(RuntimeError("boom"), epoch=1)], RuntimeError, "fit"),
])
def test_failed_writes_the_error_and_its_stage_then_raises(tmp_path, writes, overrides, extra, error, stage):
    if overrides:
        path = tmp_path / "short.csv"
        path.write_text("a\n" + "\n".join(str(np.sin(i / 5)) for i in range(300)) + "\n")
        overrides = overrides + [f"dataset.path={path}"]
    with pytest.raises(error) as info:
        run_mod.run(compose(overrides + RUN if overrides else TINY), tmp_path / "run", extra_callbacks=extra)
    assert stage_of(info.value) == stage and writes == ["failed"]
    m = _metrics(tmp_path / "run")
    assert m["status"] == "failed" and m["error"]["stage"] == stage and m["error"]["type"] == error.__name__
    assert ("epochs" in m) == (stage == "fit")  # what existed of the run by then


def test_every_stateful_callback_round_trips_a_checkpoint(tmp_path):
    from seqlab.train.callbacks import EarlyStopping, EpochTimer, stateful
    from seqlab.train.checkpoint import CheckpointStore, State, _callback_states, restore_callbacks
    from seqlab.train.stages import prepare
    from seqlab.train.tensorboard import TensorBoardReview

    cfg = compose(TINY)
    splits = prepare(cfg).splits

    def callbacks():
        return [EpochTimer(), EarlyStopping(patience=2, restore_best_weights=True),
                TensorBoardReview(cfg, tmp_path, splits), keras.callbacks.History()]

    before = callbacks()
    timer, stop, review, _ = before
    timer.seconds, timer.epochs_run = 1.5, 3
    stop.wait, stop.stopped_epoch, stop.best, stop.best_epoch = 1, 0, 0.25, 2
    stop.best_weights = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)]
    review._best = {"val/loss": 0.25, "val/best_epoch": 3}
    assert set(stateful(before)) == {"epoch_timer", "early_stopping", "tensorboard"}  # History keeps none

    arrays = {}
    meta = {"epoch": 3, "callbacks": _callback_states(before, arrays)}
    json.dumps(meta)  # the JSON part really is JSON
    store = CheckpointStore(tmp_path / "checkpoints")
    store.save(State(epoch=3, meta=meta, arrays=arrays))
    after = callbacks()
    restore_callbacks(store.latest(), after)
    timer2, stop2, review2, _ = after
    assert (timer2.seconds, timer2.epochs_run) == (1.5, 3)
    assert (stop2.wait, stop2.best, stop2.best_epoch) == (1, 0.25, 2)
    for a, b in zip(stop.best_weights, stop2.best_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert review2._best == {"val/loss": 0.25, "val/best_epoch": 3}


def test_two_callbacks_under_one_state_key_are_refused():
    from seqlab.train.callbacks import EpochTimer, stateful

    with pytest.raises(ValueError, match="epoch_timer"):
        stateful([EpochTimer(), EpochTimer()])


def test_flatten_keeps_each_callers_choices():
    node = {"model": {"units": 8, "sizes": [1, 2], "none": None, "empty": {}},
            "sweep": {"space": {"trainer.lr": {"min": 1}}, "resume": True}}
    assert flatten(node, skip=("sweep",)) == {"model.units": 8, "model.sizes": [1, 2], "model.none": None}
    assert flatten(node, skip=("sweep", "model.none"), lists="json") == {"model.units": 8, "model.sizes": "[1, 2]"}
    assert flatten(node["model"], prefix="model", lists="drop", drop_none=True) == {"model.units": 8}
    whole = flatten(node, skip=("sweep.resume",), whole=("space",), keep_empty=True)
    assert whole["sweep.space"] == {"trainer.lr": {"min": 1}} and whole["model.empty"] == {}
    assert "sweep.resume" not in whole


@pytest.mark.parametrize("name, direction", [
    ("val_loss", "min"), ("test.mse", "min"), ("val/mae", "min"), ("mean_absolute_error", "min"),
    ("val_accuracy", "max"), ("test.auc", "max"), ("val_f1", "max"), ("test.r2", "max"),
    ("samples_per_second", "max"), ("seconds", None), ("val_foo", None),
])
def test_metric_direction(name, direction):
    assert metric_direction(name) == direction
