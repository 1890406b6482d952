"""What `seqlab compare` writes: compare.csv, compare_pairs.csv, compare.md (atomically) and the pictures."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd

from . import stats
from .report import to_markdown
from .train.outputs import atomic_write, write_text

log = logging.getLogger(__name__)
GROUP_COLS = ["dataset", "rank", "group", "n", "mean", "std", "ci_low", "ci_high", "baseline", "vs_baseline",
              "vs_baseline_ci_low", "vs_baseline_ci_high", "vs_baseline_p"]
PAIR_COLS = ["dataset", "better", "worse", "n", "diff", "ci_low", "ci_high", "p", "p_holm", "p_wilcoxon", "seeds"]


def _frame(rows: List[Dict], cols: List[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df = df[[c for c in cols if c in df.columns]]
    return df.drop(columns=["dataset"]) if "dataset" in df and df["dataset"].isna().all() else df


def write_outputs(blocks, ranking, out: Path, plot: bool = True) -> List[Path]:
    """The tables (and pictures unless `plot` is False) in `out`; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    groups = _frame([g for b in blocks for g in b.groups], GROUP_COLS)
    pairs = _frame([p for b in blocks for p in b.pairs], PAIR_COLS)
    files = [out / "compare.csv", out / "compare_pairs.csv", out / "compare.md"]
    atomic_write(files[0], lambda tmp: groups.to_csv(tmp, index=False))
    atomic_write(files[1], lambda tmp: pairs.to_csv(tmp, index=False))
    metric = blocks[0].metric
    md = [f"# Comparison on {metric} ({'lower' if blocks[0].direction == 'min' else 'higher'} is better)", "",
          "Groups, best first: mean over seeds, sample std, 95% Student-t interval of the mean; `vs_baseline` is how "
          "much better than the naive baseline (paired by seed).", "", to_markdown(groups),
          "Pairs: `diff` is how much better `better` is, paired over the shared seeds (paired t-test; `p_holm` "
          "Holm-adjusted over all pairs; Wilcoxon signed-rank from 5 pairs).", "", to_markdown(pairs)]
    if ranking:
        md += [ranking.conclusion, ""]
    md += ["**" + b.conclusion + "**" for b in blocks if b.conclusion]
    write_text(files[2], "\n".join(md) + "\n")
    if plot:
        for b in blocks:
            name = f"compare_{b.dataset}.png" if b.dataset else "compare.png"
            files.append(_save(figure(b), out / name))
        if ranking:
            files.append(_save(cd_diagram(ranking), out / "compare_cd.png"))
    return files


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path


def _curves(runs) -> Optional[np.ndarray]:
    """(runs, epochs) validation losses (the training loss without a validation split), NaN-padded."""
    rows = []
    for r in runs:
        try:
            h = pd.read_csv(r.path / "history.csv")
        except (OSError, ValueError):
            continue
        col = "val_loss" if "val_loss" in h else "loss" if "loss" in h else None
        if col is not None:
            rows.append(h[col].to_numpy(dtype=np.float64))
    if not rows:
        return None
    n = max(len(x) for x in rows)
    return np.vstack([np.pad(x, (0, n - len(x)), constant_values=np.nan) for x in rows])


def figure(block):
    """Left: each group's metric per seed (a line joins a seed's runs: what the paired test sees), mean and CI.
    Right: each group's validation loss per epoch, mean ± std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    order = [g["group"] for g in block.groups]
    seeds = sorted({s for v in block.values.values() for s in v}, key=str)
    for s in seeds:
        xs = [i for i, g in enumerate(order) if s in block.values[g]]
        ax.plot(xs, [block.values[order[i]][s] for i in xs], "o-", color="0.7", lw=0.8, ms=4, zorder=1)
    for i, g in enumerate(block.groups):
        ax.errorbar([i], [g["mean"]], yerr=[[g["mean"] - g["ci_low"]], [g["ci_high"] - g["mean"]]], fmt="s",
                    color=f"C{i}", capsize=6, ms=7, zorder=2)
    ax.set_xticks(range(len(order)), order, rotation=20)
    ax.set_ylabel(block.metric)
    ax.set_title(f"{block.metric} per seed (grey), mean and 95% CI")
    for i, g in enumerate(order):
        c = _curves(block.runs.get(g, []))
        if c is None:
            continue
        mean, std = np.nanmean(c, axis=0), np.nanstd(c, axis=0)
        x = np.arange(1, len(mean) + 1)
        bx.plot(x, mean, color=f"C{i}", label=f"{g} (n={len(c)})")
        bx.fill_between(x, mean - std, mean + std, color=f"C{i}", alpha=0.2)
    bx.set_xlabel("epoch")
    bx.set_ylabel("validation loss")
    bx.set_title("validation loss, mean ± std over seeds")
    bx.legend(fontsize=8)
    if block.dataset:
        fig.suptitle(str(block.dataset))
    fig.tight_layout()
    return fig


def cd_diagram(ranking):
    """Demšar's critical-difference diagram: average ranks on an axis, a bar of length CD, and thick lines joining
    groups whose ranks are within CD of each other (not told apart)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(ranking.groups)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.35 * k))
    ax.set_xlim(k + 0.3, 0.7)  # rank 1 on the right, as in Demšar's figures
    ax.set_ylim(-k - 1, 2)
    ax.axis("off")
    ax.hlines(0, 1, k, color="k")
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.2, color="k")
        ax.text(r, 0.35, str(r), ha="center", fontsize=9)
    ax.hlines(1.3, 1, 1 + ranking.cd, color="C3", lw=2)
    ax.text(1 + ranking.cd / 2, 1.5, f"CD = {ranking.cd:.2f}", ha="center", color="C3", fontsize=9)
    for i, g in enumerate(ranking.groups):
        r = ranking.average[g]
        ax.plot([r, r], [0, -i - 1], color="0.4", lw=0.8)
        ax.text(r, -i - 1.1, f"{g} ({r:.2f})", ha="center", va="top", fontsize=9)
    cliques = []  # maximal runs of groups (in rank order) within CD of each other
    for i, a in enumerate(ranking.groups):
        last = max(j for j, b in enumerate(ranking.groups) if ranking.average[b] - ranking.average[a] <= ranking.cd)
        if last > i and (not cliques or last > cliques[-1][1]):
            cliques.append((i, last))
    for j, (a, b) in enumerate(cliques):
        ax.hlines(-0.3 - 0.25 * j, ranking.average[ranking.groups[a]], ranking.average[ranking.groups[b]], color="k",
                  lw=3)
    fr = f", Friedman {stats.fmt_p(ranking.friedman_p)}" if ranking.friedman_p is not None else ""
    ax.set_title(f"average ranks over {len(ranking.datasets)} datasets{fr}", fontsize=10)
    return fig
