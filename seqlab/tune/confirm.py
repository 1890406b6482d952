"""A sweep's winners confirmed on fresh seeds: `sweep.confirm_top=3 sweep.confirm_seeds=5`.

A search ranks trials on one seed each, so its best trial is partly the luckiest seed. After the search, the
`confirm_top` best trials are trained again, each on `confirm_seeds` seeds the search never used (seed + 100 + k),
through the same training path as a trial (`train.run` on the trial's config, in a forked child with
`sweep.isolation=process`), into `<sweep>/confirm/<trial>/seed<k>/`. best.yaml is then the trial with the best
confirmed mean; trials.csv and the table get each confirmed trial's mean, std and 95% t interval.

Resumable like the sweep: a confirmation run that finished is read back, one that was interrupted continues from
its checkpoint (resume=true), so the same command after Ctrl-C picks up where it stopped.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

from omegaconf import DictConfig

from .. import stats
from .space import TUNER_PREFIX, trial_config

log = logging.getLogger(__name__)
SEED_OFFSET = 100  # confirmation seeds: seed + 100 + k, never a seed the search trained with


def seeds(cfg: DictConfig) -> List[int]:
    return [int(cfg.seed) + SEED_OFFSET + k for k in range(int(cfg.sweep.confirm_seeds))]


def objective_value(history: Dict[str, List[float]], objective: str, direction: str) -> Optional[float]:
    """The run's best epoch on the objective, as Keras Tuner scores a trial."""
    values = [float(v) for v in history.get(objective, []) if v is not None and math.isfinite(float(v))]
    if not values:
        return None
    return max(values) if direction == "max" else min(values)


def _finished(run_dir: Path, objective: str, direction: str) -> Optional[Dict[str, Any]]:
    """A confirmation run that already ended: its objective (None when it failed), else None (train it)."""
    try:
        m = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    if m.get("status") == "interrupted":
        return None
    if m.get("status") != "completed":
        return {"value": None, "status": m.get("status")}
    import pandas as pd

    h = pd.read_csv(run_dir / "history.csv")
    return {"value": objective_value({k: h[k].tolist() for k in h.columns}, objective, direction),
            "status": "completed"}


def _train(cfg: DictConfig, run_dir: Path, objective: str, direction: str) -> Dict[str, Any]:
    """One confirmation run through train.run; Diverged counts as a failed seed."""
    from ..train import run
    from ..train.errors import Diverged

    try:
        result = run(cfg, run_dir)
    except Diverged as e:
        return {"value": None, "status": f"diverged: {e}"}
    return {"value": objective_value(result.history, objective, direction), "status": "completed"}


def _run_one(cfg: DictConfig, run_dir: Path, objective: str, direction: str, isolation: str) -> Dict[str, Any]:
    from . import isolate
    from .hypermodel import last_checkpoint_epoch

    if last_checkpoint_epoch(run_dir):
        cfg.resume = True  # interrupted before: continue its checkpoint
    if isolation == "process" and not isolate.tensorflow_initialized():
        try:
            return isolate.call(lambda: _train(cfg, run_dir, objective, direction))
        except (isolate.ChildFailed, isolate.ChildLost) as e:
            return {"value": None, "status": f"failed: {e}"}
    return _train(cfg, run_dir, objective, direction)


def confirm(cfg: DictConfig, sweep_dir: Path, rows: List[Dict[str, Any]], objective: str,
            direction: str) -> List[Dict[str, Any]]:
    """Re-train the best `sweep.confirm_top` completed trials on fresh seeds; adds the confirmed columns to their
    rows (in place) and returns those rows, best confirmed mean first. KeyboardInterrupt propagates (resumable)."""
    top = int(cfg.sweep.confirm_top)
    done = [r for r in rows if r["status"] == "completed" and r.get(objective) is not None]
    sign = -1 if direction == "max" else 1
    best = sorted(done, key=lambda r: sign * r[objective])[:top]
    if not best:
        return []
    fresh = seeds(cfg)
    log.info("confirming the %d best trials (%s) on seeds %s", len(best), ", ".join(r["trial_id"] for r in best),
             ", ".join(map(str, fresh)))
    for r in best:
        values = r["_values"]
        outcomes = []
        for seed in fresh:
            run_dir = Path(sweep_dir) / "confirm" / str(r["trial_id"]) / f"seed{seed}"
            got = _finished(run_dir, objective, direction)
            if got is None:
                trial = trial_config(cfg, values, seed=seed, epochs=values.get(f"{TUNER_PREFIX}epochs"))
                got = _run_one(trial, run_dir, objective, direction, str(cfg.sweep.isolation))
            if got["value"] is None:
                log.warning("confirmation of trial %s on seed %d: %s", r["trial_id"], seed, got["status"])
            outcomes.append(got["value"])
        ok = [v for v in outcomes if v is not None]
        s = stats.summarize(ok)
        r.update(confirmed_mean=s["mean"] if ok else None, confirmed_std=s["std"], confirmed_ci_low=s["ci_low"],
                 confirmed_ci_high=s["ci_high"], confirmed_n=len(ok),
                 confirmed_values=outcomes, confirmed_seeds=fresh)
    scored = [r for r in best if r.get("confirmed_mean") is not None]
    return sorted(scored, key=lambda r: sign * r["confirmed_mean"])


def best_note(row: Dict[str, Any], objective: str) -> Dict[str, Any]:
    """best.yaml's `confirmed` entry: the confirmed mean, its interval and the seeds."""
    f = stats.fmt
    return {"objective": objective, "mean": row["confirmed_mean"], "std": row["confirmed_std"],
            "ci95": [row["confirmed_ci_low"], row["confirmed_ci_high"]], "n": row["confirmed_n"],
            "seeds": row["confirmed_seeds"], "search_value": row[objective],
            "summary": f"{objective} {f(row['confirmed_mean'], 4)} (95% CI {f(row['confirmed_ci_low'], 4)}–"
                       f"{f(row['confirmed_ci_high'], 4)}) over {row['confirmed_n']} fresh seeds; the search's "
                       f"single run gave {f(row[objective], 4)}"}


def table_lines(confirmed: List[Dict[str, Any]], objective: str) -> List[str]:
    """The console lines under the sweep's table: each confirmed trial, best confirmed mean first."""
    f = stats.fmt
    lines = [f"  confirmed on fresh seeds ({objective}, mean ± std [95% CI], n; search value):"]
    lines += [f"    trial {r['trial_id']}: {f(r['confirmed_mean'], 4)} ± {f(r['confirmed_std'], 2)} "
              f"[{f(r['confirmed_ci_low'], 4)}, {f(r['confirmed_ci_high'], 4)}], n={r['confirmed_n']}; "
              f"search {f(r[objective], 4)}" for r in confirmed]
    return lines
