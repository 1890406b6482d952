"""Sweep efficiency: the best validation loss each tuner reaches against the epochs it spends, on a fixed budget.

Usage: python benchmarks/sweep_efficiency.py [--trials 20] [--epochs 10] [--seeds 0 1 2] [--problems etth1 adding]
                                             [--tuners random bayesian hyperband tpe tpe_median] [--out DIR]

For each problem (ETTh1 with a GRU over `sweep=full`, SEQLAB_DATA_DIR must hold ETTh1; the adding problem with
T = 200 and a GRU over the same space), each tuner and each search seed, runs
`python -m seqlab -m sweep=full sweep.tuner=<t> sweep.max_trials=<trials> trainer.epochs=<epochs> seed=<s> ...`
as a subprocess (one at a time), then reads every trial's record: the epochs it trained (a Hyperband trial that
continues another counts only its new epochs) and its validation loss. Writes `<out>/curves.csv` (problem, tuner,
seed, trial, epochs so far, best val_loss so far) and `<out>/summary.md` (per problem and tuner: mean best val_loss
over seeds, its spread, the epochs spent, wall seconds), and prints the summary. Epochs are compute-independent;
wall seconds depend on the machine and its load.

Resumable: both files are rewritten after every sweep, a finished sweep (its sweep.json says completed) is read, not
run again, and an unfinished one continues where it stopped (`sweep.resume=true` on its fixed folder), so a killed
benchmark restarted with the same arguments loses at most the trial that was running.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

TUNERS = {"random": ["sweep.tuner=random", "sweep.pruner=none"],
          "bayesian": ["sweep.tuner=bayesian", "sweep.pruner=none"],
          "hyperband": ["sweep.tuner=hyperband", "sweep.pruner=none"], "tpe": ["sweep.tuner=tpe", "sweep.pruner=none"],
          "tpe_median": ["sweep.tuner=tpe", "sweep.pruner=median"]}
PROBLEMS = {
    # ETTh1, 7 channels in and out; a shorter window and 128 examples per split (not the paper protocol), so that
    # one trial-epoch costs ~0.4 s and 150 sweeps fit a shared 2-core machine in about an hour
    "etth1": ["dataset=etth1", "model=gru", "dataset.input_len=48", "dataset.horizon=24", "dataset.limit=128"],
    # the adding problem at T = 200: two marked values among 200 to sum; 128 / 64 / 64 examples, for the same reason
    "adding": ["dataset=adding", "model=gru", "dataset.length=200", "dataset.train_size=128", "dataset.val_size=64",
               "dataset.test_size=64"],
}
QUIET = ["trainer.verbose=0", "trainer.tensorboard.enabled=false"]
# sweep=full's keys (lr, batch size, units, layers) with narrower capacity ranges, so that 150 sweeps' worth of
# trials fit a shared 2-core machine in about half an hour
SMALL = ["++sweep.space={model.units: {type: int, min: 8, max: 32, step: 8}, model.layers: {type: int, min: 1, "
         "max: 2}}"]


def trial_epochs(sweep_dir: Path) -> List[Dict[str, float]]:
    """Per trial in the order they ran: new epochs trained and the best val_loss (None: failed)."""
    rows = []
    with open(sweep_dir / "trials.csv") as f:
        table = list(csv.DictReader(f))
    for row in sorted(table, key=lambda r: int(r["trial_id"])):
        record = sweep_dir / row["run_dir"] / "sweep_trial.json"
        attempts = json.loads(record.read_text())["attempts"] if record.exists() else []
        new = sum(max(0, (a.get("epochs") or 0) - (a.get("start_epoch") or 0)) for a in attempts)
        loss = float(row["val_loss"]) if row.get("val_loss") not in (None, "") else math.nan
        rows.append({"trial": int(row["trial_id"]), "epochs": new, "val_loss": loss, "status": row["status"]})
    return rows


def finished(root: Path, problem: str, tuner: str, seed: int) -> bool:
    state = root / problem / tuner / str(seed) / "0" / "sweep.json"
    return state.exists() and json.loads(state.read_text()).get("status") == "completed"


def run_one(problem: str, tuner: str, seed: int, args, root: Path) -> Dict[str, object]:
    where = root / problem / tuner / str(seed)
    cmd = [sys.executable, "-m", "seqlab", "-m", "sweep=full", *TUNERS[tuner], *PROBLEMS[problem],
           f"sweep.max_trials={args.trials}", f"trainer.epochs={args.epochs}", f"seed={seed}",
           "sweep.resume=true", f"hydra.sweep.dir={where}", *QUIET, *SMALL, *args.extra]
    print(f"$ {' '.join(cmd[2:])}", flush=True)
    t0 = time.perf_counter()
    with open(root / f"{problem}-{tuner}-{seed}.log", "a") as log:
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    seconds = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"{problem}/{tuner}/{seed}: exit {code}; see {root}/{problem}-{tuner}-{seed}.log")
    return read_sweep(problem, tuner, seed, root, seconds)


def read_sweep(problem: str, tuner: str, seed: int, root: Path, seconds: float = math.nan) -> Dict[str, object]:
    """One finished sweep's numbers; wall seconds, when not measured here, from its sweep.json (1 s resolution)."""
    sweep_dir = root / problem / tuner / str(seed) / "0"
    if math.isnan(seconds):
        state = json.loads((sweep_dir / "sweep.json").read_text())
        stamp = "%Y-%m-%dT%H:%M:%S"
        seconds = time.mktime(time.strptime(state["updated"], stamp)) - time.mktime(time.strptime(state["started"],
                                                                                                   stamp))
    trials = trial_epochs(sweep_dir)
    spent, best, curve = 0, math.inf, []
    for t in trials:
        spent += t["epochs"]
        if not math.isnan(t["val_loss"]) and t["status"] == "completed":
            best = min(best, t["val_loss"])
        curve.append({"problem": problem, "tuner": tuner, "seed": seed, "trial": t["trial"], "epochs": spent,
                      "best_val_loss": best, "status": t["status"]})
    return {"best": best, "epochs": spent, "seconds": seconds, "curve": curve,
            "pruned": sum(t["status"] == "pruned" for t in trials)}


