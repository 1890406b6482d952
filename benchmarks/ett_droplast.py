"""What the `drop_last` test-loader bug would make of finished forecasting runs: test MSE on every window, and on
the windows a loader with drop_last=True and batch B would keep (the last incomplete batch dropped).

    python benchmarks/ett_droplast.py RUN_DIR [RUN_DIR ...]

The bug (fixed in SegRNN's repository in 2024, see its README and FITS / TFB) dropped the test set's last
incomplete batch in the PatchTST / SegRNN code base that many ETT papers report from. Each RUN_DIR is a finished
`python -m seqlab` run (its .hydra/config.yaml and model.keras); the data come from the run's config, with
`data_dir` from SEQLAB_DATA_DIR when set.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

BATCHES = (32, 64, 128, 256)


def per_window_mse(run: Path):
    import keras
    import numpy as np
    from omegaconf import OmegaConf

    from seqlab import data

    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    splits, _ = data.load(cfg.dataset, data_dir=os.environ.get("SEQLAB_DATA_DIR", cfg.data_dir), seed=cfg.seed)
    x, y = splits.test.arrays()
    pred = keras.saving.load_model(run / "model.keras").predict(x, batch_size=512, verbose=0)
    return ((np.asarray(pred) - y) ** 2).reshape(len(y), -1).mean(axis=1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    a = p.parse_args(argv)
    print("| run | test windows | MSE, all windows | " + " | ".join(f"drop_last, batch {b} (dropped)" for b in BATCHES)
          + " |")
    print("|---|---|---|" + "---|" * len(BATCHES))
    for run in a.runs:
        err = per_window_mse(run)
        n = len(err)
        cells = [f"{err[: n - n % b].mean():.4f} ({n % b})" for b in BATCHES]
        print(f"| {run.name} | {n} | {err.mean():.4f} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
