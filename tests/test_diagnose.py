"""Learning-curve verdicts on synthetic curves; NaN diagnosis for bad labels and a huge learning rate, both trainers."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import QUIET
from inprocess import seqlab_main

from seqlab.config import compose
from seqlab.data.base import ArraySplit, DataSpec, Splits
from seqlab.train import Diverged, run
from seqlab.train.diagnose import check_data, diagnose_curves, diagnose_divergence, trend

REPO = Path(__file__).resolve().parents[1]
E = np.arange(12, dtype=float)
CURVES = {  # (train, val) -> verdict
    "still-learning": (1.0 / (1 + 0.3 * E), 1.2 / (1 + 0.25 * E)),
    "over-fitting": (1.0 / (1 + 0.5 * E), 0.8 + 0.02 * (E - 4) ** 2),
    "suspicious-data": (np.full(12, 0.7) + 0.001 * np.sin(E), 1.0 - 0.05 * E),
    "plateau": (0.5 + 0.001 * np.sin(E), 0.6 + 0.001 * np.cos(E)),
    "diverging": (0.5 + 0.1 * E, 0.6 + 0.12 * E),
    "lr-too-high": (np.array([1.0, 3.5, 9.0, 7.0, 6.5, 6.4, 6.3, 6.2]), np.array([2.0, 5, 9, 8, 7, 7, 7, 7])),
}


@pytest.mark.parametrize("expected", list(CURVES))
def test_curve_verdicts(expected):
    train, val = CURVES[expected]
    d = diagnose_curves(list(train), list(val))
    assert d["verdict"] == expected, d
    assert d["advice"] and d["evidence"]["epochs"] == len(train)
    for key in ("train_slope", "val_slope", "gap_at_end", "best_val_epoch", "val_above_best", "val_noise"):
        assert key in d["evidence"]


def test_curve_evidence_and_edge_cases():
    train, val = CURVES["over-fitting"]
    ev = diagnose_curves(train, val)["evidence"]
    assert ev["train_slope"] < -0.01 < 0.01 < ev["val_slope"] and ev["best_val_epoch"] == 5
    assert ev["gap_at_end"] > ev["gap_at_best"]
    assert diagnose_curves([1.0])["verdict"] == "too-short"
    assert diagnose_curves([1.0, 0.8, 0.6])["verdict"] == "still-learning"  # no validation split
    assert diagnose_curves([1.0, 1.0, 1.0])["verdict"] == "plateau"
    assert diagnose_curves([1.0, float("nan")])["verdict"] == "lr-too-high"
    assert trend([3.0, 2.0, 1.0])["direction"] == "falling" and trend([1.0, 1.001])["direction"] == "flat"


def _splits(x, y, task, classes=None):
    s = ArraySplit(x, y)
    return Splits(s, s, s), DataSpec("toy", task, x.shape[1:], num_classes=classes)


def test_check_data_finds_bad_labels_and_non_finite_values():
    x = np.zeros((6, 4, 1), np.float32)
    splits, spec = _splits(x, np.array([0, 1, 2, 3, 0, -1]), "multiclass", 3)
    (p,) = [p for p in check_data(splits, spec) if p["split"] == "train"]
    assert p["kind"] == "labels" and "2 train labels outside the model's 3 classes" in p["message"]
    assert "-1" in p["message"] and "3" in p["message"]
    x[2, 1, 0] = np.nan
    splits, spec = _splits(x, np.zeros((6, 1), np.float32), "regression")
    kinds = {(p["kind"], p["split"]) for p in check_data(splits, spec)}
    assert kinds == {("inputs", "train"), ("inputs", "val")}
    splits, spec = _splits(np.zeros((6, 4, 1), np.float32), np.array([0, 1, 1, 0, 1, 0]), "binary")
    assert check_data(splits, spec) == []


def test_divergence_verdicts_without_training():
    tcfg = compose(["trainer.optimizer=sgd", "trainer.lr=0.5"]).trainer
    early = diagnose_divergence({"step": 4, "losses": [1.0, 30.0, 5e6]}, [], tcfg, steps_per_epoch=10)
    assert early["verdict"] == "lr-too-high" and "trainer.lr=0.05" in early["advice"]
    assert "trainer.clipnorm=1.0" in early["advice"] and "trainer.optimizer=adam" in early["advice"]
    late = diagnose_divergence({"step": 900, "losses": [1.0, 0.5, 0.4]}, [], tcfg, steps_per_epoch=10)
    assert late["verdict"] == "unknown"
    bad = diagnose_divergence({"step": 900}, [{"kind": "inputs", "split": "train", "message": "3 NaN"}], tcfg, 10)
    assert bad["verdict"] == "bad-inputs" and "3 NaN" in bad["message"]


# --------------------------------------------------------------------------- real runs, both trainers
def bad_labels(cfg, seed=0):  # dataset=custom dataset.loader=test_diagnose:bad_labels
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8, 2)).astype("float32")
    y = rng.integers(0, 5, 64).astype("int32")  # five label values for a three-class model
    good = ArraySplit(x[:16], y[:16] % 3)
    return Splits(ArraySplit(x, y), good, good), DataSpec("bad_labels", "multiclass", (8, 2), num_classes=3)


@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_out_of_range_labels_stop_the_run_with_a_diagnosis(trainer, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    cfg = compose([f"trainer={trainer}", "model=gru", "model.units=4", "trainer.epochs=3", "dataset=custom",
                   "dataset.loader=test_diagnose:bad_labels"] + QUIET)
    with pytest.raises(Diverged) as info:
        run(cfg, tmp_path)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["status"] == "diverged" and m["diverged"]["epoch"] == 1
    assert m["diagnosis"]["verdict"] == "bad-labels" == info.value.diagnosis["verdict"]
    assert "outside the model's 3 classes" in m["diagnosis"]["message"] and "[3, 4]" in m["diagnosis"]["message"]


@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_huge_learning_rate_stops_at_the_first_nan(trainer, tmp_path):
    cfg = compose([f"trainer={trainer}", "model=lstm", "model.units=8", "dataset.limit=256", "trainer.epochs=5",
                   "trainer.optimizer=sgd", "trainer.lr=1e4", "trainer.batch_size=32"] + QUIET)
    with pytest.raises(Diverged) as info:
        run(cfg, tmp_path)
    m = info.value.metrics
    assert m["status"] == "diverged" and m["diagnosis"]["verdict"] == "lr-too-high"
    assert m["diverged"]["epoch"] <= 2 and m["epochs"] <= m["diverged"]["epoch"]  # stopped at once, not after 5
    assert "trainer.lr=1000" in m["diagnosis"]["advice"]
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "diverged"


@pytest.mark.slow
def test_diverging_run_end_to_end(tmp_path):
    r = seqlab_main("model=gru", "model.units=8", "dataset.limit=256", "trainer.optimizer=sgd", "trainer.lr=1000",
                    "trainer.epochs=4", "trainer.tensorboard.enabled=false", f"hydra.run.dir={tmp_path}", cwd=REPO)
    assert r.returncode == 3, r.stderr[-3000:]
    assert "training diverged" in r.stderr and "lr-too-high" in r.stderr and "trainer.lr=100 " in r.stderr
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["status"] == "diverged" and m["diagnosis"]["verdict"] == "lr-too-high"
    assert {"epoch", "step", "loss"} <= set(m["diverged"])


@pytest.mark.slow
def test_overfitting_run_end_to_end(tmp_path):
    # 48 examples of a task that needs word order, a big GRU and a high learning rate: it memorises
    r = seqlab_main("dataset=text_synth", "dataset.limit=48", "model=gru", "model.units=32", "model.embedding_dim=16",
                    "trainer.lr=0.02", "trainer.epochs=10", "trainer.batch_size=16",
                    "trainer.tensorboard.enabled=false", f"hydra.run.dir={tmp_path}", cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["diagnosis"]["verdict"] == "over-fitting", m["diagnosis"]
    assert m["diagnosis"]["evidence"]["val_slope"] > 0 > m["diagnosis"]["evidence"]["train_slope"]
    assert "diagnosis: over-fitting" in r.stdout
