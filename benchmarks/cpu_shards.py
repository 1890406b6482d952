"""trainer.cpu_shards (one XLA program per CPU core, side by side) against one XLA program, on the presets.

    python benchmarks/cpu_shards.py                             # the default experiments below
    python benchmarks/cpu_shards.py --experiments adding_lstm --limit 4096 --reps 3

For each experiment the real config is composed (`experiment=NAME`), capped at `--limit` examples per split and
`--epochs` epochs (benchmarks/xla.py's `capped_run`), and trained three ways, in an order that rotates on every
repetition: `trainer.jit_compile=false` (Keras' own step), `trainer.jit_compile=true trainer.cpu_shards=1` (one
XLA program: seqlab's CPU default before cpu_shards) and `trainer.jit_compile=true trainer.cpu_shards=auto`
(one XLA program per core: the default now). Rates are of the fastest epoch after the first (the first traces
and compiles); the final training losses show that the three take the same steps.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from xla import capped_run, preset_args  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

DEFAULT = ["adding_lstm", "etth1_lstm", "adding_gru", "etth1_gru", "etth1_conv1d"]
SETTINGS = {
    "keras": ("trainer.jit_compile=false", "trainer.cpu_shards=1"),
    "xla": ("trainer.jit_compile=true", "trainer.cpu_shards=1"),
    "shards": ("trainer.jit_compile=true", "trainer.cpu_shards=auto"),
}


def measure(experiment: str, setting: str, args) -> tuple:
    """(fastest later epoch seconds, training examples, final loss, row groups) of one fresh run."""
    clock, result = capped_run(experiment, args.limit, args.epochs, *SETTINGS[setting])
    shards = result.metrics["cpu_shards"]
    if (setting == "shards") != (shards > 1):
        raise RuntimeError(f"{experiment}: {setting} ran with cpu_shards={shards}")
    return min(clock.seconds[1:]), result.metrics["examples"]["train"], result.history["loss"][-1], shards


def main() -> None:
    args = preset_args(__doc__, DEFAULT)
    names = list(SETTINGS)
    rows = []
    for name in args.experiments:
        best = {s: (float("inf"), 0, 0.0, 1) for s in names}
        for rep in range(args.reps):
            for setting in names[rep % 3:] + names[:rep % 3]:  # rotate: slow drifts in load hit all three alike
                epoch, n, loss, shards = measure(name, setting, args)
                best[setting] = min(best[setting], (epoch, n, loss, shards))
                print(f"  {name} {setting}: fastest later epoch {epoch:.2f} s ({n / epoch:.0f} samples/s), "
                      f"loss {loss:.5f}", flush=True)
        rows.append((name, best))
    print(f"\n{args.limit} examples per split, {args.epochs} epochs, fastest later epoch of {args.reps} runs each")
    print("| experiment | Keras step samples/s | one XLA program | cpu_shards=auto (groups) | shards / one XLA "
          "| shards / Keras | final train loss (Keras / XLA / shards) |")
    print("|---|---|---|---|---|---|---|")
    for name, best in rows:
        rate = {s: best[s][1] / best[s][0] for s in names}
        print(f"| {name} | {rate['keras']:.0f} | {rate['xla']:.0f} | {rate['shards']:.0f} ({best['shards'][3]}) "
              f"| {rate['shards'] / rate['xla']:.2f}x | {rate['shards'] / rate['keras']:.2f}x "
              f"| {best['keras'][2]:.5f} / {best['xla'][2]:.5f} / {best['shards'][2]:.5f} |")


if __name__ == "__main__":
    main()
