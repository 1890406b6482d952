"""LSTM / GRU training throughput on CPU: samples/s per option (batch size, unroll, oneDNN, bf16, XLA, threads).

Usage: python benchmarks/cpu_throughput.py [--cells lstm gru] [--options base unroll ...] [--seq 64] [--units 64]
Shapes: the reference shapes of docs/RESULTS.md (sequence 64, 8 features, 64 units, batch 128, one RNN layer
and a Dense(1) head, MSE, Adam), trained with model.fit on an in-memory tf.data pipeline. Every option runs in
its own subprocess (oneDNN and mixed precision are process-wide settings), the options interleaved, the first
epoch (tracing) untimed. Ratio = samples/s / samples/s of `base` in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# option -> (environment, settings for the child)
OPTIONS = {
    "base": ({}, {}),
    "batch32": ({}, {"batch": 32}),
    "batch512": ({}, {"batch": 512}),
    "unroll": ({}, {"unroll": True}),
    "onednn_off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, {}),
    "bf16": ({}, {"policy": "mixed_bfloat16"}),
    "xla": ({}, {"jit": True}),
    "threads1": ({}, {"threads": 1}),
}


def child(spec: dict) -> None:
    """Runs in the subprocess: build, train, print samples/s as JSON."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    if spec.get("threads"):
        tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
        tf.config.threading.set_inter_op_parallelism_threads(spec["threads"])
    if spec.get("policy"):
        keras.mixed_precision.set_global_policy(spec["policy"])
    keras.utils.set_random_seed(0)
    n, seq, feat, batch = spec["samples"], spec["seq"], 8, spec.get("batch", 128)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, seq, feat)).astype("float32")
    y = x[:, -5:, 0].sum(axis=1, keepdims=True).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).cache().repeat().prefetch(tf.data.AUTOTUNE)
    cell = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[spec["cell"]]
    model = keras.Sequential([keras.Input((seq, feat)), cell(spec["units"], unroll=spec.get("unroll", False)),
                              keras.layers.Dense(1, dtype="float32")])
    model.compile(optimizer="adam", loss="mse", jit_compile=spec.get("jit", False))
    steps = max(1, n // batch)
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    model.fit(ds, epochs=1 + spec["epochs"], steps_per_epoch=steps, callbacks=[Timer()], verbose=0)
    print(json.dumps({"samples_per_s": steps * batch / min(times[1:])}))


def run_option(name: str, cell: str, args) -> float:
    env_extra, settings = OPTIONS[name]
    spec = {"cell": cell, "seq": args.seq, "units": args.units, "samples": args.samples, "epochs": args.epochs,
            **settings}
    env = {**os.environ, **env_extra}
    res = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])["samples_per_s"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--cells", nargs="+", default=["lstm", "gru"])
    ap.add_argument("--options", nargs="+", default=list(OPTIONS))
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--samples", type=int, default=8192, help="samples per timed epoch")
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs (best counts)")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args(argv)
    if args.child:
        return child(json.loads(args.child))
    best = {}
    for _ in range(args.repeats):
        for cell in args.cells:
            for name in args.options:  # interleaved: load from other processes hits every option alike
                rate = run_option(name, cell, args)
                best[cell, name] = max(best.get((cell, name), 0.0), rate)
                print(f"  {cell} {name}: {rate:.0f} samples/s", flush=True)
    print(f"\nsequence {args.seq}, 8 features, {args.units} units; best of {args.epochs} epochs x {args.repeats} runs")
    print("| option | " + " | ".join(f"{c} samples/s | {c} vs base" for c in args.cells) + " |")
    print("|---|" + "---|---|" * len(args.cells))
    for name in args.options:
        cells = " | ".join(f"{best[c, name]:.0f} | {best[c, name] / best[c, 'base']:.2f}x" for c in args.cells)
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
