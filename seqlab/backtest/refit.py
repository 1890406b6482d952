"""Retraining a run at a backtest cutoff: `python -m seqlab` with the run's own overrides and the split boundaries
moved to the cutoff, in a process of its own and a run directory of its own (continued if it was cut short)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import List

from omegaconf import OmegaConf

from ..config import config_error

log = logging.getLogger(__name__)


class RefitFailed(RuntimeError):
    """A retraining's process failed; its log says why."""

# keys a retraining sets itself: where it runs, where its splits end
OWN_KEYS = ("hydra.run.dir", "dataset.boundaries", "dataset.split", "dataset.test_steps", "resume")


def run_overrides(run_dir: Path) -> List[str]:
    """The command-line overrides the run was trained with (`.hydra/overrides.yaml`), without those a retraining
    sets itself."""
    path = Path(run_dir) / ".hydra" / "overrides.yaml"
    if not path.is_file():
        raise config_error("--refit", f"a run directory with {path.relative_to(run_dir)} (the overrides it was "
                           "trained with)", f"{run_dir} has none")
    return [o for o in OmegaConf.to_container(OmegaConf.load(path))
            if o.lstrip("+~").split("=", 1)[0] not in OWN_KEYS]


def run_cwd(run_dir: Path) -> Path:
    """The folder the run was started in (relative paths in its overrides are relative to it), if it still exists."""
    path = Path(run_dir) / ".hydra" / "hydra.yaml"
    if path.is_file():
        cwd = OmegaConf.select(OmegaConf.load(path), "hydra.runtime.cwd")
        if cwd and Path(cwd).is_dir():
            return Path(cwd)
    return Path.cwd()


def finished(refit_dir: Path) -> bool:
    """Whether the retraining in `refit_dir` completed (its model and inference files are written)."""
    metrics = Path(refit_dir) / "metrics.json"
    if not (metrics.is_file() and (Path(refit_dir) / "inference.json").is_file()):
        return False
    try:
        return json.loads(metrics.read_text()).get("status") == "completed"
    except ValueError:
        return False


def retrain(run_dir: Path, refit_dir: Path, split: List[str], log_path: Path) -> None:
    """Train the run's config with the `split` overrides (its rows before the cutoff) into `refit_dir` (a child
    process; its console output into `log_path`). A directory holding checkpoints of an interrupted retraining is
    continued from them."""
    refit_dir = Path(refit_dir).resolve()
    args = [*run_overrides(run_dir), *split, f"hydra.run.dir={refit_dir}"]
    cmd = [sys.executable, "-m", "seqlab", *args]
    log.info("retraining: %s", " ".join(cmd))
    with open(log_path, "w") as out:
        code = subprocess.run(cmd, cwd=run_cwd(run_dir), stdout=out, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONPATH": _pythonpath()}).returncode
    if code != 0 or not finished(refit_dir):
        tail = Path(log_path).read_text(errors="replace").strip().splitlines()[-1:] or [""]
        raise RefitFailed(f"the retraining in {refit_dir} failed (exit code {code}): {tail[0][:300]} "
                           f"(log: {log_path})")
    changed = config_changes(run_dir, refit_dir)
    if changed:  # the shipped YAML changed since the run was trained: the retraining is not the same model
        log.warning("the retraining in %s differs from the run's config beyond its split: %s", refit_dir,
                    "; ".join(changed[:8]))


def config_changes(run_dir: Path, refit_dir: Path) -> List[str]:
    """`key: before -> after` for every config key the retraining has different (its own keys excepted)."""
    from ..config.flat import flatten

    before, after = (flatten(OmegaConf.to_container(OmegaConf.load(Path(d) / ".hydra" / "config.yaml")),
                             skip=OWN_KEYS + ("data_dir",)) for d in (run_dir, refit_dir))
    return [f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)]


def _pythonpath() -> str:
    """This process's seqlab first on the child's path, so the retraining runs the same code."""
    here = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([here] + ([rest] if rest else []))
