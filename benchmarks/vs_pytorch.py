"""LSTM / GRU training throughput: Keras fit, Keras fit + XLA, seqlab's step and PyTorch, side by side.

    pip install torch --index-url https://download.pytorch.org/whl/cpu   # or: pip install -e ".[bench]"
    python benchmarks/vs_pytorch.py --reps 3              # the issue's table (8192 x 64 x 8, 64 units, batch 128)
    python benchmarks/vs_pytorch.py --variants all --reps 2  # also seqlab's hoisted LSTM loop, unrolled
    # the LSTM presets' recurrences: adding_lstm (T 200, 2 inputs, 64 units, batch 32) and etth1_lstm (7 segments
    # of 48 h, 128 units, 64 windows x 7 channels = 448 series a batch)
    python benchmarks/vs_pytorch.py --seq 200 --features 2 --units 64 --batch 32 --samples 4096 --reps 2
    python benchmarks/vs_pytorch.py --seq 7 --features 48 --units 128 --batch 448 --samples 28672 --reps 2

Every measurement is a fresh model (one recurrent layer + Dense(1), Adam, MSE) trained on the same random data:
one untimed warm-up epoch (tracing, XLA compiling), then `--epochs` timed epochs; the best epoch counts, and with
`--reps` the variants are interleaved and the best rate of each counts. Keras runs in this process; PyTorch
(nn.LSTM / nn.GRU, batch_first, + nn.Linear, torch.optim.Adam, same arrays and batches) in a child process,
since beside TensorFlow in one process it ran ~100x slower. `seqlab_shards` is what seqlab runs by default for
such a run on a multi-core CPU (trainer.cpu_shards=auto, seqlab.train.shards: keras.layers.LSTM / GRU, each
core's share of the batch one XLA program); `seqlab` / `seqlab_xla` are `model.loop=hoisted`
(seqlab.models.fast_lstm.LSTM), opt-in.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

# variant -> (cell, layer, jit_compile, unroll); "keras" is keras.layers.<cell>, "fast" seqlab's fast_lstm.LSTM;
# jit_compile "shards" is seqlab's CPU default for such a run: the step's batch as one XLA program per core
VARIANTS = {
    "lstm/keras": ("lstm", "keras", False, False),
    "lstm/keras_xla": ("lstm", "keras", True, False),
    "lstm/seqlab_shards": ("lstm", "keras", "shards", False),
    "lstm/seqlab": ("lstm", "fast", False, False),
    "lstm/seqlab_xla": ("lstm", "fast", True, False),
    "lstm/seqlab_unroll": ("lstm", "fast", False, True),
    "lstm/seqlab_unroll_xla": ("lstm", "fast", True, True),
    "gru/keras": ("gru", "keras", False, False),
    "gru/keras_xla": ("gru", "keras", True, False),
    "gru/seqlab_shards": ("gru", "keras", "shards", False),
}
DEFAULT = ["lstm/keras", "lstm/keras_xla", "lstm/seqlab_shards", "gru/keras", "gru/keras_xla", "gru/seqlab_shards"]


def data(args):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.samples, args.seq, args.features)).astype("float32")  # (batch, time, features)
    y = x[:, -5:, 0].sum(axis=1, keepdims=True).astype("float32")
    return x, y


def keras_rate(variant: str, x, y, args) -> float:
    """Best samples/s of `--epochs` timed epochs of model.fit, after one warm-up epoch."""
    import keras

    from seqlab.models import fast_lstm

    cell, layer, jit, unroll = VARIANTS[variant]
    rnn = fast_lstm.LSTM if layer == "fast" else {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(x.shape[1:]), rnn(args.units, unroll=unroll), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", jit_compile=jit is True)
    if jit == "shards":  # what seqlab's compile_model installs for trainer.cpu_shards=auto on a multi-core CPU
        from seqlab.train import shards

        shards.install(model, shards.cpu_cores())
    times = []
    clock = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: times.append(time.perf_counter()),
                                           on_epoch_end=lambda e, logs: times.append(time.perf_counter()))
    model.fit(x, y, batch_size=args.batch, epochs=1 + args.epochs, shuffle=False, verbose=0, callbacks=[clock])
    seconds = [b - a for a, b in zip(times[0::2], times[1::2])][1:]
    return len(x) / min(seconds)


def torch_rate(cell: str, x, y, args) -> float:
    """PyTorch in a child process: beside TensorFlow's thread pools in one process it ran ~100x slower."""
    import json
    import subprocess
    import sys

    job = {k: getattr(args, k) for k in ("samples", "seq", "units", "batch", "epochs", "features")}
    out = subprocess.run([sys.executable, __file__, "--torch-child", json.dumps({"cell": cell, **job})],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return float(out.strip().splitlines()[-1])


def torch_child(job: dict) -> None:
    """Runs in the child: prints the best samples/s of `epochs` epochs after one warm-up epoch."""
    import argparse

    args = argparse.Namespace(**job)
    print(_torch_train(job["cell"], *data(args), args))


def _torch_train(cell: str, x, y, args) -> float:
    import torch

    torch.manual_seed(0)
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](args.features, args.units, batch_first=True)
    head = torch.nn.Linear(args.units, 1)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    seconds = []
    for _ in range(1 + args.epochs):
        t0 = time.perf_counter()
        for i in range(0, len(x), args.batch):
            opt.zero_grad()
            out, _ = rnn(xt[i:i + args.batch])
            loss = torch.nn.functional.mse_loss(head(out[:, -1]), yt[i:i + args.batch])
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)
    return len(x) / min(seconds[1:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", nargs="+", default=DEFAULT, help=f"of {', '.join(VARIANTS)}, or all")
    p.add_argument("--samples", type=int, default=8192)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--features", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after the warm-up (the best counts)")
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--no-torch", action="store_true", help="Keras only (PyTorch not installed)")
    p.add_argument("--torch-child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_child:
        import json

        return torch_child(json.loads(args.torch_child))
    variants = list(VARIANTS) if args.variants == ["all"] else args.variants
    cells = sorted({VARIANTS[v][0] for v in variants})
    x, y = data(args)
    rates = {}
    for rep in range(args.reps):
        order = variants if rep % 2 == 0 else variants[::-1]  # interleaved: slow drifts in load hit all alike
        for name in order + ([] if args.no_torch else [f"{c}/pytorch" for c in cells]):
            cell, kind = name.split("/")
            rate = torch_rate(cell, x, y, args) if kind == "pytorch" else keras_rate(name, x, y, args)
            rates[name] = max(rates.get(name, 0.0), rate)
            print(f"  {name}: {rate:,.0f} samples/s", flush=True)
    kinds = [k for k in dict.fromkeys(v.split("/")[1] for v in variants)]
    print(f"\n{args.samples} samples x {args.seq} steps x {args.features} features, {args.units} units, "
          f"batch {args.batch}, "
          f"Adam, MSE; best of {args.epochs} epochs after a warm-up, x {args.reps} interleaved runs")
    print("| cell | " + " | ".join(kinds) + (" | pytorch | best seqlab / pytorch | best keras / pytorch |"
                                            if not args.no_torch else " |"))
    print("|---|" + "---|" * (len(kinds) + (3 if not args.no_torch else 0)))
    for cell in cells:
        row = [f"{rates[f'{cell}/{k}']:,.0f}" if f"{cell}/{k}" in rates else "-" for k in kinds]
        line = f"| {cell} | " + " | ".join(row)
        if not args.no_torch:
            torch_ = rates[f"{cell}/pytorch"]
            best = {side: max((r for n, r in rates.items() if n.startswith(f"{cell}/{side}")), default=None)
                    for side in ("seqlab", "keras")}
            line += f" | {torch_:,.0f} | " + " | ".join(
                f"{best[s] / torch_:.2f}" if best[s] else "-" for s in ("seqlab", "keras"))
        print(line + " |")


if __name__ == "__main__":
    main()
