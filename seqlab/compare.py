"""`seqlab compare DIR --by model.name`: which group of runs is better, by how much and how sure (paired by seed).

Reads runs the way `seqlab report` does (metrics.json and .hydra/config.yaml, no TensorFlow). Groups runs by the
`--by` config keys, aggregates each group over its seeds, ranks the groups and tests their differences with paired
tests over the seeds they share (Holm-adjusted for more than two groups), compares each group with the naive
baseline, and ends with one sentence. Runs on several datasets also get average ranks and Nemenyi's critical
difference (Demšar 2006). Writes compare.csv, compare_pairs.csv, compare.md and compare*.png.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from . import stats
from .config.errors import ConfigError, config_error
from .config.metric import metric_direction

log = logging.getLogger(__name__)
DATASET = "dataset.name"


@dataclass
class Run:
    path: Path
    config: Dict[str, Any]  # flat: model.name, seed, ...
    metrics: Dict[str, Any]  # metrics.json


@dataclass
class Block:
    """The comparison of the groups on one dataset (or on all runs when they share one)."""

    dataset: Optional[str]
    metric: str
    direction: str
    groups: List[Dict[str, Any]]  # best first: group, n, mean, std, ci_low, ci_high, rank, baseline, vs_baseline...
    pairs: List[Dict[str, Any]]  # better, worse, n, diff (how much better), ci_low, ci_high, p, p_holm, p_wilcoxon
    values: Dict[str, Dict[Any, float]]  # group -> seed -> metric
    runs: Dict[str, List[Run]] = field(default_factory=dict)
    conclusion: str = ""


def load_runs(root: Path) -> List[Run]:
    """Every run under `root` (report's reader): its flat config and metrics.json."""
    from . import report

    return [Run(p, report._load_config(p), report._read_metrics(p)) for p in report.find_runs(Path(root))]


def _label(run: Run, by: Sequence[str]) -> str:
    return ", ".join(str(run.config.get(k)) for k in by)


def default_metric(runs: List[Run]) -> str:
    """test.mse for regression runs, test.accuracy for classifiers (what the verdict compares with the baseline)."""
    from .train.verdict import main_metric

    task = next((r.metrics.get("task") for r in runs if r.metrics.get("task")), "regression")
    return "test." + main_metric(task)[0]


def check(runs: List[Run], by: Sequence[str], metric: str, direction: Optional[str], where: str) -> str:
    """The usable direction; ConfigError naming the key and the choices for a bad --by, --metric or --direction."""
    done = [r for r in runs if r.metrics.get("status") == "completed"]
    if not done:
        raise ConfigError(f"{where}: expected completed runs (folders with metrics.json and .hydra/config.yaml), got "
                          f"{len(runs)} run(s), none completed")
    keys = sorted(set().union(*(r.config for r in done)))
    differ = [k for k in keys if len({repr(r.config.get(k)) for r in done}) > 1]
    for key in by:
        if key not in keys:
            raise config_error("--by", "a config key of the runs", key, choices=differ or keys[:40])
    present = sorted({f"test.{k}" for r in done for k in (r.metrics.get("test") or {})})
    if metric not in present:
        raise config_error("--metric", "a test metric the runs have", metric, choices=present)
    direction = direction or metric_direction(metric)
    if direction not in ("min", "max"):
        raise config_error("--direction", f"min or max (the name {metric} does not tell)", direction, ["min", "max"])
    return direction


def _oriented(direction: str, a: float, b: float) -> float:
    """How much better a is than b (positive: better) for a metric to minimise or maximise."""
    return b - a if direction == "min" else a - b


def compare_block(runs: List[Run], by: Sequence[str], metric: str, direction: str,
                  dataset: Optional[str] = None) -> Block:
    """Aggregate, rank and test the groups of `runs` (completed runs of one dataset)."""
    name = metric.split(".", 1)[1]
    values: Dict[str, Dict[Any, List[float]]] = {}
    base: Dict[str, Dict[Any, float]] = {}
    members: Dict[str, List[Run]] = {}
    for r in runs:
        v = (r.metrics.get("test") or {}).get(name)
        if v is None or not math.isfinite(float(v)):
            log.warning("%s: no finite %s; left out", r.path, metric)
            continue
        g, seed = _label(r, by), r.config.get("seed")
        values.setdefault(g, {}).setdefault(seed, []).append(float(v))
        members.setdefault(g, []).append(r)
        b = (r.metrics.get("baseline") or {}).get(name)
        if b is not None:
            base.setdefault(g, {})[seed] = float(b)
    for g, by_seed in values.items():
        if any(len(v) > 1 for v in by_seed.values()):
            log.warning("group %s has several runs per seed (keys outside --by differ); their mean counts", g)
    means = {g: {s: sum(v) / len(v) for s, v in by_seed.items()} for g, by_seed in values.items()}
    sign = 1 if direction == "min" else -1
    order = sorted(means, key=lambda g: sign * stats.summarize(list(means[g].values()))["mean"])
    groups = []
    for rank, g in enumerate(order, 1):
        row = {"dataset": dataset, "group": g, **stats.summarize(list(means[g].values())), "rank": rank}
        seeds = sorted(set(means[g]) & set(base.get(g, {})), key=str)
        if seeds:
            t = stats.paired_test([_oriented(direction, means[g][s], base[g][s]) for s in seeds], [0.0] * len(seeds))
            row.update(baseline=sum(base[g][s] for s in seeds) / len(seeds), vs_baseline=t["diff"],
                       vs_baseline_ci_low=t["ci_low"], vs_baseline_ci_high=t["ci_high"], vs_baseline_p=t["p"])
        groups.append(row)
    pairs = []
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            shared = sorted(set(means[a]) & set(means[b]), key=str)
            t = stats.paired_test([_oriented(direction, means[a][s], means[b][s]) for s in shared], [0.0] * len(shared))
            pairs.append({"dataset": dataset, "better": a, "worse": b, **t, "seeds": " ".join(map(str, shared))})
    adjusted = stats.holm([p["p"] for p in pairs]) if len(pairs) > 1 else [p["p"] for p in pairs]
    for p, adj in zip(pairs, adjusted):
        p["p_holm"] = adj
    block = Block(dataset, metric, direction, groups, pairs, means, members)
    block.conclusion = conclude(block)
    return block


def _significant(pair: Dict[str, Any]) -> bool:
    p = pair["p_holm"]
    return pair["n"] >= 2 and not math.isnan(p) and p < stats.ALPHA and pair["ci_low"] > 0


def sentence(pair: Dict[str, Any], metric: str, holm: bool) -> str:
    """`gru beats lstm on test.mse by 0.012 (95% CI 0.004–0.020, p = 0.01, 5 paired seeds)`, or a tie."""
    n, f = pair["n"], stats.fmt
    if n < 2:
        return (f"{pair['better']} and {pair['worse']} share {n} seed(s): no paired test; run both on the same seeds "
                "(seed=0,1,2,3,4)")
    p = f"{stats.fmt_p(pair['p_holm'])}{' (Holm)' if holm else ''}"
    interval = f"95% CI {f(pair['ci_low'])}–{f(pair['ci_high'])}, {p}, {n} paired seeds"
    if _significant(pair):
        return f"{pair['better']} beats {pair['worse']} on {metric} by {f(pair['diff'])} ({interval})"
    return (f"the data cannot tell {pair['better']} from {pair['worse']} on {metric}: {pair['better']} is ahead by "
            f"{f(pair['diff'])} ({interval}); more seeds would narrow the interval")


def conclude(block: Block) -> str:
    """One line for the best group against the runner-up, and whom else the best one beats."""
    if not block.pairs:
        return ""
    best = block.groups[0]["group"]
    mine = [p for p in block.pairs if p["better"] == best]
    line = sentence(mine[0], block.metric, holm=len(block.pairs) > 1)
    beaten = [p["worse"] for p in mine[1:] if _significant(p)]
    if beaten:
        line += f"; {best} also beats {', '.join(beaten)}"
    return (f"{block.dataset}: " if block.dataset else "") + line


@dataclass
class Ranking:
    datasets: List[str]
    groups: List[str]
    average: Dict[str, float]
    cd: float
    friedman_p: Optional[float]
    conclusion: str


def rank_datasets(blocks: List[Block]) -> Optional[Ranking]:
    """Average ranks of the groups over datasets (means per dataset), Nemenyi's CD and Friedman's p."""
    common = sorted(set.intersection(*(set(b.values) for b in blocks)))
    left = [b.dataset for b in blocks if set(b.values) - set(common)]
    if left:
        log.warning("groups missing on some datasets are left out of the ranks (%s)", ", ".join(map(str, left)))
    if len(common) < 2 or len(blocks) < 2:
        return None
    table = [[next(r["mean"] for r in b.groups if r["group"] == g) for g in common] for b in blocks]
    ranks = stats.ranks(table, blocks[0].direction == "max")
    average = dict(zip(common, ranks.mean(axis=0).tolist()))
    cd = stats.nemenyi_cd(len(common), len(blocks))
    order = sorted(common, key=average.get)
    apart = [(a, b) for i, a in enumerate(order) for b in order[i + 1:] if average[b] - average[a] > cd]
    listing = ", ".join(f"{g} {average[g]:.2f}" for g in order)
    verdict = ("; ".join(f"{a} ranks better than {b}" for a, b in apart) if apart else
               "no two groups' average ranks differ by more than the CD: the datasets cannot tell them apart")
    text = f"average ranks over {len(blocks)} datasets (1 = best): {listing}; Nemenyi CD {cd:.2f}: {verdict}"
    return Ranking([str(b.dataset) for b in blocks], order, average, cd, stats.friedman(table), text)


def compare(runs: List[Run], by: Sequence[str], metric: Optional[str] = None, direction: Optional[str] = None,
            where: str = "DIR") -> tuple:
    """(blocks, ranking): one block per dataset when the runs span several and `--by` does not name dataset.name."""
    metric = metric or default_metric([r for r in runs if r.metrics.get("status") == "completed"] or runs)
    direction = check(runs, by, metric, direction, where)
    done = [r for r in runs if r.metrics.get("status") == "completed"]
    names = sorted({str(r.config.get(DATASET)) for r in done})
    split = DATASET not in by and len(names) > 1
    parts = {n: [r for r in done if str(r.config.get(DATASET)) == n] for n in names} if split else {None: done}
    blocks = [compare_block(rs, by, metric, direction, n) for n, rs in parts.items()]
    blocks = [b for b in blocks if len(b.groups) >= 2] or blocks
    if all(len(b.groups) < 2 for b in blocks):
        seen = sorted({g["group"] for b in blocks for g in b.groups})
        differ = sorted({k for r in done for k in r.config if len({repr(x.config.get(k)) for x in done}) > 1})
        raise config_error("--by " + " --by ".join(by), "keys that split the runs into two or more groups",
                           f"one group ({', '.join(seen)})", choices=[k for k in differ if k != "seed"] or ["none"])
    return blocks, (rank_datasets(blocks) if split else None)


def report_text(blocks: List[Block], ranking: Optional[Ranking]) -> str:
    """The console report: each block's groups (mean ± std, CI, n, baseline), then the conclusions."""
    f = stats.fmt
    lines = []
    for b in blocks:
        head = f"{b.metric} ({'lower' if b.direction == 'min' else 'higher'} is better)"
        lines.append(f"\n{b.dataset + ': ' if b.dataset else ''}{head}, mean over seeds with 95% t interval")
        width = max(len(g["group"]) for g in b.groups)
        for g in b.groups:
            vs = ""
            if "vs_baseline" in g:
                word = "better" if g["vs_baseline"] > 0 else "worse"
                vs = (f"   baseline {f(g['baseline'])}: {f(abs(g['vs_baseline']))} {word}, "
                      f"{stats.fmt_p(g['vs_baseline_p'])}")
            lines.append(f"  {g['rank']}. {g['group']:<{width}}  {f(g['mean'], 4)} ± {f(g['std'], 2)}  "
                         f"[{f(g['ci_low'], 4)}, {f(g['ci_high'], 4)}]  n={g['n']}{vs}")
    if ranking:
        lines.append("\n" + ranking.conclusion)
    lines.append("")
    lines += [b.conclusion for b in blocks if b.conclusion]
    return "\n".join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="seqlab compare",
                                description="Compare groups of runs over seeds: which is better, by how much.")
    p.add_argument("dir", type=Path, help="folder with the runs (a multirun's sweeps/<date>/<time>, outputs/)")
    p.add_argument("--by", action="append", required=True, help="config key that names a group (repeatable)")
    p.add_argument("--metric", help="test metric (default: test.mse for regression, test.accuracy for classes)")
    p.add_argument("--direction", choices=["min", "max"], help="when the metric's name does not tell")
    p.add_argument("--out", type=Path, help="folder for compare.csv, compare.md, compare.png (default: DIR)")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="tables only")
    return p.parse_args(argv)


def run_compare(root: Path, by: Sequence[str], metric: Optional[str] = None, direction: Optional[str] = None,
                out: Optional[Path] = None, plot: bool = True) -> str:
    """Compare the runs under `root`, write the tables (and pictures) to `out`; returns the console report."""
    from .compare_out import write_outputs

    runs = load_runs(root)
    if not runs:
        raise ConfigError(f"{root}: expected runs (folders with metrics.json and .hydra/config.yaml), found none")
    blocks, ranking = compare(runs, by, metric, direction, where=str(root))
    files = write_outputs(blocks, ranking, Path(out or root), plot=plot)
    return report_text(blocks, ranking) + "\n\nwritten: " + ", ".join(map(str, files))


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `seqlab compare`; returns the exit status."""
    args = parse_args(argv)
    if not args.dir.is_dir():
        print(f"error: {args.dir} is not a directory", file=sys.stderr)
        return 2
    try:
        text = run_compare(args.dir, args.by, args.metric, args.direction, args.out, args.plot)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
