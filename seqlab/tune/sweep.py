"""`python -m seqlab -m sweep=<name>`: a Keras Tuner search over the config's space, resumable and distributable.

Layout of a sweep directory (default sweeps/<date>/<time>/<job>/):
- `sweep.json`   what this sweep is (config fingerprint, status); how `sweep.resume` finds it again
- `sweep.lock`   held (flock) by the process that runs the sweep or its chief: a second one refuses the folder
- `tuner/`       Keras Tuner's state (oracle.json, trial_<id>/trial.json, the best epoch's weights)
- `trials/<id>/` each trial's run directory (metrics.json, history.csv, tb/, checkpoints/) and sweep_trial.json
- `hparams/`     TensorBoard's experiment-level HParams config (domains from the space)
- `trials.csv`, `best.yaml`: the results
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from omegaconf import DictConfig, OmegaConf

from .. import private
from ..config import (
    ConfigError,
    objective_direction,
    objective_directions,
    objective_name,
    objective_names,
    sweep_space,
)
from ..config.flat import flatten
from ..train.outputs import write_json, write_text
from . import distributed, results
from .space import trial_config

log = logging.getLogger(__name__)
STATE = "sweep.json"
LOCK = "sweep.lock"
# keys that may change between a sweep and its continuation (budgets, how it runs, how it prints)
RESUMABLE_KEYS = ("sweep.resume", "sweep.max_trials", "sweep.distributed", "sweep.isolation", "trainer.verbose",
                  "data_dir", "resume", "sweep.confirm_top", "sweep.confirm_seeds")


def comparable(cfg: DictConfig) -> Dict[str, Any]:
    """The config as dotted keys (the space as one value), without the keys a continuation may change."""
    return flatten(OmegaConf.to_container(cfg, resolve=True), skip=RESUMABLE_KEYS, whole=("space",), keep_empty=True)


def fingerprint(cfg: DictConfig) -> str:
    return hashlib.sha256(json.dumps(comparable(cfg), sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read_state(sweep_dir: Path) -> Dict[str, Any]:
    try:
        return json.loads((Path(sweep_dir) / STATE).read_text())
    except (OSError, ValueError):
        return {}


def _write_state(sweep_dir: Path, cfg: DictConfig, status: str, **extra: Any) -> None:
    state = _read_state(sweep_dir)
    sw = cfg.sweep
    state.update(name=sw.name, tuner=sw.tuner, objective=objective_name(sw), direction=objective_direction(sw),
                 status=status, fingerprint=fingerprint(cfg), config=comparable(cfg), host=socket.gethostname(),
                 pid=os.getpid(), updated=time.strftime("%Y-%m-%dT%H:%M:%S"), **extra)
    state.setdefault("started", state["updated"])
    write_json(Path(sweep_dir) / STATE, state)


def hold(sweep_dir: Path):
    """An exclusive lock on `sweep_dir` while this process runs its sweep (or chief), released when the returned
    file closes or the process ends (SIGKILL included, so a killed sweep never leaves a stale lock; trials forked from
    it hold it too until they end). A second sweep into the same folder gets a ConfigError naming the holder."""
    import fcntl

    f = open(Path(sweep_dir) / LOCK, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        state = _read_state(sweep_dir)
        holder = f"pid {state.get('pid', '?')} on {state.get('host', '?')}"
        raise ConfigError(f"hydra.sweep.dir: expected a folder no other sweep is running in, got {sweep_dir}, which "
                          f"the sweep started by {holder} holds; wait for it to end (the same command then continues "
                          "it) or choose a new hydra.sweep.dir") from None
    return f


def _alive(state: Dict[str, Any]) -> bool:
    """Whether the process that last wrote `state` still runs (on this host)."""
    if state.get("host") != socket.gethostname() or not state.get("pid") or state["pid"] == os.getpid():
        return False
    try:
        os.kill(int(state["pid"]), 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def find_unfinished(out_dir: Path, fp: str) -> Optional[Path]:
    """The newest unfinished, not running sweep of the same config beside `out_dir` (sweeps/<date>/<time>/<job>)."""
    found = set()
    for levels in (3, 2):
        if len(out_dir.parents) > levels:
            found.update(out_dir.parents[levels - 1].glob("/".join(["*"] * levels) + "/" + STATE))
    candidates = []
    for path in found:
        state = _read_state(path.parent)
        if (path.parent.resolve() != out_dir.resolve() and state.get("fingerprint") == fp
                and state.get("status") in ("running", "interrupted") and not _alive(state)):
            candidates.append(path)
    return max(candidates, key=lambda p: p.stat().st_mtime).parent if candidates else None


def locate(cfg: DictConfig, out_dir: Path, role: Optional[str]) -> Path:
    """Where this sweep lives: `out_dir`, or with `sweep.resume` the unfinished sweep of the same config."""
    fp = fingerprint(cfg)
    state = _read_state(out_dir)
    if state:
        if not cfg.sweep.resume:
            raise ConfigError(f"sweep.resume: expected true to continue the sweep in {out_dir}, got false "
                              "(or choose a new hydra.sweep.dir)")
        if state.get("fingerprint") != fp:
            now, then = comparable(cfg), state.get("config", {})
            diffs = [f"{k}: {then.get(k)!r} -> {now.get(k)!r}" for k in sorted(set(now) | set(then))
                     if now.get(k) != then.get(k)]
            raise ConfigError(f"sweep.resume: {out_dir} holds a sweep of another config ({'; '.join(diffs[:8])}); "
                              "expected the same command, or a new hydra.sweep.dir")
        log.info("continuing the sweep in %s", out_dir)
        return out_dir
    if cfg.sweep.resume and role is None:
        previous = find_unfinished(out_dir, fp)
        if previous is not None:
            log.warning("sweep.resume: continuing the unfinished sweep of the same config in %s", previous)
            out_dir.mkdir(parents=True, exist_ok=True)
            write_text(out_dir / "RESUMED.txt", f"This sweep continued the unfinished one in {previous}\n")
            return previous
    return out_dir


def _hydra_overrides(out_dir: Path) -> List[str]:
    path = Path(out_dir) / ".hydra" / "overrides.yaml"
    return [str(o) for o in OmegaConf.load(path)] if path.exists() else []


def hparams_writer(sweep_dir: Path, cfg: DictConfig, space: Dict[str, Dict[str, Any]]) -> Callable[[], None]:
    """TensorBoard's experiment-level HParams (a column per space key with its domain, the final metrics), written
    once by the first trial's process: TensorFlow ops must not run in the tuner's process, which forks trials."""
    objective = objective_name(cfg.sweep)
    metrics = list(dict.fromkeys([objective, "val_loss", "test.loss"] + (
        [f"test.{objective[4:]}"] if objective.startswith("val_") else []) + (
        ["pruned"] if cfg.sweep.pruner != "none" else [])))  # a pruned trial's epoch (HParams has no such status)
    columns = trial_config(cfg, {})

    def write() -> None:
        if not (sweep_dir / "hparams").exists():
            from ..train.tensorboard import write_hparams_experiment

            write_hparams_experiment(sweep_dir / "hparams", space, metrics=metrics, cfg=columns)

    return write


def _confirm(cfg: DictConfig, sweep_dir: Path, summary: results.Summary, direction: str) -> List[Dict[str, Any]]:
    """sweep.confirm_top: the best trials re-trained on fresh seeds (confirm.py); resumable like the search."""
    from . import confirm

    try:
        confirmed = confirm.confirm(cfg, sweep_dir, summary.rows, objective_name(cfg.sweep), direction)
    except KeyboardInterrupt:
        _write_state(sweep_dir, cfg, "interrupted")
        log.error("confirmation interrupted: run the same command again to continue it (finished seeds are kept)")
        raise SystemExit(130) from None
    summary.notes = confirm.table_lines(confirmed, objective_name(cfg.sweep))
    return confirmed


def run_sweep(cfg: DictConfig, out_dir: Path, overrides: Optional[List[str]] = None) -> results.Summary:
    """Run (or continue) the sweep `cfg.sweep` in `out_dir`; returns its summary (rows, best trial, table)."""
    sw = cfg.sweep
    space, skipped = sweep_space(cfg)
    for key in skipped:
        group = key.partition(".")[0]
        log.warning("sweep.space.%s: %s=%s has no such key; skipped", key, group, cfg[group].name)
    role = distributed.configure(sw.distributed)
    out_dir = Path(out_dir)
    sweep_dir = out_dir if role == "worker" else locate(cfg, out_dir, role)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    lock = hold(sweep_dir) if role != "worker" else None
    try:
        return _run(cfg, sw, space, role, out_dir, sweep_dir, overrides)
    finally:
        if lock is not None:
            lock.close()


def _run(cfg: DictConfig, sw: DictConfig, space: Dict[str, Dict[str, Any]], role: Optional[str], out_dir: Path,
         sweep_dir: Path, overrides: Optional[List[str]]) -> results.Summary:
    base = list(overrides) if overrides is not None else _hydra_overrides(out_dir)
    direction, keys = objective_direction(sw), list(space)
    if role != "worker":
        _write_state(sweep_dir, cfg, "running", overrides=base)
    objective, objectives = objective_name(sw), objective_names(sw)
    log.info("sweep %s (%s, objective %s %s) over %s in %s%s", sw.name, sw.tuner, objective, direction,
             ", ".join(keys), sweep_dir, f" as {role} {os.environ['KERASTUNER_TUNER_ID']}" if role else "")

    from ..train import distribute
    from .hypermodel import SeqlabHyperModel  # TensorFlow and Keras Tuner from here on
    from .tuner import SweepTuner, make_oracle

    # trainer.distribute=mirrored: the logical CPU replicas before any trial starts TensorFlow's runtime (a trial's
    # process writes TensorBoard HParams first); forked trials inherit them and each builds its own strategy
    distribute.configure_devices(cfg.trainer)

    lease = float(sw.distributed.lease_seconds)
    tuner = SweepTuner(make_oracle(cfg, lease=lease if role == "chief" else None),
                       SeqlabHyperModel(cfg, space, objective, measured=objectives[1:]), sweep_dir,
                       isolation=sw.isolation, pruner=sw.pruner,
                       heartbeat=lease / 4 if role == "worker" else None,
                       prepare_trial=hparams_writer(sweep_dir, cfg, space),
                       executions_per_trial=int(sw.executions_per_trial))
    try:
        if role == "chief":
            oracle = tuner.oracle
            tuner.save()
            if not (oracle.max_trials and len(oracle.trials) >= oracle.max_trials and not private.retry_queue(oracle)):
                distributed.serve(oracle)
        else:
            tuner.search(verbose=1 if cfg.trainer.verbose else 0)
    except KeyboardInterrupt:
        if role != "worker":
            _write_state(sweep_dir, cfg, "interrupted")
        log.error("sweep interrupted: run the same command again to continue it (sweep.resume=true finds %s; "
                  "or pin it with hydra.sweep.dir=...)", sweep_dir)
        raise SystemExit(130) from None

    measured = objectives[1:]
    summary = results.Summary(sweep_dir=sweep_dir, name=sw.name, tuner=sw.tuner, objective=objective,
                              direction=direction, keys=keys, measured=measured, role=role,
                              rows=results.collect(sweep_dir, keys, objective, measured))
    if role == "worker":
        return summary
    if measured:
        from . import pareto

        pareto.mark_front(summary.rows, objectives, objective_directions(sw))
        pareto.plot(sweep_dir / "pareto.png", summary.rows, objectives, objective_directions(sw),
                    title=f"sweep {sw.name} ({sw.tuner})")
    confirmed = _confirm(cfg, sweep_dir, summary, direction) if sw.confirm_top else None
    results.write_csv(sweep_dir / "trials.csv", summary.rows, keys, objective, measured)
    summary.best = results.best_trial(summary.rows, objective, direction, base, int(sw.executions_per_trial),
                                      int(cfg.seed))
    if confirmed:  # best.yaml on the confirmed mean over fresh seeds, not on the search's single run
        from .confirm import best_note

        summary.best = results.best_trial(confirmed, "confirmed_mean", direction, base)
        summary.best["confirmed"] = best_note(confirmed[0], objective)
    if summary.best:
        results.write_best(sweep_dir / "best.yaml", summary.best, objective, direction, sw.name)
    _write_state(sweep_dir, cfg, "failed" if summary.all_failed else "completed")
    return summary
