"""LSTM / GRU training throughput on CPU: samples/s per option (batch size, unroll, oneDNN, bf16, XLA, threads).

Usage: python benchmarks/cpu_throughput.py [--cells lstm gru] [--options base unroll ...] [--seq 64] [--units 64]
Shapes: the reference shapes of docs/results-history.md (sequence 64, 8 features, 64 units, batch 128, one RNN layer
and seqlab's regression head, MSE, Adam). Every measurement walks seqlab's own path: the random reference data
comes from a `dataset=custom` loader (benchmarks/reference_data.py), `seqlab.train.stages.prepare` builds and
compiles `model=<cell>` from the composed config, and `stages.fit` trains it with `trainer=fit` and its callback
list (TensorBoard and checkpoints off), a timing callback added as an extra callback. Only the training steps
of each epoch are timed (validation, 128 samples, is not), and the first epoch (tracing) not at all. Options
map to config keys (`trainer.batch_size`, `model.unroll`, `trainer.jit_compile`, `trainer.cpu_shards`, bf16:
`trainer.precision`; `xla` is seqlab's CPU default with XLA: one XLA program per core, `xla_one` one program for
the whole batch; `model=lstm` is keras.layers.LSTM, see benchmarks/vs_pytorch.py for PyTorch). Options that are
process-wide settings (oneDNN off, 1 thread) get their own subprocess; the rest share one process,
interleaved; with --repeats the processes are interleaved too and the best rate of each option counts.
Ratio = samples/s / samples/s of `base`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# option -> (process group, settings); a process group's environment / threading is set before TF starts
OPTIONS = {
    "base": ("main", {}),
    "batch32": ("main", {"batch": 32}),
    "batch512": ("main", {"batch": 512}),
    "unroll": ("main", {"unroll": True}),
    "bf16": ("main", {"precision": "mixed_bfloat16"}),
    "xla": ("main", {"jit": True}),  # trainer.cpu_shards=auto: one XLA program per core
    "xla_one": ("main", {"jit": True, "shards": 1}),
    "onednn_off": ("onednn_off", {}),
    "threads1": ("threads1", {}),
}
GROUPS = {"main": ({}, None), "onednn_off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, None), "threads1": ({}, 1)}


def train_clock():
    """A callback recording each epoch's training-step seconds: from the epoch's start to its validation."""
    import keras

    class TrainClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self._t0 = [], None

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()

        def on_test_begin(self, logs=None):  # validation starts: the epoch's training steps are done
            if self._t0 is not None:
                self.seconds.append(time.perf_counter() - self._t0)
                self._t0 = None

    return TrainClock()


def overrides(cell: str, settings: dict, args) -> list:
    """The seqlab config of one measurement: the reference data and model, the option's keys, nothing written.

    `reference_data` is importable because the measuring child runs as `python benchmarks/cpu_throughput.py`,
    which puts benchmarks/ on sys.path."""
    model = [f"model.filters={args['units']}"] if cell == "conv1d" else [
        f"model.units={args['units']}", f"model.unroll={str(settings.get('unroll', False)).lower()}"]
    return ["dataset=custom", "dataset.loader=reference_data:load", f"+dataset.params.samples={args['samples']}",
            f"+dataset.params.steps={args['seq']}", f"model={cell}", *model,
            f"trainer.batch_size={settings.get('batch', 128)}", f"trainer.epochs={1 + args['epochs']}",
            f"trainer.jit_compile={str(settings.get('jit', False)).lower()}",
            f"trainer.cpu_shards={settings.get('shards', 'auto')}",
            f"trainer.precision={settings.get('precision', 'float32')}", "trainer.tensorboard.enabled=false",
            "trainer.checkpoint.every=0", "trainer.verbose=0"]


def measure(cell: str, settings: dict, args) -> float:
    """Best samples/s over the timed epochs of one fresh seqlab run (prepare, then stages.fit)."""
    from seqlab.config import compose
    from seqlab.train import stages

    cfg = compose(overrides(cell, settings, args))
    prepared = stages.prepare(cfg)
    clock = train_clock()
    with tempfile.TemporaryDirectory() as run_dir:
        ended = stages.fit(prepared, cfg, stages.make_callbacks(cfg, run_dir, prepared, [clock]))
    if ended.status != "completed":
        raise RuntimeError(f"{cell} {settings}: training {ended.status}: {ended.details}")
    return len(prepared.splits.train) / min(clock.seconds[1:])


def child(job: dict) -> None:
    """Runs in a subprocess: every (cell, option) of one process group, interleaved; prints JSON rates."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if job["threads"]:
        tf.config.threading.set_intra_op_parallelism_threads(job["threads"])
        tf.config.threading.set_inter_op_parallelism_threads(job["threads"])
    rates = {}
    for _ in range(job["repeats"]):
        for cell in job["cells"]:
            for name in job["options"]:
                settings = OPTIONS[name][1]
                rate = measure(cell, settings, job)
                rates[f"{cell}/{name}"] = max(rates.get(f"{cell}/{name}", 0.0), rate)
                print(f"  {cell} {name} ({job['group']}): {rate:.0f} samples/s", file=sys.stderr, flush=True)
    print(json.dumps(rates))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--samples", type=int, default=8192, help="samples per timed epoch")
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs (the best counts)")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args(argv)
    if args.child:
        return child(json.loads(args.child))
    rates = {}
    for _ in range(args.repeats):  # the process groups interleaved: load from other processes hits each alike
        for group, (env_extra, threads) in GROUPS.items():
            opts = [o for o in args.options if OPTIONS[o][0] == group]
            if not opts:
                continue
            job = {"group": group, "threads": threads, "cells": args.cells, "options": opts, "seq": args.seq,
                   "units": args.units, "samples": args.samples, "epochs": args.epochs, "repeats": 1}
            res = subprocess.run([sys.executable, __file__, "--child", json.dumps(job)],
                                 env={**os.environ, **env_extra}, stdout=subprocess.PIPE, text=True, check=True)
            for key, rate in json.loads(res.stdout.strip().splitlines()[-1]).items():
                cell, name = key.split("/")
                rates[cell, name] = max(rates.get((cell, name), 0.0), rate)
    names = list(args.options)
    print(f"\nsequence {args.seq}, 8 features, {args.units} units, batch 128 unless named; "
          f"best of {args.epochs} epochs x {args.repeats} runs")
    print("| option | " + " | ".join(f"{c} samples/s | {c} vs base" for c in args.cells) + " |")
    print("|---|" + "---|---|" * len(args.cells))
    for name in names:
        if all((c, name) in rates for c in args.cells):
            cells = " | ".join(f"{rates[c, name]:.0f} | {rates[c, name] / rates[c, 'base']:.2f}x" for c in args.cells)
            print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
