"""The over-fitting gap (train vs validation) of the *_overfit presets under each regularizer option.

Usage: python benchmarks/regularizer_gap.py [--presets sine_overfit text_synth_overfit] [--epochs N]
Each row is `python -m seqlab experiment=PRESET regularizer=R`, trained through seqlab's one path
(`seqlab.train.run`); afterwards train, validation and test are all evaluated in inference mode (no dropout,
the metric has no L2 term), so the gap compares like with like. Metric: mse for the sine preset, accuracy for
text; the loss columns include the L2 penalty where there is one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from seqlab import data
from seqlab.config import compose
from seqlab.train import run
from seqlab.train.run import evaluate

REGULARIZERS = ["none", "l2", "dropout", "l2_dropout"]
QUIET = ["trainer.verbose=0", "trainer.tensorboard.enabled=false", "trainer.checkpoint.every=0"]


def measure(preset: str, reg: str, extra):
    cfg = compose([f"experiment={preset}", f"regularizer={reg}"] + QUIET + extra)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        result = run(cfg, d)
    seconds = time.perf_counter() - t0
    splits, _ = data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)  # the same splits (seeded)
    bs = cfg.trainer.batch_size
    scores = {name: evaluate(result.model, getattr(splits, name), bs) for name in ("train", "val", "test")}
    return scores, result.metrics.get("best_epoch"), seconds


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["sine_overfit", "text_synth_overfit"])
    ap.add_argument("--regularizers", nargs="+", default=REGULARIZERS)
    ap.add_argument("--epochs", type=int, default=None, help="override the presets' trainer.epochs")
    args = ap.parse_args(argv)
    extra = [f"trainer.epochs={args.epochs}"] if args.epochs else []
    for preset in args.presets:
        metric = "accuracy" if "text" in preset else "mse"
        rows = []
        for reg in args.regularizers:
            scores, best, seconds = measure(preset, reg, extra)
            rows.append((reg, scores, best, seconds))
            print(f"  {preset} regularizer={reg}: done in {seconds:.0f} s", flush=True)
        print(f"\npython -m seqlab experiment={preset} regularizer=R   (inference-mode metrics after the last epoch)")
        sign = -1.0 if metric == "accuracy" else 1.0  # a positive gap is over-fitting for both metrics
        gap_name = "train - val" if metric == "accuracy" else "val - train"
        print(f"| regularizer | train {metric} | val {metric} | gap ({gap_name}) | test {metric} "
              f"| train loss | val loss | best val epoch | wall s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for reg, s, best, seconds in rows:
            tr, va, te = s["train"][metric], s["val"][metric], s["test"][metric]
            print(f"| {reg} | {tr:.4f} | {va:.4f} | {sign * (va - tr):+.4f} | {te:.4f} | {s['train']['loss']:.4f} "
                  f"| {s['val']['loss']:.4f} | {best} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
