"""The ETT benchmark: run the GRU recipe on ETTh1/ETTh2/ETTm1/ETTm2 x horizons, then print the tables from run dirs.

    python benchmarks/ett_table.py run   --root runs/ett     # train what is missing, one run at a time (resumable)
    python benchmarks/ett_table.py table --root runs/ett     # the tables of docs/results-history.md
    python benchmarks/ett_table.py run --root runs/ett_mae --experiment etth1_gru_mae   # another recipe, own root

The recipe is a preset (`--experiment`, default `etth1_gru`: per-window last-value normalisation, channel
independence, 48-step segments, early stopping on validation loss) applied to every dataset with `dataset=<name>`;
the lookback per dataset is chosen on validation MSE only (of the weights early stopping kept, read from
history.csv), never on test.
Each run is `python -m seqlab experiment=E dataset=D dataset.input_len=L dataset.horizon=H seed=S`,
written to ROOT/D_L<L>_H<H>_s<S>; a finished run (metrics.json with status completed) is never run again.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

DATASETS = ("etth1", "etth2", "ettm1", "ettm2")
HORIZONS = (96, 192, 336, 720)
LOOKBACKS = (96, 336, 720)  # tried at horizon 96; 720 is the longest the issue allows
SEEDS = (0, 1, 2)  # the horizon-96 headline of each dataset at its chosen lookback

# published test MSE / MAE, standardised scale (see docs/results-history.md for the sources)
PATCHTST64 = {"etth1": (0.370, 0.400), "etth2": (0.274, 0.337), "ettm1": (0.293, 0.346), "ettm2": (0.166, 0.256)}
SEGRNN_L96 = {  # SegRNN README, lookback 96, after the drop-last fix: MSE per horizon 96/192/336/720
    "etth1": (0.368, 0.408, 0.444, 0.446), "etth2": (0.278, 0.359, 0.421, 0.432),
    "ettm1": (0.330, 0.369, 0.399, 0.454), "ettm2": (0.173, 0.237, 0.296, 0.389)}
SEGRNN_ETTH1_L720_H96 = 0.341

Key = Tuple[str, int, int, int]  # dataset, lookback, horizon, seed


def run_dir(root: Path, key: Key) -> Path:
    d, lookback, horizon, seed = key
    return root / f"{d}_L{lookback}_H{horizon}_s{seed}"


def read(root: Path, key: Key) -> Optional[Dict]:
    """metrics.json of a completed run plus the validation MSE of its kept weights, or None."""
    path = run_dir(root, key)
    try:
        m = json.loads((path / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    if m.get("status") != "completed":
        return None
    with open(path / "history.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("val_loss")]
    # the validation MSE of the weights early stopping kept (the best val_loss epoch; val_loss is the MAE with
    # trainer.loss=mae)
    best = min(rows, key=lambda r: float(r["val_loss"])) if rows else {}
    m["val_mse"] = float(best.get("val_mse") or best.get("val_loss") or "nan")
    return m


def train(root: Path, key: Key, extra: List[str], experiment: str = "etth1_gru") -> Dict:
    """One run of the recipe (skipped when already completed); returns its metrics."""
    done = read(root, key)
    if done is not None:
        return done
    d, lookback, horizon, seed = key
    cmd = [sys.executable, "-m", "seqlab", f"experiment={experiment}", f"dataset={d}", f"dataset.input_len={lookback}",
           f"dataset.horizon={horizon}", f"seed={seed}", f"hydra.run.dir={run_dir(root, key)}", "resume=true",
           "trainer.tensorboard.enabled=false", "trainer.verbose=0", *extra]
    print("$", " ".join(cmd[1:]), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    (run_dir(root, key) / "wall_seconds.txt").write_text(f"{wall:.1f}\n")
    (run_dir(root, key) / "command.txt").write_text("python " + " ".join(cmd[1:]) + "\n")
    m = read(root, key)
    if m is None:
        raise RuntimeError(f"{run_dir(root, key)}: the run did not complete")
    print(f"  {key}: val {m['val_mse']:.4f} test {m['test']['mse']:.4f} / {m['test']['mae']:.4f}, {wall:.0f} s",
          flush=True)
    return m


def chosen_lookback(root: Path, d: str, lookbacks=LOOKBACKS) -> Optional[int]:
    """The lookback with the lowest validation MSE at horizon 96, seed 0, among the runs that exist."""
    found = {lb: read(root, (d, lb, 96, 0)) for lb in lookbacks}
    found = {lb: m for lb, m in found.items() if m is not None}
    return min(found, key=lambda lb: found[lb]["val_mse"]) if found else None


def plan_and_run(root: Path, extra: List[str], lookbacks, experiment: str = "etth1_gru", datasets=DATASETS,
                 headline_only: bool = False, seeds=SEEDS, horizons=HORIZONS, l96_seeds=()) -> None:
    """The horizon-96 headlines first: every lookback at horizon 96, then seeds 1 and 2 at the chosen lookback (the
    spread); then (unless `headline_only`) the `l96_seeds` of lookback 96 at horizon 96 and the other horizons,
    lookback 96 (seed 0) at the other horizons, then the chosen lookback at the other horizons."""
    def go(key: Key) -> None:
        train(root, key, extra, experiment)

    for lb in (96, *lookbacks):
        for d in datasets:
            go((d, lb, 96, 0))
    for seed in seeds:
        for d in datasets:
            if seed:
                go((d, chosen_lookback(root, d, (96, *lookbacks)), 96, seed))
    if headline_only:
        return
    for seed in l96_seeds:  # more seeds of the lookback-96 row, every horizon
        for d in datasets:
            for h in horizons if 96 in horizons else (96, *horizons):
                go((d, 96, h, seed))
    for h in horizons:
        for d in datasets:
            if h != 96:
                go((d, 96, h, 0))
    for d in datasets:
        best = chosen_lookback(root, d, (96, *lookbacks))
        for h in horizons:
            if h != 96:
                go((d, best, h, 0))


# --------------------------------------------------------------------------- tables
def _wall(root: Path, key: Key) -> str:
    p = run_dir(root, key) / "wall_seconds.txt"
    return f"{float(p.read_text()):.0f}" if p.is_file() else "–"


def _sd(xs: List[float]) -> str:
    return f"{statistics.stdev(xs):.3f}" if len(xs) > 1 else "–"


def _cell(m: Optional[Dict]) -> str:
    return f"{m['test']['mse']:.3f} / {m['test']['mae']:.3f}" if m else "–"


def _l96_cells(root: Path, d: str, ours: List[float], theirs: List[float],
               per_seed: Optional[Dict[int, List[float]]] = None) -> List[str]:
    """Dataset d's lookback-96 cells beside SegRNN's, every horizon: the test MSE / MAE of seed 0, or the mean over
    the seeds that ran (seed 0 first; `n=` says how many) when later seeds ran too. Appends each cell's MSE (mean
    over seeds) and SegRNN's for it to `ours` and `theirs`, and each seed's MSE to per_seed[seed]."""
    cells = []
    for i, h in enumerate(HORIZONS):
        runs = {s: m for s in SEEDS if (m := read(root, (d, 96, h, s)))} if read(root, (d, 96, h, 0)) else {}
        if len(runs) > 1:
            mse = [m["test"]["mse"] for m in runs.values()]
            mae = statistics.mean(m["test"]["mae"] for m in runs.values())
            cell = f"{statistics.mean(mse):.3f} ± {_sd(mse)} / {mae:.3f}, n={len(runs)}"
        else:
            cell = _cell(runs.get(0))
        cells.append(f"{cell} ({SEGRNN_L96[d][i]:.3f})")
        if runs:
            ours.append(statistics.mean(m["test"]["mse"] for m in runs.values()))
            theirs.append(SEGRNN_L96[d][i])
            for seed, m in runs.items():
                if per_seed is not None:
                    per_seed.setdefault(seed, []).append(m["test"]["mse"])
    return cells


def _l96_summary(ours: List[float], theirs: List[float], per_seed: Dict[int, List[float]]) -> List[str]:
    """The lookback-96 row's verdict: the mean over cells (each cell the mean of its seeds), and with more seeds the
    16-cell mean of each seed alone, so that the margin can be read against the seeds' spread."""
    ahead = sum(o < t for o, t in zip(ours, theirs))
    out = ["", f"Mean test MSE over the {len(ours)} cells that ran: seqlab **{statistics.mean(ours):.4f}**, SegRNN "
           f"{statistics.mean(theirs):.4f} on the same cells (its mean over all 16: 0.3627); seqlab lower in {ahead} "
           f"of {len(ours)}." + (" All 16 cells ran." if len(ours) == 16 else f" {16 - len(ours)} cells are missing.")]
    full = {s: xs for s, xs in per_seed.items() if len(xs) == len(ours)}
    if len(full) > 1:
        means = [statistics.mean(xs) for xs in full.values()]
        out.append(f"Each seed alone over all {len(ours)} cells: " + ", ".join(
            f"seed {s} {statistics.mean(xs):.4f}" for s, xs in sorted(full.items()))
            + f" (mean {statistics.mean(means):.4f} ± {statistics.stdev(means):.4f}); SegRNN's row is one run.")
    return out


