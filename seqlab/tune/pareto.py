"""Several objectives: the Pareto front of a sweep's completed trials and its picture (pareto.png)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..train.outputs import atomic_write


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """Whether point `a` is at least as good as `b` in every objective and better in one."""
    signs = [-1.0 if d == "max" else 1.0 for d in directions]
    x, y = [s * v for s, v in zip(signs, a)], [s * v for s, v in zip(signs, b)]
    return all(p <= q for p, q in zip(x, y)) and any(p < q for p, q in zip(x, y))


def front(points: Sequence[Optional[Sequence[float]]], directions: Sequence[str]) -> List[bool]:
    """For each point (None: not a candidate), whether no other point dominates it."""
    return [p is not None and not any(q is not None and dominates(q, p, directions) for q in points)
            for p in points]


def mark_front(rows: List[Dict], names: Sequence[str], directions: Sequence[str]) -> None:
    """Set `pareto` (True/False) on every row: completed trials with every objective measured compete."""
    points = [[r[n] for n in names] if r["status"] == "completed" and all(r.get(n) is not None for n in names)
              else None for r in rows]
    for row, on in zip(rows, front(points, directions)):
        row["pareto"] = on


def plot(path: Path, rows: List[Dict], names: Sequence[str], directions: Sequence[str], title: str = "") -> None:
    """pareto.png: the first objective against the second (each further one as its own panel), the front joined."""
    from matplotlib.figure import Figure  # no pyplot: headless (Agg) whatever backend the user chose

    done = [r for r in rows if r["status"] == "completed" and all(r.get(n) is not None for n in names)]
    pairs = [(names[0], n) for n in names[1:]]
    fig = Figure(figsize=(5.5 * len(pairs), 4.2))
    for i, (x, y) in enumerate(pairs):
        ax = fig.add_subplot(1, len(pairs), i + 1)
        on = [r for r in done if r.get("pareto")]
        off = [r for r in done if not r.get("pareto")]
        ax.scatter([r[x] for r in off], [r[y] for r in off], color="0.6", s=18, label="trial")
        on = sorted(on, key=lambda r: r[x])
        ax.plot([r[x] for r in on], [r[y] for r in on], "o-", color="tab:red", ms=5, label="Pareto front")
        for r in on:
            ax.annotate(str(r["trial_id"]), (r[x], r[y]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(f"{x} ({directions[0]})")
        ax.set_ylabel(f"{y} ({directions[names.index(y)]})")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=100))
