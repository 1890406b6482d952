"""Epoch checkpoints that continue a run bit-exactly, written atomically; resume decisions and SIGINT/SIGTERM.

A checkpoint is one `.npz` file, `checkpoints/epoch-0003.npz` after epoch 3, holding every model variable
(dropout seed-generator states included: no Keras save path restores those), every optimizer variable (its
step counter drives the learning-rate schedule), early stopping's state and best weights, the epoch timer,
the history so far, Python's and NumPy's RNG state and the config. The data order needs no state: it is a
function of (seed, epoch). Callbacks are never looked up by position or type: every `StatefulCallback`
(callbacks.py) hands its `state_dict()` over under its state key, numpy arrays into the npz, the rest into the JSON.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import keras
import numpy as np
from omegaconf import OmegaConf

from ..config import ConfigError
from ..config.flat import flatten
from .callbacks import stateful
from .interrupts import raise_if_interrupted
from .outputs import atomic_write

log = logging.getLogger(__name__)
_NAME = re.compile(r"^epoch-(\d+)\.npz$")
# keys that do not change what a run computes: a run may resume under different values
IGNORED_KEYS = ("resume", "data_dir", "sweep", "trainer.verbose", "trainer.eager", "trainer.tensorboard",
                "trainer.checkpoint", "trainer.cluster")  # a restarted cluster may use other ports; each task its index


@dataclass
class State:
    """Everything a run needs to continue after `epoch` completed epochs."""

    epoch: int
    meta: Dict[str, Any]  # step, stopped, history, callbacks, rng, config, best
    arrays: Dict[str, np.ndarray]  # "model.0", "optimizer.0", "callback.<state key>.<name>[.j]", "rng.numpy"
    path: Optional[Path] = None

    @property
    def history(self) -> Dict[str, List[float]]:
        return self.meta["history"]

    @property
    def stopped(self) -> bool:
        return bool(self.meta["stopped"])


def checkpoint_name(epoch: int) -> str:
    """The file of the checkpoint after `epoch` completed epochs: `epoch-0003.npz`."""
    return f"epoch-{epoch:04d}.npz"


def checkpoint_epoch(name: str) -> Optional[int]:
    """The epoch a checkpoint file name holds (`epoch-0003.npz` -> 3), None for any other name: the one parser."""
    m = _NAME.match(name)
    return int(m.group(1)) if m else None


def comparable_config(cfg) -> Dict[str, Any]:
    """The config as flat dotted keys, without the keys that may change between a run and its resumption."""
    return flatten(OmegaConf.to_container(cfg, resolve=True), skip=IGNORED_KEYS)


def _callback_states(callbacks, arrays: Dict[str, np.ndarray]) -> Dict[str, Dict[str, Any]]:
    """Every stateful callback's `state_dict()` by state key; its arrays (and lists of arrays) go to `arrays`."""
    states = {}
    for key, cb in stateful(callbacks).items():
        values, stored = {}, {}
        for name, v in cb.state_dict().items():
            if isinstance(v, np.ndarray):
                arrays[f"callback.{key}.{name}"] = v
                stored[name] = "array"
            elif isinstance(v, (list, tuple)) and v and all(isinstance(a, np.ndarray) for a in v):
                arrays.update({f"callback.{key}.{name}.{j}": a for j, a in enumerate(v)})
                stored[name] = len(v)
            else:
                values[name] = v
        states[key] = {"state": values, "arrays": stored}
    return states


def restore_callbacks(state: State, callbacks) -> None:
    """Hand each stateful callback its saved `state_dict` back; call after their on_train_begin, which resets it."""
    saved = state.meta["callbacks"]
    for key, cb in stateful(callbacks).items():
        entry = saved.get(key)
        if entry is None or "state" not in entry:
            log.warning("resume: checkpoint %s holds no state for callback %s: it starts afresh", state.path, key)
            continue
        d = dict(entry["state"])
        for name, n in entry["arrays"].items():
            prefix = f"callback.{key}.{name}"
            d[name] = state.arrays[prefix] if n == "array" else [state.arrays[f"{prefix}.{j}"] for j in range(n)]
        cb.load_state_dict(d)


