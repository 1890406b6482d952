"""Run directories: a fresh one per run (never shared by two runs), locked while in use, and its recorded config.

No TensorFlow at import: the CLI claims and locks the directory before training imports it.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import socket
import time
from pathlib import Path
from typing import IO, Dict, List

from omegaconf import DictConfig, OmegaConf

LOCK_FILE = ".lock"
_claimed: Dict[str, str] = {}  # base -> the directory this process created for it
_locks: List[IO] = []  # open lock files: flock holds as long as they stay open (until the process ends)


class RunDirBusy(RuntimeError):
    """Another live process holds the run directory's lock."""

    def __init__(self, run_dir: Path, holder: Dict[str, object]):
        self.run_dir, self.holder = run_dir, holder
        who = (f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}: "
               f"{holder.get('command')}") if holder else "a process that has not written its name yet"
        super().__init__(f"run directory {run_dir} is in use by {who}; wait for it to end, or choose another "
                         "hydra.run.dir")


def unique_dir(base: str) -> str:
    """The OmegaConf resolver `seqlab_unique`: `base`, or `base-1`, `base-2`, ... whichever os.mkdir creates first.

    Creating is the claim, so two runs started in the same second never share a directory. Hydra resolves
    `hydra.run.dir` more than once per run, so the answer is cached for the process.
    """
    if base not in _claimed:
        parent = os.path.dirname(base)
        if parent:
            os.makedirs(parent, exist_ok=True)
        for i in itertools.count():
            path = base if i == 0 else f"{base}-{i}"
            try:
                os.mkdir(path)
            except FileExistsError:
                continue
            _claimed[base] = path
            break
    return _claimed[base]


def _read_holder(f: IO) -> Dict[str, object]:
    for _ in range(20):  # the holder writes its line right after locking: give it a moment
        f.seek(0)
        text = f.read().strip()
        if text:
            try:
                return json.loads(text)
            except ValueError:
                pass
        time.sleep(0.05)
    return {}


def lock(run_dir: Path, command: str) -> None:
    """Hold `<run_dir>/.lock` (fcntl.flock) until this process ends; raises RunDirBusy when another holds it.

    The kernel drops the lock when its holder dies, even by SIGKILL, so a killed run can always be resumed.
    """
    f = open(Path(run_dir) / LOCK_FILE, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(f)
        f.close()
        raise RunDirBusy(Path(run_dir), holder) from None
    f.truncate(0)
    f.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": command}) + "\n")
    f.flush()
    _locks.append(f)


def release() -> None:
    """Drop every lock this process holds (a caller running several runs in one process: tests, notebooks)."""
    while _locks:
        _locks.pop().close()
    _claimed.clear()


def keeps_recorded_config(run_dir: Path, cfg: DictConfig, sweep: bool) -> bool:
    """Whether `run_dir/.hydra/config.yaml` belongs to a run that this one must not overwrite.

    True when it records a different config (ignoring the keys a run may resume under) and, without
    `resume=true`, the run will be refused: a single run's directory holds checkpoints of it, or it is a sweep's.
    """
    recorded = Path(run_dir) / ".hydra" / "config.yaml"
    if cfg.resume or not recorded.exists():
        return False
    from .train.checkpoint import CheckpointStore, comparable_config

    then, now = comparable_config(OmegaConf.load(recorded)), comparable_config(cfg)
    if all(then[k] == now[k] for k in set(then) & set(now)):
        return False
    return sweep or bool(CheckpointStore(Path(run_dir) / "checkpoints").paths())


def record(run_dir: Path, cfg: DictConfig, hydra_cfg: DictConfig, overrides: List[str]) -> None:
    """Write `.hydra/config.yaml`, `overrides.yaml` and `hydra.yaml` atomically, as Hydra would have."""
    from .train.outputs import write_config_yaml

    out = Path(run_dir) / ".hydra"
    write_config_yaml(out / "config.yaml", cfg)
    write_config_yaml(out / "overrides.yaml", OmegaConf.create(list(overrides)))
    write_config_yaml(out / "hydra.yaml", OmegaConf.create({"hydra": OmegaConf.to_container(hydra_cfg)}))
