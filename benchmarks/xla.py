"""XLA (`trainer.jit_compile=true`) against no XLA, on the presets' own models and input shapes, side by side.

    python benchmarks/xla.py                                    # the default experiments below
    python benchmarks/xla.py --experiments imdb_bilstm --limit 1024 --reps 3

For each experiment the real config is composed (`experiment=NAME`), capped at `--limit` examples per split
(`dataset.limit`) and trained for `--epochs` epochs, once with `trainer.jit_compile=false` and once with
`true`, alternating which goes first on every repetition. The first epoch (tracing, and for XLA compiling) is
timed apart: it is the one-off cost, reported as `compile s`. Ratios are of the fastest later epoch of each
setting (the one least disturbed by other load on a shared CPU). Each run is `seqlab.train.run` with an epoch
clock as an extra callback; TensorBoard and checkpoints are off.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tape_vs_fit import EpochClock  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

DEFAULT = ["adding_lstm", "adding_gru", "etth1_lstm", "etth1_gru", "etth1_conv1d", "imdb_bilstm"]


def capped_run(experiment: str, limit: int, epochs: int, *overrides: str) -> tuple:
    """(epoch clock, result) of one fresh run of a preset capped at `limit` examples per split and `epochs` epochs,
    without early stopping, TensorBoard or checkpoints (benchmarks/precision.py uses it too)."""
    from seqlab.config import compose
    from seqlab.train import run

    cfg = compose([f"experiment={experiment}", f"dataset.limit={limit}", f"trainer.epochs={epochs}",
                   "trainer.patience=null", "trainer.verbose=0", *overrides,
                   "trainer.tensorboard.enabled=false", "trainer.checkpoint.every=0"])
    clock = EpochClock()
    with tempfile.TemporaryDirectory() as run_dir:
        result = run(cfg, run_dir, extra_callbacks=[clock])
    return clock, result


def measure(experiment: str, jit: bool, args) -> tuple:
    """(first-epoch seconds, fastest later epoch seconds, training examples, final loss) of one fresh run."""
    # one XLA program against none (benchmarks/cpu_shards.py measures one program per core against one)
    clock, result = capped_run(experiment, args.limit, args.epochs, f"trainer.jit_compile={str(jit).lower()}",
                               "trainer.cpu_shards=1")
    if bool(result.model.jit_compile) != jit:
        raise RuntimeError(f"{experiment}: asked for jit_compile={jit}, the model has {result.model.jit_compile}")
    return clock.seconds[0], min(clock.seconds[1:]), result.metrics["examples"]["train"], result.history["loss"][-1]


def preset_args(doc: str, experiments: list) -> argparse.Namespace:
    """The command line of a capped-preset comparison (this script, benchmarks/cpu_shards.py), parsed; seqlab's
    own log lines are quietened so the per-run lines stay readable."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--experiments", nargs="+", default=experiments)
    p.add_argument("--limit", type=int, default=2048, help="examples per split (dataset.limit)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per run; the first (tracing, compiling) is not "
                   "among the compared epochs")
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args()
    logging.getLogger("seqlab").setLevel(logging.WARNING)
    return args


def main() -> None:
    args = preset_args(__doc__, DEFAULT)
    rows = []
    for name in args.experiments:
        best = {False: [float("inf"), float("inf"), 0, 0.0], True: [float("inf"), float("inf"), 0, 0.0]}
        for rep in range(args.reps):
            for jit in ((False, True) if rep % 2 == 0 else (True, False)):
                first, epoch, n, loss = measure(name, jit, args)
                b = best[jit]
                best[jit] = [min(b[0], first), min(b[1], epoch), n, loss]
                print(f"  {name} jit={jit}: first epoch {first:.1f} s, fastest later epoch {epoch:.2f} s "
                      f"({n / epoch:.0f} samples/s), loss {loss:.4f}", flush=True)
        off, on = best[False], best[True]
        rows.append((name, off[2] / off[1], on[2] / on[1], off[1] / on[1], off[0], on[0], off[3], on[3]))
    print(f"\n{args.limit} examples per split, {args.epochs} epochs, best of {args.reps} runs each")
    print("| experiment | no XLA samples/s | XLA samples/s | XLA speed-up | 1st epoch s (no XLA / XLA) "
          "| final train loss (no XLA / XLA) |")
    print("|---|---|---|---|---|---|")
    for name, r_off, r_on, ratio, f_off, f_on, l_off, l_on in rows:
        print(f"| {name} | {r_off:.0f} | {r_on:.0f} | {ratio:.2f}x | {f_off:.1f} / {f_on:.1f} "
              f"| {l_off:.4f} / {l_on:.4f} |")


if __name__ == "__main__":
    main()
