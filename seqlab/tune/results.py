"""What a sweep leaves for review: trials.csv, best.yaml and the table sorted by objective (no TensorFlow here)."""

from __future__ import annotations

import csv
import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from ..train.outputs import atomic_write, write_text
from .space import TUNER_PREFIX, config_values, trial_overrides

RECORD = "sweep_trial.json"  # written by hypermodel.fit, one entry per attempt
CONFIRMED = ("confirmed_mean", "confirmed_std", "confirmed_ci_low", "confirmed_ci_high", "confirmed_n")
_STATUS = {"COMPLETED": "completed", "FAILED": "failed", "INVALID": "failed", "RUNNING": "running", "IDLE": "running"}


@dataclass
class Summary:
    """A sweep's outcome: one row per trial (trial_id, hyperparameters by dotted key, objective, status, ...)."""

    sweep_dir: Path
    name: str
    tuner: str
    objective: str
    direction: str
    keys: List[str]
    rows: List[Dict[str, Any]] = field(default_factory=list)
    best: Optional[Dict[str, Any]] = None
    role: Optional[str] = None
    notes: List[str] = field(default_factory=list)  # lines under the table (the confirmation on fresh seeds)
    measured: List[str] = field(default_factory=list)  # further objectives (params, latency): a Pareto front

    @property
    def completed(self) -> List[Dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "completed"]

    @property
    def all_failed(self) -> bool:
        return bool(self.rows) and not self.completed and all(r["status"] == "failed" for r in self.rows)

    def reasons(self) -> List[str]:
        return [f"trial {r['trial_id']}: {r['reason']}" for r in self.rows if r["status"] == "failed"]

    def sorted_rows(self) -> List[Dict[str, Any]]:
        sign = -1 if self.direction == "max" else 1

        def key(r):
            v = r.get(self.objective)
            return (r["status"] != "completed" or v is None, sign * v if v is not None else 0.0, r["trial_id"])

        return sorted(self.rows, key=key)

    def table(self) -> str:
        """The console summary: every trial, best first; then where the results are."""
        counts = {s: sum(r["status"] == s for r in self.rows) for s in ("completed", "pruned", "failed", "running")}
        n = len(self.rows)
        head = [f"\nsweep {self.name} ({self.tuner}): {n} trial{'' if n == 1 else 's'}, " + ", ".join(
            f"{n} {s}" for s, n in counts.items() if n) + f"; objective {self.objective} ({self.direction})"]
        front = ["pareto"] if self.measured else []
        cols = ["trial"] + self.keys + [self.objective] + self.measured + front + [
            "status", "epochs", "seconds", "reason"]
        cells = [[str(r["trial_id"])] + [_fmt(r.get(k)) for k in self.keys + [self.objective] + self.measured] + (
            ["*" if r.get("pareto") else ""] if front else []) + [
            r["status"], _fmt(r.get("epochs")), _fmt(r.get("seconds"), 1),
            (r.get("reason") or "")[:60]] for r in self.sorted_rows()]
        widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(cols)]
        lines = head + ["  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        lines += self.notes
        if self.best:
            lines.append(f"  best: trial {self.best['trial_id']}, {self.objective} {_fmt(self.best['objective'])}: "
                         f"{self.best['command']}")
        if self.role == "worker":
            lines.append(f"  worker done; the chief writes trials.csv and best.yaml in {self.sweep_dir}")
        else:
            lines.append(f"  results: {self.sweep_dir}/trials.csv, best.yaml; tensorboard --logdir {self.sweep_dir}")
        return "\n".join(lines)


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if digits != 1 else f"{v:.1f}"
    return str(v)


def _read_json(path: Path) -> Dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def collect(sweep_dir: Path, keys: List[str], objective: str, measured: Sequence[str] = ()) -> List[Dict[str, Any]]:
    """One row per trial from Keras Tuner's trial.json files and seqlab's per-trial records (`measured`: further
    objectives, params or latency, as the trial's record holds them)."""
    rows = []
    for path in sorted((Path(sweep_dir) / "tuner").glob("trial_*/trial.json")):
        t = _read_json(path)
        if not t:
            continue
        tid = str(t["trial_id"])
        values = t.get("hyperparameters", {}).get("values", {})
        record = _read_json(Path(sweep_dir) / "trials" / tid / RECORD)
        attempts = record.get("attempts", [])
        last = attempts[-1] if attempts else {}
        status = _STATUS.get(t.get("status"), str(t.get("status")).lower())
        score = t.get("score")
        reason = ""
        if status == "failed":
            failed = [a for a in attempts if a.get("status") == "failed"]
            message = (t.get("message") or "").strip().splitlines()
            reason = failed[-1]["reason"] if failed else (message[-1] if message else "unknown")
        elif status == "running" and last.get("status") == "interrupted":
            status = "interrupted"
        elif status == "completed" and (last.get("status") == "pruned" or record.get("pruned")):  # sweep.pruner
            status, reason = "pruned", last.get("reason") or record["pruned"]["reason"]
        row: Dict[str, Any] = {"trial_id": tid, **{k: values.get(k) for k in keys}}
        finished = status in ("completed", "pruned") and score is not None and math.isfinite(score)
        row[objective] = float(score) if finished else None
        row.update({m: last.get(m) if finished else None for m in measured})
        row.update(status=status, epochs=last.get("epochs"),
                   seconds=round(sum(a.get("seconds") or 0.0 for a in attempts), 3), reason=reason,
                   attempts=len(attempts), run_dir=str(Path("trials") / tid))
        if f"{TUNER_PREFIX}trial_id" in values:  # hyperband: continued from this trial's checkpoint
            row["continues"] = values[f"{TUNER_PREFIX}trial_id"]
        row["_values"] = values
        rows.append(row)
    return rows


def write_csv(path: Path, rows: List[Dict[str, Any]], keys: List[str], objective: str,
              measured: Sequence[str] = ()) -> None:
    cols = ["trial_id"] + keys + [objective, *measured] + (["pareto"] if measured else []) + [
        "status", "epochs", "seconds", "attempts", "reason", "run_dir"]
    cols += [c for c in CONFIRMED if any(c in r for r in rows)]  # sweep.confirm_top: mean, std, interval, n
    if any("continues" in r for r in rows):
        cols.append("continues")

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(path, write)


def best_trial(rows: List[Dict[str, Any]], objective: str, direction: str, base_overrides: List[str],
               executions: int = 1, seed: int = 0) -> Optional[Dict[str, Any]]:
    """The best completed trial with the overrides that rerun it (`python -m seqlab <overrides>`). With several
    objectives (rows marked `pareto`), the point of the Pareto front with the best first objective."""
    done = [r for r in rows if r["status"] == "completed" and r.get(objective) is not None]
    front = [r for r in done if r.get("pareto")]
    done = front or done
    if not done:
        return None
    pick = (max if direction == "max" else min)(done, key=lambda r: r[objective])
    values = pick["_values"]
    overrides = trial_overrides(base_overrides, values, epochs=values.get(f"{TUNER_PREFIX}epochs"))
    best = {"trial_id": pick["trial_id"], "objective": pick[objective],
            "values": config_values(values), "overrides": overrides,
            "command": shlex.join(["python", "-m", "seqlab", *overrides]), "run_dir": pick["run_dir"]}
    if front:
        best["pareto_front"] = [r["trial_id"] for r in front]
    if executions > 1:
        best["note"] = (f"the objective is the mean of {executions} executions (seeds {seed}.."
                        f"{seed + executions - 1}); these overrides rerun the first")
    return best


def write_best(path: Path, best: Dict[str, Any], objective: str, direction: str, name: str) -> None:
    doc = {"trial_id": best["trial_id"],
           "objective": {"name": objective, "direction": direction, "value": best["objective"]},
           "overrides": best["overrides"], "command": best["command"], "run_dir": best["run_dir"]}
    if "pareto_front" in best:
        doc["pareto_front"] = {"trials": best["pareto_front"], "chosen": f"the front's lowest {objective}"
                               if direction == "min" else f"the front's highest {objective}",
                               "picture": "pareto.png"}
    if "note" in best:
        doc["note"] = best["note"]
    if "confirmed" in best:
        doc["confirmed"] = best["confirmed"]
    header = (f"# Best trial of sweep {name}: paste `overrides` after `python -m seqlab` to rerun it\n"
              f"# (deterministic=true reproduces {objective} exactly).\n")
    write_text(path, header + yaml.safe_dump(doc, sort_keys=False, width=1 << 16))  # one line per override
