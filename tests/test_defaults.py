"""model.norm=auto: window forecasting normalises each input window by default, so a trend does not beat the model."""

import json
import logging

import numpy as np
import pytest

from seqlab.config import compose, validate
from seqlab.models import build, resolve_norm
from seqlab.spec import DataSpec

CSV = DataSpec("csv", "regression", (24, 3), (6, 2), feature_names=("a", "b", "c"), target_names=("c", "a"))


def test_norm_is_auto_by_default_and_decided_by_the_data(caplog):
    cfg = compose([])
    assert cfg.model.norm == "auto"
    validate(compose(["dataset=adding"]))  # auto is no window option a non-forecasting dataset must refuse
    sine = DataSpec("sine", "regression", (48, 2), (12, 2), feature_names=("s0", "s1"), target_names=("s0", "s1"))
    with caplog.at_level(logging.INFO, logger="seqlab.models.build"):
        assert resolve_norm(cfg.model, sine) == "last"
        assert "model.norm=auto -> last" in caplog.text
        assert resolve_norm(cfg.model, CSV) == "last"  # targets among the features: their level is in the window
        unseen = DataSpec("csv", "regression", (24, 2), (6, 1), feature_names=("a", "b"), target_names=("z",))
        assert resolve_norm(cfg.model, unseen) == "none"
        assert "model.norm=auto -> none: the targets (z) are not all input features (a, b)" in caplog.text
    assert resolve_norm(cfg.model, DataSpec("ucr", "multiclass", (50, 3), num_classes=4)) == "none"
    assert resolve_norm(compose(["model.norm=none"]).model, sine) == "none"


def test_targets_that_are_some_of_the_inputs_take_their_level_from_their_own_columns(tmp_path):
    import keras

    cfg = compose(["model=gru", "model.units=4"])
    m = build(cfg.model, cfg.regularizer, CSV)
    x = np.random.default_rng(0).normal(size=(2, 24, 3)).astype("float32")
    shift = np.array([10.0, -3.0, 0.5], "float32")
    y, y_shifted = np.asarray(m(x)), np.asarray(m(x + shift))
    assert y.shape == (2, 6, 2)
    assert np.allclose(y_shifted - y, [0.5, 10.0], atol=1e-3)  # targets (c, a) move with columns c and a
    m.save(tmp_path / "m.keras")
    assert np.allclose(keras.saving.load_model(tmp_path / "m.keras")(x), y, atol=1e-6)


def _trend_csv(path, rows=400):
    t = np.arange(rows)
    rng = np.random.default_rng(0)
    level = 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.1 * rng.normal(size=rows)  # test rows above the training range
    np.savetxt(path, np.c_[level, 0.5 * level + rng.normal(size=rows)], delimiter=",", header="y,x", comments="")
    return path


@pytest.mark.slow  # two real training runs, ~12-16 s each on 2 busy cores
@pytest.mark.parametrize("norm, beats", [("auto", True), ("none", False)])
def test_the_default_beats_repeat_last_on_a_trend_where_no_norm_loses(tmp_path, norm, beats):
    from seqlab.train import run

    cfg = compose(["dataset=csv", f"dataset.path={_trend_csv(tmp_path / 'trend.csv')}", "dataset.input_len=24",
                   "dataset.horizon=6", "model.units=16", f"model.norm={norm}", "trainer.epochs=4",
                   "trainer.verbose=0", "trainer.tensorboard.enabled=false", "trainer.checkpoint.every=0"])
    run(cfg, tmp_path / "run")
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["norm"] == ("last" if norm == "auto" else "none")  # metrics.json records the resolved choice
    assert (m["test"]["mse"] < m["baseline"]["mse"]) is beats, (m["test"], m["baseline"])
    if not beats:
        assert m["diagnosis"]["verdict"] == "worse-than-baseline"
        assert "level-shift" in [c["cause"] for c in m["diagnosis"]["causes"]]
