"""Sweep memory and overhead: resident memory and time per trial over a long sweep, trials forked vs in-process.

Usage: python benchmarks/sweep_memory.py [--trials 30] [--isolation process none] [--epochs 2] [-- extra overrides]

Runs `python -m seqlab -m sweep=lr sweep.max_trials=N sweep.isolation=<mode> ...` as a subprocess per mode,
samples the sweep process's resident memory (VmRSS) whenever a trial completes, and reads every trial's record
(`trials/<id>/sweep_trial.json`: VmRSS of the process that trained it, at the end of the trial, and the seconds
of its training path). Prints one line per trial, then RSS after trial 30 vs trial 3 and where the wall time went.
Targets: RSS after trial 30 within 5% of after trial 3; >= 90% of the sweep's wall time in the training path
(`train.run`: data, model, epochs, evaluation, outputs) and the rest sweep overhead (start-up, tuner, forks).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def completed_trials(sweep_dir: Path) -> Dict[str, dict]:
    out = {}
    for path in (sweep_dir / "trials").glob("*/sweep_trial.json"):
        try:
            attempts = json.loads(path.read_text())["attempts"]
        except (OSError, ValueError, KeyError):
            continue
        if attempts and attempts[-1].get("status") == "completed":
            out[path.parent.name] = attempts[-1]
    return out


def run(mode: str, trials: int, epochs: int, extra: List[str], root: Path) -> Dict[str, object]:
    sweep_dir = root / mode / "0"
    cmd = [sys.executable, "-m", "seqlab", "-m", "sweep=lr", f"sweep.max_trials={trials}",
           f"sweep.isolation={mode}", f"trainer.epochs={epochs}", "trainer.verbose=0",
           f"hydra.sweep.dir={root / mode}", *extra]
    print(f"\n$ {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    sweep_rss: Dict[str, float] = {}  # trial id -> the sweep process's RSS when the trial's record said completed
    while proc.poll() is None:
        for tid in completed_trials(sweep_dir):
            sweep_rss.setdefault(tid, rss_mb(proc.pid))
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"sweep failed with exit code {proc.returncode}; see {sweep_dir}")
    done = completed_trials(sweep_dir)
    order = sorted(done, key=int)
    print(f"{'trial':>5} {'train-process RSS MB':>21} {'sweep-process RSS MB':>21} {'trial s':>8} {'epochs s':>9}")
    rows = []
    for tid in order:
        metrics = json.loads((sweep_dir / "trials" / tid / "metrics.json").read_text())
        row = {"trial": int(tid) + 1, "rss": done[tid].get("rss_mb"), "sweep_rss": sweep_rss.get(tid, float("nan")),
               "seconds": done[tid]["seconds"], "epoch_seconds": metrics["train_seconds"]}
        rows.append(row)
        print(f"{row['trial']:>5} {row['rss']:>21.1f} {row['sweep_rss']:>21.1f} {row['seconds']:>8.2f} "
              f"{row['epoch_seconds']:>9.2f}")
    return {"mode": mode, "rows": rows, "wall": wall}


def report(result: Dict[str, object]) -> None:
    rows, wall = result["rows"], result["wall"]
    if len(rows) < 4:
        return
    third, last = rows[2], rows[-1]
    growth = 100 * (last["rss"] / third["rss"] - 1)
    training = sum(r["seconds"] for r in rows)
    epochs = sum(r["epoch_seconds"] for r in rows)
    first3 = statistics.mean(r["seconds"] for r in rows[:3])
    last3 = statistics.mean(r["seconds"] for r in rows[-3:])
    print(f"\nisolation={result['mode']}: RSS of the training process after trial 3 {third['rss']:.0f} MB, after trial "
          f"{last['trial']} {last['rss']:.0f} MB ({growth:+.1f}%; target within 5%); sweep process "
          f"{third['sweep_rss']:.0f} -> {last['sweep_rss']:.0f} MB")
    print(f"  trial time: first 3 {first3:.2f} s, last 3 {last3:.2f} s")
    print(f"  wall {wall:.1f} s: training path {training:.1f} s ({100 * training / wall:.1f}%; target >= 90%), "
          f"of which epochs {epochs:.1f} s ({100 * epochs / wall:.1f}%); sweep overhead {wall - training:.1f} s "
          f"({100 * (wall - training) / wall:.1f}%)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--isolation", nargs="+", default=["process", "none"], choices=["process", "none"])
    ap.add_argument("--keep", help="directory to keep the sweeps in (default: a temporary one)")
    ap.add_argument("extra", nargs="*", help="more overrides, e.g. model=gru dataset.length=2000")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        results = [run(mode, args.trials, args.epochs, args.extra, root) for mode in args.isolation]
    for result in results:
        report(result)


if __name__ == "__main__":
    main()