def recipe(root: Path) -> str:
    """The preset and overrides shared by the runs under `root`, from their command.txt (runs from before that file
    existed: experiment=etth1_gru)."""
    commands = [p.read_text().split() for p in sorted(root.glob("*/command.txt"))]
    if not commands:
        return "experiment=etth1_gru"
    not_recipe = ("dataset=", "dataset.input_len=", "dataset.horizon=", "seed=", "hydra.run.dir=", "resume=",
                  "trainer.tensorboard.enabled=", "trainer.verbose=")  # what varies per run, or only runs it
    shared = [w for w in commands[0][3:] if not w.startswith(not_recipe) and all(w in c for c in commands)]
    return " ".join(shared)


def tables(root: Path) -> str:
    out: List[str] = [f"Runs: `python -m seqlab {recipe(root)} dataset=D dataset.input_len=L dataset.horizon=H seed=S`",
                      ""]
    # 1. lookback 96, all 16 cells, against SegRNN's lookback-96 row
    out += ["### Lookback 96, every dataset and horizon (seed 0, or the mean of the seeds that ran), against SegRNN's "
            "lookback-96 row", "",
            "| dataset | " + " | ".join(f"H={h} MSE / MAE (SegRNN MSE)" for h in HORIZONS) + " |",
            "|---|" + "---|" * len(HORIZONS)]
    ours, theirs, per_seed = [], [], {}
    for d in DATASETS:
        cells = _l96_cells(root, d, ours, theirs, per_seed)
        out.append(f"| {d} | " + " | ".join(cells) + " |")
    if ours:
        out += _l96_summary(ours, theirs, per_seed)
    # 2. headlines: horizon 96 at the lookback chosen on validation, three seeds
    out += ["", "### Horizon 96 at the lookback chosen on validation, seeds 0 / 1 / 2", "",
            "| dataset | val MSE at L = 96 / 336 / 720 (seed 0) | chosen L | test MSE mean ± std | test MAE mean ± std "
            "| seeds | PatchTST/64 MSE / MAE | gap to PatchTST MSE vs 1 std | wall s per run |",
            "|---|---|---|---|---|---|---|---|---|"]
    for d in DATASETS:
        vals = [read(root, (d, lb, 96, 0)) for lb in LOOKBACKS]
        best = chosen_lookback(root, d)
        runs = [m for m in (read(root, (d, best, 96, s)) for s in SEEDS) if m] if best else []
        if not runs:
            out.append(f"| {d} | " + " / ".join(f"{m['val_mse']:.3f}" if m else "–" for m in vals) + " | – | – | – "
                       "| 0 | | | |")
            continue
        mse = [m["test"]["mse"] for m in runs]
        mae = [m["test"]["mae"] for m in runs]
        sd = statistics.stdev(mse) if len(mse) > 1 else float("nan")
        ref_mse, ref_mae = PATCHTST64[d]
        gap = statistics.mean(mse) - ref_mse
        spread = (" (one seed: spread unknown)" if len(mse) < 2
                  else " (the seeds give the same weights: an exact solve, no spread)" if sd == 0
                  else " (beyond 1 std)" if abs(gap) > sd else " (within 1 std)")
        verdict = ("better" if gap < 0 else "worse") + spread
        walls = ", ".join(_wall(root, (d, best, 96, s)) for s in SEEDS if read(root, (d, best, 96, s)))
        out.append(f"| {d} | " + " / ".join(f"{m['val_mse']:.3f}" if m else "–" for m in vals)
                   + f" | {best} | {statistics.mean(mse):.3f} ± {_sd(mse)} | {statistics.mean(mae):.3f} ± {_sd(mae)} "
                   f"| {len(runs)} | {ref_mse:.3f} / "
                   f"{ref_mae:.3f} | {gap:+.4f}: {verdict} | {walls} |")
    etth1 = [m["test"]["mse"] for m in (read(root, ("etth1", 720, 96, s)) for s in SEEDS) if m]
    if etth1:
        out += ["", f"ETTh1 at lookback 720, horizon 96: test MSE {statistics.mean(etth1):.3f} over {len(etth1)} "
                f"seed(s); SegRNN (lookback 720): {SEGRNN_ETTH1_L720_H96}."]
    # 3. every horizon at the chosen lookback
    out += ["", "### Every horizon at the chosen lookback (seed 0), test MSE / MAE", "",
            "| dataset | L | " + " | ".join(f"H={h}" for h in HORIZONS) + " | wall s (H=96..720) |",
            "|---|---|" + "---|" * (len(HORIZONS) + 1)]
    for d in DATASETS:
        best = chosen_lookback(root, d)
        if best is None:
            continue
        cells = [_cell(read(root, (d, best, h, 0))) for h in HORIZONS]
        walls = ", ".join(_wall(root, (d, best, h, 0)) for h in HORIZONS)
        out.append(f"| {d} | {best} | " + " | ".join(cells) + f" | {walls} |")
    return "\n".join(out) + "\n"


