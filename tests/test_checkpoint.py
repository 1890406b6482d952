"""Checkpoints: atomic files, pruning, config checks; resume after SIGKILL/SIGTERM is bit-exact for both trainers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlab.config import ConfigError, compose
from seqlab.train.checkpoint import (
    CheckpointStore,
    State,
    comparable_config,
    resume_state,
)
from seqlab.train.errors import Interrupted
from seqlab.train.interrupts import interrupts_raise, raise_if_interrupted

REPO = Path(__file__).resolve().parents[1]
# shuffling, dropout (input and recurrent) and early stopping all on: every piece of state must survive a resume
RUN = ["dataset=sine", "dataset.length=700", "dataset.input_len=16", "dataset.horizon=2", "model=gru",
       "model.units=8", "regularizer=dropout", "regularizer.dropout=0.3", "regularizer.recurrent_dropout=0.2",
       "trainer.epochs=5", "trainer.batch_size=16", "trainer.patience=3", "trainer.lr=0.01", "deterministic=true",
       "trainer.tensorboard.enabled=false", "trainer.verbose=2"]


def _state(epoch: int, value: float) -> State:
    meta = {"epoch": epoch, "step": epoch * 10, "stopped": False, "history": {"loss": [1.0] * epoch},
            "callbacks": {}, "rng": {}, "config": {}, "best": None}
    return State(epoch=epoch, meta=meta, arrays={"model.0": np.full((2, 3), value, np.float32)})


def test_store_keeps_last_n_plus_best_and_ignores_partial_files(tmp_path):
    store = CheckpointStore(tmp_path / "checkpoints", keep=2)
    for epoch in range(1, 6):
        s = _state(epoch, epoch)
        s.meta["best"] = {"epoch": 2, "monitor": "val_loss", "value": 0.1}  # epoch 2 stays the best
        store.save(s)
    assert sorted(store.paths()) == [2, 4, 5]
    (store.dir / ".epoch-0006.abc123.npz").write_bytes(b"PK\x03\x04 half a zip")  # what SIGKILL mid-write leaves
    latest = store.latest()
    assert latest.epoch == 5 and latest.meta["step"] == 50
    np.testing.assert_array_equal(latest.arrays["model.0"], np.full((2, 3), 5, np.float32))
    assert not list(store.dir.glob(".epoch-*")), "stale temp files are cleaned up"


def test_resume_refuses_a_different_config_unless_asked(tmp_path):
    cfg = compose(["trainer.lr=0.001"])
    store = CheckpointStore(tmp_path, keep=3)
    s = _state(2, 0.0)
    s.meta["config"] = comparable_config(cfg)
    store.save(s)
    assert resume_state(cfg, store).epoch == 2
    assert resume_state(compose(["trainer.lr=0.001", "trainer.verbose=0"]), store).epoch == 2  # display only
    with pytest.raises(ConfigError, match=r"trainer.lr: 0.001 -> 0.01.*resume=true"):
        resume_state(compose(["trainer.lr=0.01"]), store)
    assert resume_state(compose(["trainer.lr=0.01", "resume=true"]), store).epoch == 2
    assert resume_state(cfg, CheckpointStore(tmp_path / "empty")) is None


def test_data_order_changes_every_epoch_and_is_the_same_after_a_resume():
    from seqlab.data.base import ArraySplit

    split = ArraySplit(np.arange(40, dtype=np.float32)[:, None, None], np.arange(40, dtype=np.float32))
    epochs = [np.concatenate([y.numpy() for _, y in split.dataset(8, shuffle_seed=3, first_epoch=e, epochs=e + 1)])
              for e in range(3)]
    assert not np.array_equal(epochs[0], epochs[1]) and sorted(epochs[1]) == list(range(40))
    whole = np.concatenate([y.numpy() for _, y in split.dataset(8, shuffle_seed=3, first_epoch=0, epochs=3)])
    np.testing.assert_array_equal(whole, np.concatenate(epochs))  # resuming at epoch e replays epoch e's order


@pytest.mark.slow
def _signal_swallowed(sig):
    """Deliver `sig` to this process where its Interrupted is dropped, as code called back from native code may."""
    try:
        os.kill(os.getpid(), sig)
        time.sleep(0.5)  # the handler runs at the next bytecode, inside this try
    except Interrupted:
        pass


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_dropped_interrupt_is_raised_again_at_the_next_batch_and_at_the_end(sig):
    with pytest.raises(Interrupted) as at_batch:
        with interrupts_raise():
            _signal_swallowed(sig)
            raise_if_interrupted()  # what the Checkpointer does at every batch end
    assert at_batch.value.signum == sig
    with pytest.raises(Interrupted):  # no batch ended after it: the end of training raises it
        with interrupts_raise():
            _signal_swallowed(sig)
    with interrupts_raise():  # a new training block starts clean
        raise_if_interrupted()
    assert signal.getsignal(sig) is not None and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# with TensorBoard, the run's end draws the model's predictions again
@pytest.mark.parametrize("tensorboard", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_rerunning_a_finished_run_evaluates_it_again_without_training(tensorboard, tmp_path):
    from seqlab.train import run

    # sgd at a high rate with patience 1 stops early; the final weights are the best epoch's, restored at the end
    cfg = compose(["model=lstm", "model.units=8", "dataset.length=800", "trainer.epochs=30", "trainer.patience=1",
                   "trainer.lr=0.3", "trainer.optimizer=sgd", "trainer.verbose=0",
                   f"trainer.tensorboard.enabled={str(tensorboard).lower()}"])
    first = run(cfg, tmp_path)
    assert first.metrics["epochs"] < 30
    again = run(cfg, tmp_path)
    assert again.history == first.history and again.metrics["test"] == first.metrics["test"]
    assert again.metrics["train_seconds"] == first.metrics["train_seconds"]  # no epoch ran


# --------------------------------------------------------------------------- subprocess runs
def _cmd(run_dir, trainer):
    return [sys.executable, "-m", "seqlab", *RUN, f"trainer={trainer}", f"hydra.run.dir={run_dir}"]


def _run(run_dir, trainer):
    r = subprocess.run(_cmd(run_dir, trainer), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _start_and_signal(run_dir, trainer, sig, after_epoch):
    """Start a run, send `sig` once the checkpoint of `after_epoch` exists; returns the finished process."""
    proc = subprocess.Popen(_cmd(run_dir, trainer), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    target = Path(run_dir) / "checkpoints" / f"epoch-{after_epoch:04d}.npz"
    deadline = time.time() + 240
    while not target.exists():
        assert proc.poll() is None, f"run ended before epoch {after_epoch}: {proc.communicate()[1][-3000:]}"
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _outcome(run_dir):
    d = Path(run_dir)
    m = json.loads((d / "metrics.json").read_text())
    final = CheckpointStore(d / "checkpoints").latest()
    weights = {k: v for k, v in final.arrays.items() if k.startswith(("model.", "optimizer."))}
    return m, pd.read_csv(d / "history.csv"), weights


def _assert_identical(a, b):
    (ma, ha, wa), (mb, hb, wb) = _outcome(a), _outcome(b)
    assert mb["status"] == "completed" and mb["epochs"] == ma["epochs"] == len(ha)
    pd.testing.assert_frame_equal(ha, hb, check_exact=True)  # every epoch, the resumed ones included
    for key in ("test", "final", "best_epoch", "diagnosis"):
        assert ma[key] == mb[key], key
    assert wa.keys() == wb.keys()
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), f"{k} differs after resume"


class Reference:
    """The uninterrupted run of one trainer, started in the background: it trains while the test kills and resumes
    its own run beside it (two processes on two cores); `done()` waits for it and checks that it completed."""

    def __init__(self, run_dir, trainer):
        self.dir, self.log = run_dir, run_dir.with_name(run_dir.name + ".log")  # a file: a pipe could fill up
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(_cmd(run_dir, trainer), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)

    def done(self):
        assert self.proc.wait(timeout=300) == 0, self.log.read_text()[-3000:]
        return self.dir


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference run of each trainer (once per module, started on first use; stopped if a test left it)."""
    runs = {}

    def start(trainer):
        if trainer not in runs:
            runs[trainer] = Reference(tmp_path_factory.mktemp(f"whole_{trainer}"), trainer)
        return runs[trainer]

    yield start
    for ref in runs.values():
        if ref.proc.poll() is None:
            ref.proc.kill()
            ref.proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("trainer", ["fit", "tape"])
