"""`seqlab report` over many tiny runs: runs per second of `report.collect` (the table, without printing).

    python benchmarks/report_scale.py [--runs 2000] [--repeat 3]

Each run folder holds a real composed config (.hydra/config.yaml, as the CLI records it) and a metrics.json that
differ from run to run in a few keys, like a sweep's trials. Prints the best of `--repeat` timings, wall and CPU
(the CPU time is the figure to compare on a shared, loaded machine).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from omegaconf import OmegaConf

from seqlab import report
from seqlab.config import compose


def make_runs(root: Path, n: int) -> None:
    cfg = compose([])
    for i in range(n):
        run = root / f"trial_{i:05d}"
        (run / ".hydra").mkdir(parents=True)
        cfg.model.units = 8 + i % 7
        cfg.trainer.lr = 10 ** -(2 + i % 3)
        (run / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
        test = {"loss": 0.1 + i * 1e-4, "mse": 0.1 + i * 1e-4, "mae": 0.2}
        (run / "metrics.json").write_text(json.dumps({"status": "completed", "test": test, "baseline": {"mse": 1.0},
                                                      "epochs": 3, "best_epoch": 2, "train_seconds": 1.5}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        make_runs(Path(tmp), args.runs)
        best, cpu = float("inf"), float("inf")
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            df = report.collect(Path(tmp))
            best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
        assert len(df) == args.runs
        print(f"seqlab report: {args.runs} runs in {best:.2f} s wall, {cpu:.2f} s CPU ({args.runs / best:.0f} runs/s "
              f"wall, {args.runs / cpu:.0f} runs/s CPU; best of {args.repeat}; {len(df.columns)} columns)")


if __name__ == "__main__":
    main()