def choice_across(roots: List[Path]) -> str:
    """Horizon 96 with the recipe and the lookback chosen together per dataset, on validation MSE (seed 0) over every
    root's runs; the chosen pair's three seeds against PatchTST/64."""
    out = ["### Horizon 96, recipe and lookback chosen per dataset on validation (seed 0), seeds 0 / 1 / 2", "",
           "Recipes: " + "; ".join(f"`{r.name}` = `{recipe(r)}`" for r in roots), "",
           "| dataset | val MSE per recipe at L = 96 / 336 / 720 (seed 0) | chosen | test MSE mean ± std "
           "| test MAE mean ± std | seeds | PatchTST/64 MSE / MAE | gap to PatchTST MSE vs 1 std |",
           "|---|---|---|---|---|---|---|---|"]
    for d in DATASETS:
        vals = {(r, lb): read(r, (d, lb, 96, 0)) for r in roots for lb in LOOKBACKS}
        vals = {k: m for k, m in vals.items() if m}
        if not vals:
            continue
        tried = [r for r in roots if any((r, lb) in vals for lb in LOOKBACKS)]  # recipes with runs on d
        per_root = "; ".join(f"`{r.name}` " + " / ".join(f"{vals[(r, lb)]['val_mse']:.4f}" if (r, lb) in vals
                                                          else "–" for lb in LOOKBACKS) for r in tried)
        root, lb = min(vals, key=lambda k: vals[k]["val_mse"])
        runs = [m for m in (read(root, (d, lb, 96, s)) for s in SEEDS) if m]
        mse, mae = [m["test"]["mse"] for m in runs], [m["test"]["mae"] for m in runs]
        ref_mse, ref_mae = PATCHTST64[d]
        gap = statistics.mean(mse) - ref_mse
        sd = statistics.stdev(mse) if len(mse) > 1 else float("nan")
        spread = (" (one seed: spread unknown)" if len(mse) < 2
                  else " (the seeds give the same weights: an exact solve, no spread)" if sd == 0
                  else " (beyond 1 std)" if abs(gap) > sd else " (within 1 std)")
        out.append(f"| {d} | {per_root} | `{root.name}`, L={lb} | {statistics.mean(mse):.3f} ± {_sd(mse)} "
                   f"| {statistics.mean(mae):.3f} ± {_sd(mae)} | {len(runs)} | {ref_mse:.3f} / {ref_mae:.3f} "
                   f"| {gap:+.4f}: {'better' if gap < 0 else 'worse'}{spread} |")
    # lookback 96: the recipe chosen per dataset on validation at horizon 96, then used at every horizon
    out += ["", "### Lookback 96, the recipe chosen per dataset on validation at horizon 96 (seed 0), every horizon "
            "(seed 0, or the mean of the seeds that ran)",
            "", "| dataset | val MSE at H=96 per recipe | chosen | " + " | ".join(
                f"H={h} MSE / MAE (SegRNN MSE)" for h in HORIZONS) + " |", "|---|---|---|" + "---|" * len(HORIZONS)]
    ours, theirs, per_seed = [], [], {}
    for d in DATASETS:
        vals = {r: read(r, (d, 96, 96, 0)) for r in roots}
        vals = {r: m for r, m in vals.items() if m}
        if not vals:
            continue
        root = min(vals, key=lambda r: vals[r]["val_mse"])
        cells = _l96_cells(root, d, ours, theirs, per_seed)
        per_root = "; ".join(f"`{r.name}` {vals[r]['val_mse']:.4f}" for r in vals)
        out.append(f"| {d} | {per_root} | `{root.name}` | " + " | ".join(cells) + " |")
    if ours:
        out += _l96_summary(ours, theirs, per_seed)
    return "\n".join(out) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["run", "table", "choose"],
                   help="choose: the horizon-96 table with recipe and lookback chosen per dataset over every --root")
    p.add_argument("--root", type=Path, action="append", help="run folder of one recipe (default runs/ett); "
                   "`choose` takes several")
    p.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=DATASETS, help="run: these sets only")
    p.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS), help="run: seeds of the headline")
    p.add_argument("--horizons", type=int, nargs="*", default=list(HORIZONS), choices=HORIZONS,
                   help="run: horizons besides 96 to run at lookback 96 and at the chosen lookback")
    p.add_argument("--l96-seeds", type=int, nargs="*", default=[],
                   help="run: more seeds (e.g. 1 2) of lookback 96 at every horizon; tables then show their mean")
    p.add_argument("--headline-only", action="store_true",
                   help="run: only horizon 96 (every lookback, then the seeds at the chosen one)")
    p.add_argument("--experiment", default="etth1_gru", help="the preset every run starts from (default etth1_gru)")
    p.add_argument("--lookbacks", type=int, nargs="*", default=[336, 720],
                   help="lookbacks tried at horizon 96 besides 96 (default: 336 720)")
    p.add_argument("extra", nargs="*", help="more overrides for every run, e.g. trainer.checkpoint.every=0")
    a = p.parse_intermixed_args(argv)  # overrides may follow the options
    os.environ.setdefault("SEQLAB_DATA_DIR", str(Path(__file__).resolve().parents[1].parent / "shared/datasets"))
    roots = a.root or [Path("runs/ett")]
    if a.action == "choose":
        print(choice_across(roots), end="")
        return 0
    if len(roots) > 1:
        p.error("run and table take one --root")
    if a.action == "run":
        roots[0].mkdir(parents=True, exist_ok=True)
        plan_and_run(roots[0], a.extra, a.lookbacks, a.experiment, a.datasets, a.headline_only, a.seeds, a.horizons,
                     a.l96_seeds)
    print(tables(roots[0]), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