def test_resume_after_sigkill_is_bit_exact(trainer, tmp_path, uninterrupted):
    reference = uninterrupted(trainer)
    rc, _, _ = _start_and_signal(tmp_path, trainer, signal.SIGKILL, after_epoch=2)
    assert rc == -signal.SIGKILL
    assert CheckpointStore(tmp_path / "checkpoints").latest().epoch < 5
    r = _run(tmp_path, trainer)  # the same command in the same directory continues the run
    assert "resuming from" in r.stdout + r.stderr and "Epoch 1/5" not in r.stdout
    _assert_identical(reference.done(), tmp_path)


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_prints_how_to_resume_and_exits_nonzero(tmp_path, uninterrupted):
    reference = uninterrupted("tape")
    run_dir = tmp_path / "term"
    rc, _, err = _start_and_signal(run_dir, "tape", signal.SIGTERM, after_epoch=1)
    assert rc == 128 + signal.SIGTERM, err[-3000:]
    assert "interrupted by SIGTERM" in err and "resume with: " in err
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "interrupted"
    state = CheckpointStore(run_dir / "checkpoints").latest()
    assert 1 <= state.epoch < 5 and len(state.history["loss"]) == state.epoch
    assert any(k.startswith("optimizer.") for k in state.arrays) and state.meta["step"] > 0
    # the printed command resumes it
    cmd = err.split("resume with: ")[1].splitlines()[0]
    r = subprocess.run(cmd.replace("python", sys.executable, 1), shell=True, cwd=REPO, capture_output=True,
                       text=True, timeout=300, env=dict(os.environ))
    assert r.returncode == 0, r.stderr[-3000:]
    _assert_identical(reference.done(), run_dir)