def replay_end(state: State, model: keras.Model, callbacks) -> None:
    """For a run whose training had ended: restore the stateful callbacks and run their on_train_end again
    (early stopping puts its best weights back). Every callback gets the model: the run's end (pictures, HParams)
    reads it."""
    for cb in callbacks:
        cb.set_model(model)
    restore_callbacks(state, callbacks)
    for cb in stateful(callbacks).values():
        cb.on_train_end()


def capture(model: keras.Model, epoch: int, stopped: bool, history: Dict[str, List[float]], callbacks,
            config: Dict[str, Any], best: Optional[Dict[str, Any]]) -> State:
    """Snapshot the run after `epoch` completed epochs (numpy copies: training may go on meanwhile)."""
    arrays = {f"model.{i}": np.array(v.numpy()) for i, v in enumerate(model.variables)}
    arrays.update({f"optimizer.{i}": np.array(v.numpy()) for i, v in enumerate(model.optimizer.variables)})
    np_state = np.random.get_state()
    arrays["rng.numpy"] = np.asarray(np_state[1])
    py_state = random.getstate()
    meta = {"epoch": epoch, "step": int(model.optimizer.iterations.numpy()), "stopped": bool(stopped),
            "history": {k: [float(x) for x in v] for k, v in history.items()},
            "callbacks": _callback_states(callbacks, arrays),
            "rng": {"python": [py_state[0], list(py_state[1]), py_state[2]],
                    "numpy": [np_state[0], *np_state[2:]]},  # the key array goes to arrays["rng.numpy"]
            "config": config, "best": best}
    return State(epoch=epoch, meta=meta, arrays=arrays)


def _assign(variables, state: State, prefix: str) -> None:
    n = sum(k.startswith(prefix + ".") for k in state.arrays)
    if n != len(variables):
        raise ConfigError(f"resume: checkpoint {state.path} holds {n} {prefix} variables but the run has "
                          f"{len(variables)}: the model changed; use a new hydra.run.dir")
    for i, v in enumerate(variables):
        a = state.arrays[f"{prefix}.{i}"]
        if tuple(a.shape) != tuple(v.shape):
            raise ConfigError(f"resume: checkpoint {state.path} has shape {a.shape} for {prefix} variable "
                              f"{v.path}, the run {tuple(v.shape)}: the model changed; use a new hydra.run.dir")
        v.assign(a)


def restore_model(state: State, model: keras.Model) -> None:
    """Weights, dropout seed states, optimizer slots and step, and the Python/NumPy RNG state."""
    _assign(model.variables, state, "model")
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    _assign(model.optimizer.variables, state, "optimizer")
    py = state.meta["rng"]["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    name, pos, has_gauss, cached = state.meta["rng"]["numpy"]
    np.random.set_state((name, state.arrays["rng.numpy"], pos, has_gauss, cached))


class CheckpointStore:
    """`epoch-NNNN.npz` files in one directory: the last `keep` plus the best by the monitored loss."""

    def __init__(self, directory: Path, keep: int = 3):
        self.dir = Path(directory)
        self.keep = keep
        self.corrupt: List[str] = []  # checkpoints latest() could not read

    def paths(self) -> Dict[int, Path]:
        if not self.dir.is_dir():
            return {}
        found = ((checkpoint_epoch(p.name), p) for p in self.dir.iterdir())
        return dict(sorted((epoch, p) for epoch, p in found if epoch is not None))

    def save(self, state: State) -> Path:
        path = self.dir / checkpoint_name(state.epoch)
        arrays = dict(state.arrays, meta=np.array(json.dumps(state.meta)))

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())

        atomic_write(path, write)  # a killed run leaves the previous checkpoint, never half of this one
        state.path = path
        self._prune(state.meta.get("best"))
        return path

    def _prune(self, best: Optional[Dict[str, Any]]) -> None:
        paths = self.paths()
        keep = set(list(paths)[-self.keep:])
        if best:
            keep.add(best["epoch"])
        for epoch, p in paths.items():
            if epoch not in keep:
                p.unlink(missing_ok=True)

    def load(self, path: Path) -> State:
        return read_state(path, Path(path))

    def latest(self) -> Optional[State]:
        """The newest checkpoint that reads; a corrupt one (disk full, copied half) is reported by name and the
        one before it is used."""
        for stale in self.dir.glob(".epoch-*") if self.dir.is_dir() else []:
            stale.unlink(missing_ok=True)  # temp files of a run killed while writing
        for _, path in sorted(self.paths().items(), reverse=True):
            try:
                return self.load(path)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
                log.error("checkpoint %s is corrupt (%s: %s): falling back to the one before it", path,
                          type(e).__name__, str(e)[:200])
                self.corrupt.append(str(path))
        return None


