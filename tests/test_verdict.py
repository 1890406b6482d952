"""The honest verdict: worse than the naive baseline is said, with the likely cause and the key to change."""

import numpy as np

from seqlab.train.verdict import judge, level_shift

TRAINER = {"lr": 1e-3, "batch_size": 64}


def _metrics(test, base, task="regression", epochs=10, loss=(1.0, 0.8, 0.7)):
    metric = "mse" if task == "regression" else "accuracy"
    return {"task": task, "test": {metric: test}, "baseline": {metric: base}, "epochs": epochs,
            "history": {"loss": list(loss)}}


def test_a_model_that_beats_its_baseline_gets_no_verdict():
    assert judge(_metrics(0.5, 1.1), TRAINER, steps_per_epoch=100) is None
    assert judge(_metrics(0.9, 0.6, task="binary"), TRAINER, steps_per_epoch=100) is None


def test_a_huge_loss_after_a_high_learning_rate_is_blamed_on_the_learning_rate():
    v = judge(_metrics(266482.0, 1.1, loss=(3.0, 5e4, 3e5)), {"lr": 1e4}, steps_per_epoch=43)
    assert v["verdict"] == "worse-than-baseline"
    assert "2.42e+05x the naive baseline" in v["message"]
    assert [c["cause"] for c in v["causes"]] == ["learning-rate"]
    assert "trainer.lr=1000" in v["advice"]


def test_test_values_outside_the_training_range_point_to_window_normalisation():
    rng = np.random.default_rng(0)
    shift = level_shift(rng.normal(0, 1, (500, 2)), rng.normal(3, 1, (100, 2)))
    assert shift["max_shift_std"] > 2.5 and shift["outside_train_range"] > 0.02
    v = judge(_metrics(38.0, 1.0), TRAINER, steps_per_epoch=100, shift=shift)
    assert [c["cause"] for c in v["causes"]] == ["level-shift"] and "model.norm=last" in v["advice"]
    # a model that already normalises each window is not told to
    v = judge(_metrics(38.0, 1.0), TRAINER, steps_per_epoch=100, shift=shift, uses_window_norm=True)
    assert [c["cause"] for c in v["causes"]] == ["unknown"]


def test_too_few_optimizer_steps_are_named():
    v = judge(_metrics(0.4, 0.5, task="multiclass", epochs=10), TRAINER, steps_per_epoch=1)
    assert v["causes"][0]["cause"] == "too-few-steps" and "only 10 optimizer steps" in v["message"]
    assert "trainer.epochs" in v["advice"] and "below the naive baseline's 0.5" in v["message"]


def test_a_real_run_that_loses_to_its_baseline_is_told_so(tmp_path):
    """Through the whole training path: metrics.json's diagnosis is the baseline verdict, the curves' kept."""
    import json

    from seqlab.config import compose
    from seqlab.train import run

    cfg = compose(["dataset=adding", "dataset.length=20", "dataset.limit=64", "model=gru", "model.units=4",
                   "trainer.epochs=2", "trainer.lr=1e-6", "trainer.verbose=0", "trainer.tensorboard.enabled=false",
                   "trainer.checkpoint.every=0"])
    run(cfg, tmp_path)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["test"]["mse"] > m["baseline"]["mse"]  # an untrained model against the constant baseline
    assert m["diagnosis"]["verdict"] == "worse-than-baseline"
    assert m["diagnosis"]["causes"][0]["cause"] == "too-few-steps" and "only 2 optimizer steps" in m["diagnosis"][
        "message"]
    assert m["curve_diagnosis"]["verdict"] in ("still-learning", "plateau", "diverging", "over-fitting")
