"""`seqlab predict` at scale: wall time and peak resident memory for growing input lengths (issue #28).

Usage: python benchmarks/predict_scale.py [--rows 10000 100000 1000000] [--run RUN_DIR]

Trains a tiny csv run (two columns, input_len 24, horizon 6; one epoch) unless --run names one, writes a CSV of
each size like its training file, and runs `seqlab predict` on it in a fresh process per size: 6 forecast rows
out, and (the targets being in the input) the test metrics over every window, evaluated in bounded batches.
Prints rows, file size, windows evaluated, wall seconds and the child's peak RSS (ru_maxrss). Target: peak RSS
flat in the input's length beyond the input frame itself (about 16 bytes per row per column here).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = ("import resource, sys; from seqlab.inference.predict_cli import main; rc = main(sys.argv[1:]); "
         "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")


def series(rows: int) -> pd.DataFrame:
    t = np.arange(rows)
    return pd.DataFrame({"a": 10 + 3 * np.sin(t / 7), "b": -5 + np.cos(t / 11)})


def train(folder: Path) -> Path:
    series(2000).to_csv(folder / "train.csv", index=False)
    run = folder / "run"
    cmd = [sys.executable, "-m", "seqlab", "dataset=csv", f"dataset.path={folder / 'train.csv'}",
           "dataset.input_len=24", "dataset.horizon=6", "model=gru", "model.units=8", "trainer.epochs=1",
           "trainer.verbose=0", "trainer.tensorboard.enabled=false", f"hydra.run.dir={run}"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return run


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--run", type=Path, help="a csv run with columns a, b (default: train a tiny one)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run or train(tmp)
        print(f"{'rows':>10} {'MB':>7} {'windows':>10} {'seconds':>8} {'peak RSS MB':>12}")
        for rows in args.rows:
            frame = series(rows)
            path = tmp / f"in_{rows}.csv"
            frame.to_csv(path, index=False)
            out = tmp / f"out_{rows}.csv"
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", CHILD, str(run), str(path), "--output", str(out)],
                                 capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if res.returncode != 0:
                print(res.stdout + res.stderr, file=sys.stderr)
                return 1
            peak = int(res.stdout.split("PEAK_RSS_KB")[1].split()[0]) / 1024
            metrics = out.with_suffix(".metrics.json")
            windows = json.loads(metrics.read_text())["windows"] if metrics.is_file() else 0
            print(f"{rows:>10,} {path.stat().st_size / 1e6:>7.1f} {windows:>10,} {seconds:>8.1f} {peak:>12.0f}")
    print(f"(parent peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
