"""Panel scale: windows/s through the input pipeline and peak memory for synthetic panels of many series.

Usage: python benchmarks/panel_scale.py [--series 1000 10000 100000] [--length 1000] [--fixed-length]
        [--batches 200] [--train-steps 20]
Each size runs in a fresh process. A panel of N series (lengths drawn between length/2 and length, or all `length`
with --fixed-length; each with its own level, period and noise; float32, one target) is built by seqlab's panel
code (`build_panel`: split by time within each series, per-series scaling from training rows, window starts that
stay inside one series). Then the training split's tf.data pipeline (shuffled, batch 256, as trainer=fit uses it)
is iterated alone for `--batches` batches, and model=linear trains `--train-steps` steps on it. Reported: windows,
windows/s of the pipeline, the process's peak RSS above its RSS before the data was made, relative to the data's
own size (rows x 4 bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic(n_series: int, length: int, seed: int = 0, fixed: bool = False):
    """A RawPanel of float32 values, series one after another, written in place (no float64 copy) into memory
    TensorFlow reads without a copy."""
    from seqlab.data.panel_read import RawPanel
    from seqlab.data.tensors import aligned_empty

    rng = np.random.default_rng(seed)
    lengths = np.full(n_series, length) if fixed else rng.integers(length // 2, length + 1, n_series)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = aligned_empty((int(offsets[-1]), 1), np.float32)
    level, period = rng.uniform(0, 100, n_series), rng.uniform(5, 60, n_series)
    for k in range(n_series):
        t = np.arange(lengths[k], dtype=np.float32)
        values[offsets[k]:offsets[k + 1], 0] = level[k] + 10 * np.sin(t / period[k]) + rng.standard_normal(
            lengths[k], dtype=np.float32)
    return RawPanel([f"s{k}" for k in range(n_series)], offsets, values, ["y"], 1)


def one(n_series: int, length: int, batches: int, train_steps: int, fixed: bool = False) -> dict:
    import tensorflow as tf  # noqa: F401  (imported before the baseline: its own memory is not the data's)

    from seqlab.config import compose
    from seqlab.data.panel import build_panel

    cfg = compose(["dataset=panel", "dataset.path=synthetic", "model=linear", "dataset.input_len=48",
                   "dataset.horizon=12"])
    before = rss_mb()
    t0 = time.perf_counter()
    raw = synthetic(n_series, length, fixed=fixed)
    data_mb = raw.values.nbytes / 2**20
    splits, spec = build_panel(raw, cfg.dataset, "synthetic")
    del raw
    build_s = time.perf_counter() - t0
    ds = splits.train.dataset(256, shuffle_seed=0, epochs=1)
    it = iter(ds)
    for _ in range(3):  # warm-up: tracing and the first prefetch
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    rate = batches * 256 / (time.perf_counter() - t0)
    del it, ds  # training makes its own pipeline, as a run does
    trained = None
    if train_steps:
        import keras

        from seqlab.models import build

        model = build(cfg.model, cfg.regularizer, spec)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        hist = model.fit(splits.train.dataset(256, shuffle_seed=0, epochs=1), steps_per_epoch=train_steps,
                         epochs=1, verbose=0)
        trained = float(hist.history["loss"][-1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    return {"series": n_series, "rows": int(splits.train.panel.offsets[-1]), "data_mb": round(data_mb, 1),
            "windows": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
            "build_s": round(build_s, 2), "pipeline_windows_per_s": round(rate), "peak_rss_above_start_mb":
            round(peak, 1), "peak_over_data": round(peak / data_mb, 2), "train_loss": trained}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--length", type=int, default=1000, help="longest series (lengths drawn in [length/2, length])")
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--train-steps", type=int, default=20)
    p.add_argument("--fixed-length", action="store_true", help="every series exactly --length steps")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a size, in this process
    args, _ = p.parse_known_args()  # the docs-command test appends seqlab overrides: not used here
    if args.one:
        print(json.dumps(one(args.series[0], args.length, args.batches, args.train_steps, args.fixed_length)))
        return
    print(f"{'series':>8} {'rows':>12} {'data MB':>8} {'train windows':>14} {'build s':>8} {'windows/s':>10} "
          f"{'peak RSS MB':>12} {'x data':>7}")
    for n in args.series:
        cmd = [sys.executable, __file__, "--one", "--series", str(n), "--length", str(args.length), "--batches",
               str(args.batches), "--train-steps", str(args.train_steps)] + ["--fixed-length"] * args.fixed_length
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
        res = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"{n:>8} {res['rows']:>12,} {res['data_mb']:>8} {res['windows']['train']:>14,} {res['build_s']:>8} "
              f"{res['pipeline_windows_per_s']:>10,} {res['peak_rss_above_start_mb']:>12} {res['peak_over_data']:>7}")


if __name__ == "__main__":
    main()
