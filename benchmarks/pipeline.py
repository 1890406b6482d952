"""Input pipeline alone vs training: batches/s of each dataset's tf.data pipeline and of the train step.

Usage: python benchmarks/pipeline.py [--datasets sine adding ...] [--steps 40] [--model lstm]
For each dataset, the training split's pipeline (`Split.dataset`, shuffled, as trainer=fit uses it) is iterated
alone, then the default model (`model=lstm`, seqlab defaults), built and compiled by seqlab's `stages.prepare`,
trains on the same pipeline. That training side is a reference, not seqlab's path: a plain `model.fit` with
one timing callback, so that it times the train step alone (no seqlab callbacks, no validation).
Ratio = pipeline batches/s / training batches/s; the pipeline must never be the bottleneck (target >= 10x).
Real datasets need $SEQLAB_DATA_DIR (e.g. /work/shared/datasets) and are skipped without it; IMDB is capped at
`dataset.limit` examples per split (the pipeline's speed does not depend on the split's size).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from seqlab.config import compose
from seqlab.train.stages import prepare

DATASETS = {
    "sine": [],
    "adding": [],
    "text_synth": [],
    "etth1": [],
    "ettm1": [],
    "imdb": ["dataset.limit=4096"],
}
REAL = {"etth1", "ettm1", "imdb"}


class StepTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.t0


def pipeline_rate(split, batch_size: int, steps: int) -> float:
    ds = split.dataset(batch_size, shuffle_seed=0, epochs=1000)  # long enough for the timing
    it = iter(ds)
    for _ in range(3):  # warm-up: tracing and the first prefetch
        next(it)
    t0 = time.perf_counter()
    for _ in range(steps):
        next(it)
    return steps / (time.perf_counter() - t0)


def train_rate(model, split, batch_size: int, steps: int) -> float:
    ds = split.dataset(batch_size, shuffle_seed=0, epochs=1000)
    timer = StepTimer()
    # epoch 1 traces the step function; epoch 2 is timed
    model.fit(ds, epochs=2, steps_per_epoch=steps, callbacks=[timer], verbose=0, shuffle=False)
    return steps / timer.seconds


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--model", default="lstm")
    ap.add_argument("--steps", type=int, default=40, help="batches per measurement")
    ap.add_argument("--pipeline-steps", type=int, default=400)
    args = ap.parse_args(argv)
    rows = []
    for name in args.datasets:
        if name in REAL and not os.environ.get("SEQLAB_DATA_DIR"):
            print(f"  {name}: skipped (set SEQLAB_DATA_DIR)")
            continue
        cfg = compose([f"dataset={name}", f"model={args.model}"] + DATASETS.get(name, []))
        splits, spec, model = prepare(cfg)
        bs = cfg.trainer.batch_size
        pipe = pipeline_rate(splits.train, bs, args.pipeline_steps)
        train = train_rate(model, splits.train, bs, args.steps)
        rows.append((name, spec.input_shape, bs, pipe, train))
        print(f"  {name}: pipeline {pipe:.0f} batches/s, training {train:.1f} batches/s", flush=True)
    print(f"\n| dataset | input shape | batch | pipeline batches/s | train batches/s (model={args.model}) | ratio |")
    print("|---|---|---|---|---|---|")
    for name, shape, bs, pipe, train in rows:
        print(f"| {name} | {shape} | {bs} | {pipe:.0f} | {train:.1f} | {pipe / train:.0f}x |")
    print("(target: ratio >= 10x, i.e. the input pipeline is never the bottleneck)")


if __name__ == "__main__":
    main()
