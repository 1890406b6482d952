"""trainer=tape: parity with fit (weights, losses, TensorBoard tags), the callback protocol, eager mode, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import QUIET
from inprocess import seqlab_main

from seqlab.config import compose
from seqlab.train import run

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset=sine", "dataset.length=600", "dataset.input_len=12", "dataset.horizon=2", "model=gru",
        "model.units=4", "trainer.batch_size=32"]

# determinism on, no dropout, no shuffling; L2, clipping and a decaying schedule so that each must match
PARITY_RUN = TINY[:4] + ["model=lstm", "model.units=8", "trainer.batch_size=32", "regularizer=l2",
                         "regularizer.l2=0.01", "trainer.epochs=1", "trainer.shuffle=false", "trainer.clipnorm=0.5",
                         "trainer.lr_schedule=exponential", "trainer.decay_steps=5", "trainer.lr=0.01",
                         "deterministic=true", "trainer.verbose=0", "trainer.tensorboard.histogram_freq=0"]
PARITY_SCRIPT = """
import json, sys
from seqlab.config import compose
from seqlab.train import run
out = {}
for trainer in ("fit", "tape"):
    r = run(compose(sys.argv[2:] + ["trainer=" + trainer]), sys.argv[1] + "/" + trainer)
    out[trainer] = {"weights": [w.tolist() for w in r.model.get_weights()], "history": r.history, "test": r.test}
print("PARITY" + json.dumps(out))
"""


def _tags(logdir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for sub in sorted(p for p in logdir.iterdir() if p.is_dir()):
        acc = EventAccumulator(str(sub), size_guidance={"tensors": 0, "scalars": 0})
        acc.Reload()
        tags |= {f"{sub.name}/{t}" for kind in ("scalars", "tensors") for t in acc.Tags()[kind]}
    return tags


@pytest.mark.slow
def test_one_epoch_of_tape_equals_one_epoch_of_fit(tmp_path):
    r = subprocess.run([sys.executable, "-c", PARITY_SCRIPT, str(tmp_path), *PARITY_RUN], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.split("PARITY", 1)[1])
    fit, tape = out["fit"], out["tape"]
    diff = max(float(np.max(np.abs(np.subtract(a, b)))) for a, b in zip(fit["weights"], tape["weights"]))
    print(f"max |w_fit - w_tape| after one epoch: {diff:.3g}")
    assert diff <= 1e-5
    assert fit["history"].keys() == tape["history"].keys() >= {"loss", "mse", "mae", "val_loss", "val_mae"}
    for k in fit["history"]:
        np.testing.assert_allclose(tape["history"][k], fit["history"][k], rtol=1e-6, err_msg=k)
    np.testing.assert_allclose(tape["test"]["loss"], fit["test"]["loss"], rtol=1e-6)
    # the logged loss includes the L2 penalty in both: it exceeds the mse metric
    assert fit["history"]["loss"][0] > fit["history"]["mse"][0] + 1e-4
    assert _tags(tmp_path / "fit" / "tb") == _tags(tmp_path / "tape" / "tb") != set()


class Recorder(keras.callbacks.Callback):
    """Records every callback call with the log keys it received; stops training in epoch 2 after batch 2."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _rec(self, hook, i=None, logs=None):
        self.calls.append((hook, i, tuple(sorted(logs or {}))))

    def on_train_begin(self, logs=None):
        self._rec("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self._rec("epoch_begin", epoch)

    def on_train_batch_begin(self, batch, logs=None):
        self._rec("batch_begin", batch)

    def on_train_batch_end(self, batch, logs=None):
        self._rec("batch_end", batch, logs)
        assert all(isinstance(v, float) for v in logs.values())
        if len([c for c in self.calls if c[0] == "epoch_begin"]) == 2 and batch == 1:
            self.model.stop_training = True

    def on_test_begin(self, logs=None):
        self._rec("test_begin")

    def on_test_batch_end(self, batch, logs=None):
        self._rec("test_batch_end", batch, logs)

    def on_test_end(self, logs=None):
        self._rec("test_end", None, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._rec("epoch_end", epoch, logs)

    def on_train_end(self, logs=None):
        self._rec("train_end", None, logs)

@pytest.mark.slow

def test_tape_drives_the_callbacks_exactly_like_fit(tmp_path):
    calls = {}
    for trainer in ("fit", "tape"):
        rec = Recorder()
        cfg = compose(TINY + [f"trainer={trainer}", "trainer.epochs=3"] + QUIET)
        result = run(cfg, tmp_path / trainer, extra_callbacks=[rec])
        assert len(result.history["loss"]) == 2  # stop_training set in epoch 2 ends the run after it
        calls[trainer] = rec.calls
    assert calls["tape"] == calls["fit"]
    epoch_end = next(c for c in calls["fit"] if c[0] == "epoch_end")
    assert {"loss", "mae", "mse", "val_loss", "val_mae", "val_mse"} == set(epoch_end[2])
    assert [c[1] for c in calls["fit"] if c[0] == "batch_end"][-3:] == [12, 0, 1]  # epoch 2 stopped after batch 1

@pytest.mark.slow

def test_eager_mode_runs_the_same_loop(tmp_path):
    hist = {}
    for eager in ("false", "true"):
        cfg = compose(TINY + ["trainer=tape", "trainer.epochs=1", "dataset.limit=96", f"trainer.eager={eager}"]
                      + QUIET)
        hist[eager] = run(cfg, tmp_path / eager).history
    for k in hist["false"]:
        np.testing.assert_allclose(hist["true"][k], hist["false"][k], rtol=1e-4, err_msg=k)


@pytest.mark.slow
def test_tape_end_to_end_through_the_cli(tmp_path):
    r = seqlab_main("trainer=tape", "model=conv1d", "model.filters=8", "dataset.limit=256", "trainer.epochs=3",
                    "trainer.patience=5", "trainer.checkpoint.keep=1", f"hydra.run.dir={tmp_path}", cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "conv1d on sine" in r.stdout and "diagnosis: " in r.stdout and "Epoch 3/3" in r.stdout
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["trainer"] == "tape" and m["status"] == "completed" and m["epochs"] == 3
    assert m["test"]["mse"] < m["baseline"]["mse"] and m["diagnosis"]["verdict"]
    hist = pd.read_csv(tmp_path / "history.csv")
    assert list(hist["epoch"]) == [1, 2, 3] and {"loss", "val_loss", "mae"} <= set(hist.columns)
    assert (tmp_path / "model.keras").stat().st_size > 0 and any((tmp_path / "tb").rglob("events.out.*"))
    ckpts = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert ckpts[-1] == "epoch-0003.npz" and len(ckpts) <= 2  # keep=1 plus the best
