"""Throughput of trainer=tape relative to trainer=fit, measured side by side in one process.

    python benchmarks/tape_vs_fit.py                       # LSTM, GRU, Conv1D on the default sine data
    python benchmarks/tape_vs_fit.py --reps 5 --eager      # more repetitions; also time the un-compiled loop

Both trainers run through seqlab's one path (`seqlab.train.run`: the same data, model config and callback
list as a real run), with TensorBoard and checkpoints off and an epoch clock as an extra callback. The first
epoch of every run (tracing) is left out, and each repetition alternates which trainer goes first. Three
tape/fit throughput ratios are printed: of each trainer's fastest epoch (the one least disturbed by other load
on a shared CPU), the median over repetitions of the per-run median ratio (wall time), and of the median CPU
time per epoch (all threads of this process; the least sensitive to other processes). On a shared machine
only the ratios mean something, not the absolute speeds.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402  (after the log-level setting)


class EpochClock(keras.callbacks.Callback):
    """Records each epoch's wall time and the CPU time this process spent in it (all threads)."""

    def __init__(self):
        super().__init__()
        self.seconds, self.cpu_seconds = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0, self._c0 = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t0)
        self.cpu_seconds.append(time.process_time() - self._c0)


def epoch_seconds(overrides, trainer: str, eager: bool = False) -> tuple:
    """(wall, CPU) seconds of each epoch after the first, for one fresh `seqlab.train.run` of `trainer`."""
    from seqlab.config import compose
    from seqlab.train import run

    cfg = compose(overrides + [f"trainer={trainer}", f"trainer.eager={str(eager).lower()}"])
    clock = EpochClock()
    with tempfile.TemporaryDirectory() as run_dir:
        run(cfg, run_dir, extra_callbacks=[clock])
    return clock.seconds[1:], clock.cpu_seconds[1:]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["lstm", "gru", "conv1d"])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--epochs", type=int, default=4, help="per run; the first is left out")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None, help="dataset.limit (examples per split)")
    p.add_argument("--eager", action="store_true", help="also time trainer=tape trainer.eager=true (one epoch)")
    p.add_argument("overrides", nargs="*", help="extra config overrides, e.g. model.units=64")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)

    base = [f"trainer.epochs={args.epochs}", f"trainer.batch_size={args.batch_size}", "trainer.verbose=0",
            "trainer.tensorboard.enabled=false", "trainer.checkpoint.every=0"] + args.overrides
    if args.limit:
        base.append(f"dataset.limit={args.limit}")
    print(f"{'model':<8} {'fit samples/s':>14} {'tape samples/s':>15} {'tape/fit best':>14} "
          f"{'tape/fit median':>16} {'tape/fit CPU':>13}   median ratio per repetition")
    from seqlab import data
    from seqlab.config import compose

    n = len(data.load(compose(base).dataset)[0].train)  # training examples per epoch
    for name in args.models:
        overrides = [f"model={name}"] + base
        wall, cpu = {"fit": [], "tape": []}, {"fit": [], "tape": []}
        ratios = []
        for rep in range(args.reps):
            order = ("fit", "tape") if rep % 2 == 0 else ("tape", "fit")
            runs = {t: epoch_seconds(overrides, t) for t in order}
            for t in order:
                wall[t] += runs[t][0]
                cpu[t] += runs[t][1]
            ratios.append(statistics.median(runs["fit"][0]) / statistics.median(runs["tape"][0]))
        best = {t: n / min(ts) for t, ts in wall.items()}  # the least disturbed epoch of each trainer
        cpu_ratio = statistics.median(cpu["fit"]) / statistics.median(cpu["tape"])  # CPU time per epoch
        line = (f"{name:<8} {best['fit']:>14.0f} {best['tape']:>15.0f} {best['tape'] / best['fit']:>14.3f} "
                f"{statistics.median(ratios):>16.3f} {cpu_ratio:>13.3f}   {' '.join(f'{r:.3f}' for r in ratios)}")
        if args.eager:
            short = [o for o in overrides if not o.startswith("trainer.epochs=")] + ["trainer.epochs=2"]
            eager = n / min(epoch_seconds(short, "tape", eager=True)[0])  # one timed epoch: it is slow
            line += f"   eager tape/fit {eager / best['fit']:.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