def read_state(source, path: Optional[Path] = None) -> State:
    """A checkpoint from a file, or from a file-like object (a multi-worker chief's checkpoint, sent to the others)."""
    with np.load(source, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    return State(epoch=int(meta["epoch"]), meta=meta, arrays=arrays, path=path)


def resume_state(cfg, store: CheckpointStore) -> Optional[State]:
    """The checkpoint this run continues from, or None to start afresh; refuses to mix different configs."""
    state = store.latest()
    if state is None:
        if cfg.resume:
            log.warning("resume=true but %s holds no checkpoint: starting from epoch 0", store.dir)
        return None
    now = comparable_config(cfg)
    then = state.meta["config"]
    # keys on one side only come from a schema that gained or lost fields since: not a different run
    diffs = [f"{k}: {then[k]!r} -> {now[k]!r}" for k in sorted(set(now) & set(then)) if now[k] != then[k]]
    if diffs and not cfg.resume:
        raise ConfigError(f"resume: the run directory holds a checkpoint of a different config ({store.dir}, "
                          f"epoch {state.epoch}; {'; '.join(diffs)}). Expected the same command to continue "
                          "it: use a new hydra.run.dir, or resume=true to continue it with this config")
    if diffs:
        log.warning("resume=true: continuing %s under a changed config: %s", state.path, "; ".join(diffs))
    log.info("resuming from %s (epoch %d, step %d)", state.path or "the chief's checkpoint (sent over the cluster)",
             state.epoch, state.meta["step"])
    return state


class Checkpointer(keras.callbacks.Callback):
    """Captures the run after every epoch, writes every `every` epochs and after the last; restores on resume.

    Place it after early stopping and History in the callback list, so that it sees the epoch's decisions.
    """

    def __init__(self, store: CheckpointStore, every: int, epochs: int, callbacks, history, config,
                 restored: Optional[State] = None):
        super().__init__()
        self.store, self.every, self.epochs = store, every, epochs
        self.callbacks, self.history, self.config = callbacks, history, config
        self.restored = restored
        self.best = restored.meta.get("best") if restored else None
        self.pending: Optional[State] = None  # the last epoch's state when it is not on disk yet
        self.last_path: Optional[Path] = restored.path if restored else None
        self.last_epoch = restored.epoch if restored else 0

    def on_train_begin(self, logs=None):
        if self.restored is not None:
            restore_callbacks(self.restored, self.callbacks)

    def on_train_batch_end(self, batch, logs=None):
        raise_if_interrupted()  # a SIGINT/SIGTERM whose exception native code dropped stops the run here

    def on_epoch_end(self, epoch, logs=None):
        if not self.every:
            return
        logs = logs or {}
        monitor = "val_loss" if "val_loss" in logs else "loss"
        value = logs.get(monitor)
        best = self.best
        if value is not None and (best is None or value < best["value"]):
            best = {"epoch": epoch + 1, "monitor": monitor, "value": float(value)}
        stopped = bool(self.model.stop_training)
        state = capture(self.model, epoch + 1, stopped, self.history.history, self.callbacks, self.config, best)
        self.pending = state
        if stopped or epoch + 1 >= self.epochs or (epoch + 1) % self.every == 0:
            self.flush()

    def flush(self) -> Optional[Path]:
        """Write the pending state, if any; returns the latest checkpoint on disk."""
        if self.pending is not None:
            state = self.pending
            self.last_path = self.store.save(state)
            self.pending = None  # only now: a save cut short by a signal is retried by the interrupt handler
            self.last_epoch = state.epoch
            self.best = state.meta["best"]  # the best among written checkpoints, so pruning keeps a real file
        return self.last_path