def best_after(curve: List[Dict[str, object]], epochs: float) -> float:
    """The best val_loss a sweep had reached once it had spent `epochs` epochs (inf: no finished trial by then)."""
    return min((float(c["best_val_loss"]) for c in curve if float(c["epochs"]) <= epochs), default=math.inf)


def summarize(results: Dict[str, Dict[str, List[Dict[str, object]]]]) -> List[str]:
    """Per problem, a row per tuner: the final best val_loss (mean and sd over seeds), the epochs spent, and the best
    reached after E epochs, E = the fewest epochs any tuner's sweep spent (the cheapest tuner's budget) and half of
    the full budget (trials x epochs), so that tuners are compared at equal compute."""
    lines = []
    for problem, by_tuner in results.items():
        spent = [r["epochs"] for runs in by_tuner.values() for r in runs]
        full = max(spent)
        marks = sorted({int(min(spent)), int(full // 2)})
        lines += [f"\n{problem}", "", "| tuner | seeds | best val_loss (mean over seeds) | spread (sd) | "
                  "epochs spent (mean) | pruned trials (mean) | "
                  + " | ".join(f"best after {m} epochs (mean)" for m in marks) + " | wall seconds (mean) |",
                  "|---|---|---|---|---|---|" + "---|" * len(marks) + "---|"]
        for tuner, runs in by_tuner.items():
            bests = [r["best"] for r in runs]
            sd = statistics.stdev(bests) if len(bests) > 1 else 0.0
            after = [statistics.mean(best_after(r["curve"], m) for r in runs) for m in marks]
            lines.append(f"| {tuner} | {len(runs)} | {statistics.mean(bests):.4f} | {sd:.4f} | "
                         f"{statistics.mean(r['epochs'] for r in runs):.1f} | "
                         f"{statistics.mean(r['pruned'] for r in runs):.1f} | "
                         + " | ".join(f"{a:.4f}" for a in after) + " | "
                         f"{statistics.mean(r['seconds'] for r in runs):.0f} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    p.add_argument("--tuners", nargs="+", default=list(TUNERS), choices=list(TUNERS))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/sweep_efficiency"))
    p.add_argument("--summarize", action="store_true", help="only summarize the sweeps already finished in --out")
    p.add_argument("extra", nargs="*", help="further overrides for every sweep")
    args = p.parse_args()
    if "etth1" in args.problems and not os.environ.get("SEQLAB_DATA_DIR"):
        raise SystemExit("etth1: set SEQLAB_DATA_DIR to the folder holding ETTh1 (or --problems adding)")
    args.out.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Dict[str, List[Dict[str, object]]]] = {}
    t0 = time.perf_counter()
    for problem in args.problems:
        for seed in args.seeds:
            for tuner in args.tuners:
                if finished(args.out, problem, tuner, seed):
                    res = read_sweep(problem, tuner, seed, args.out)
                elif args.summarize:
                    continue
                else:
                    res = run_one(problem, tuner, seed, args, args.out)
                results.setdefault(problem, {}).setdefault(tuner, []).append(res)
                print(f"  {problem} {tuner} seed {seed}: best val_loss {res['best']:.4f} after {res['epochs']} "
                      f"epochs ({res['pruned']} pruned), {res['seconds']:.0f} s", flush=True)
                write(args, results, time.perf_counter() - t0)
    print((args.out / "summary.md").read_text())


def write(args, results: Dict[str, Dict[str, List[Dict[str, object]]]], seconds: float) -> None:
    """curves.csv and summary.md for the sweeps finished so far (rewritten after each: partial results usable)."""
    with open(args.out / "curves.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["problem", "tuner", "seed", "trial", "epochs", "best_val_loss",
                                               "status"])
        writer.writeheader()
        for by_tuner in results.values():
            for runs in by_tuner.values():
                for r in runs:
                    writer.writerows(r["curve"])
    total = f"this invocation's wall time {seconds:.0f} s; a sweep read back, not run, counts its sweep.json's"
    lines = [f"budget: {args.trials} trials of up to {args.epochs} epochs, seeds {args.seeds}; {total}"] + summarize(
        results)
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
