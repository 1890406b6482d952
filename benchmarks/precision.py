"""trainer.precision: float32 against mixed bf16 (and fp16), per model at the reference shapes and on presets.

    python benchmarks/precision.py                                  # every model + adding_lstm, etth1_lstm
    python benchmarks/precision.py --samples 2048 --limit 1024 --preset-epochs 3

Speed: every model (`simplernn`, `lstm`, `gru`, `conv1d`) on the reference data of benchmarks/cpu_throughput.py
(sequence 64, 8 features, 64 units / filters, batch 128), through seqlab's own path (`stages.prepare` +
`stages.fit`, `trainer.precision=...`, `trainer.jit_compile=false` and once more `true`), best of the timed
epochs after an untimed first one, the precisions interleaved in one process. Presets: `experiment=NAME` capped
at `--limit` examples per split and `--preset-epochs` epochs (no early stopping), once per precision: seconds
per later epoch and the final test metric (the preset's task metric: mse or accuracy).
"""

from __future__ import annotations

import argparse
import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cpu_throughput import measure  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from xla import capped_run  # noqa: E402

MODELS = ["simplernn", "lstm", "gru", "conv1d"]
PRESETS = ["adding_lstm", "etth1_lstm"]


def model_rates(models, precisions, jits, args) -> dict:
    """{(model, precision, jit): best samples/s}, the precisions interleaved within each model and repetition."""
    job = {"samples": args.samples, "seq": 64, "units": 64, "epochs": args.epochs}
    rates = {}
    for _ in range(args.reps):
        for model in models:
            for jit in jits:
                for precision in precisions:
                    rate = measure(model, {"precision": precision, "jit": jit}, job)
                    key = (model, precision, jit)
                    rates[key] = max(rates.get(key, 0.0), rate)
                    print(f"  {model} {precision} xla={jit}: {rate:,.0f} samples/s", flush=True)
    return rates


def preset_run(experiment: str, precision: str, args) -> dict:
    """One capped run of a preset: first-epoch and best later-epoch seconds, and the final test metric."""
    clock, result = capped_run(experiment, args.limit, args.preset_epochs, f"trainer.precision={precision}")
    metric = "mse" if "mse" in result.test else "accuracy"
    return {"first": clock.seconds[0], "epoch": min(clock.seconds[1:]), "metric": metric,
            "value": result.test[metric], "xla": bool(result.metrics["jit_compile"])}


def print_tables(rates, presets, precisions, jits, args) -> None:
    base = precisions[0]
    print(f"\nreference shapes: {args.samples} samples x 64 steps x 8 features, 64 units/filters, batch 128; "
          f"best of {args.epochs} epochs x {args.reps} runs")
    print("| model | XLA | " + " | ".join(f"{p} samples/s" for p in precisions) + " | "
          + " | ".join(f"{p} / {base}" for p in precisions[1:]) + " |")
    print("|---|---|" + "---|" * (2 * len(precisions) - 1))
    for model in dict.fromkeys(m for m, _, _ in rates):
        for jit in jits:
            r = [rates[model, p, jit] for p in precisions]
            print(f"| {model} | {'on' if jit else 'off'} | " + " | ".join(f"{v:,.0f}" for v in r) + " | "
                  + " | ".join(f"{v / r[0]:.2f}x" for v in r[1:]) + " |")
    if presets:
        print(f"\npresets: dataset.limit={args.limit}, {args.preset_epochs} epochs, no early stopping")
        print("| preset | precision | XLA | 1st epoch s | later epoch s | speed vs " + base + " | test metric |")
        print("|---|---|---|---|---|---|---|")
        for name, by_precision in presets.items():
            ref = by_precision[base]["epoch"]
            for p, r in by_precision.items():
                print(f"| {name} | {p} | {'on' if r['xla'] else 'off'} | {r['first']:.1f} | {r['epoch']:.2f} "
                      f"| {ref / r['epoch']:.2f}x | {r['metric']} {r['value']:.4f} |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--presets", nargs="*", default=PRESETS)
    p.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    p.add_argument("--xla", choices=["off", "on", "both"], default="both")
    p.add_argument("--samples", type=int, default=8192)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs per model run (the best counts)")
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--limit", type=int, default=2048, help="presets: examples per split")
    p.add_argument("--preset-epochs", type=int, default=4)
    args = p.parse_args(argv)
    logging.getLogger("seqlab").setLevel(logging.WARNING)
    jits = {"off": [False], "on": [True], "both": [False, True]}[args.xla]
    rates = model_rates(args.models, args.precisions, jits, args)
    presets = {}
    for name in args.presets:
        presets[name] = {}
        for precision in args.precisions:
            presets[name][precision] = r = preset_run(name, precision, args)
            print(f"  {name} {precision}: later epoch {r['epoch']:.2f} s, test {r['metric']} {r['value']:.4f}",
                  flush=True)
    print_tables(rates, presets, args.precisions, jits, args)


if __name__ == "__main__":
    main()
