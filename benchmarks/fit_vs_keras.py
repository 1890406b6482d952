"""seqlab `trainer=fit` vs a plain Keras `model.fit` on the identical model and tf.data pipeline.

Usage: python benchmarks/fit_vs_keras.py [--models lstm gru] [--epochs 4] [--repeats 2] [--length 64]
Data: the adding problem (T = --length, 2 features), batch 128, 64 units/filters: the shapes of the CPU
reference numbers in docs/results-history.md. Both sides train the same architecture from the same initial weights on
the same pipeline (`Split.dataset`), with validation every epoch and no progress bar; the first epoch (tracing)
is not timed. Ratio = seqlab samples/s / Keras samples/s (target >= 0.97). The seqlab side is seqlab's own
path (`stages.prepare`, `stages.make_callbacks`, `stages.fit`: trainer=fit with the run's whole callback list,
checkpoints off) with TensorBoard off, and once more with the TensorBoard review on to show that callback's
cost. The Keras side is the reference, not seqlab's path: a plain `model.fit` with one timing callback on the
model that `stages.prepare` compiled. Tape vs fit: see benchmarks/tape_vs_fit.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from tape_vs_fit import EpochClock  # benchmarks/ is on sys.path when run as a script

from seqlab.config import compose
from seqlab.train import stages


def config(model: str, args, tensorboard: bool):
    size = f"model.filters={args.units}" if model == "conv1d" else f"model.units={args.units}"
    return compose([f"model={model}", size, "dataset=adding", f"dataset.length={args.length}",
                    f"dataset.train_size={args.train_size}", "dataset.val_size=1024", "dataset.test_size=128",
                    f"trainer.batch_size={args.batch_size}", f"trainer.epochs={args.epochs}", "trainer.verbose=0",
                    f"trainer.tensorboard.enabled={str(tensorboard).lower()}", "trainer.checkpoint.every=0"])


def seqlab_fit(cfg, weights) -> float:
    """samples/s of seqlab's path (stages.prepare, make_callbacks, fit: trainer=fit and its callbacks), epochs 2..E."""
    prepared = stages.prepare(cfg)
    prepared.model.set_weights(weights)
    timer = EpochClock()
    with tempfile.TemporaryDirectory() as run_dir:
        ended = stages.fit(prepared, cfg, stages.make_callbacks(cfg, run_dir, prepared, [timer]))
    if ended.status != "completed":
        raise RuntimeError(f"{cfg.model.name}: training {ended.status}: {ended.details}")
    return len(prepared.splits.train) / statistics.median(timer.seconds[1:])


def keras_fit(cfg, weights) -> float:
    """The reference, not seqlab's path: samples/s of a bare model.fit on the same compiled model, pipeline and
    optimizer, over epochs 2..E."""
    splits, _, model = stages.prepare(cfg)  # compiled as seqlab compiles: same loss, metrics, optimizer
    model.set_weights(weights)
    bs, tcfg = cfg.trainer.batch_size, cfg.trainer
    train_ds = splits.train.dataset(bs, shuffle_seed=cfg.seed, epochs=tcfg.epochs)
    val_ds = splits.val.dataset(bs)
    timer = EpochClock()
    model.fit(train_ds, validation_data=val_ds, epochs=tcfg.epochs, steps_per_epoch=splits.train.steps(bs),
              callbacks=[timer], verbose=0, shuffle=False)
    return len(splits.train) / statistics.median(timer.seconds[1:])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["simplernn", "lstm", "gru", "conv1d"])
    ap.add_argument("--epochs", type=int, default=4, help="per measurement; the first is not timed")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved repeats; the best of each side counts")
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--train-size", type=int, default=8192)
    ap.add_argument("--no-tensorboard", action="store_true", help="skip the TensorBoard-on column")
    args = ap.parse_args(argv)

    rows = []
    for name in args.models:
        cfg = config(name, args, tensorboard=False)
        weights = stages.prepare(cfg).model.get_weights()  # one initialisation shared by every side
        runs = {"keras": [], "seqlab": [], "seqlab_tb": []}
        sides = {"keras": (keras_fit, cfg), "seqlab": (seqlab_fit, cfg)}
        if not args.no_tensorboard:
            sides["seqlab_tb"] = (seqlab_fit, config(name, args, tensorboard=True))
        for r in range(args.repeats):  # interleaved, order reversed every other repeat: load hits all sides alike
            for side in (list(sides) if r % 2 == 0 else list(sides)[::-1]):
                measure, side_cfg = sides[side]
                runs[side].append(measure(side_cfg, weights))
        best = {k: max(v) if v else float("nan") for k, v in runs.items()}
        rows.append((name, best))
        print(f"  {name}: {best}", flush=True)

    print(f"\nadding problem T={args.length}, batch {args.batch_size}, {args.units} units, "
          f"{args.train_size} samples/epoch; best of {args.repeats} interleaved runs")
    print(f"{'model':<10} {'keras fit/s':>12} {'seqlab fit/s':>13} {'ratio':>7} {'seqlab+TB/s':>12} {'ratio':>7}")
    for name, b in rows:
        print(f"{name:<10} {b['keras']:>12.0f} {b['seqlab']:>13.0f} {b['seqlab'] / b['keras']:>7.3f} "
              f"{b['seqlab_tb']:>12.0f} {b['seqlab_tb'] / b['keras']:>7.3f}")
    print("(samples/s; ratio = seqlab / keras, target >= 0.97 with TensorBoard off)")


if __name__ == "__main__":
    main()
