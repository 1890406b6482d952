"""On a GPU machine: training throughput of every model in float32 / bf16 / fp16, and the presets' epoch times.

    python benchmarks/gpu_check.py                       # on the GPU machine (a few minutes)
    python benchmarks/gpu_check.py --samples 512 --limit 256 --preset-epochs 2   # a tiny dry run on CPU

Prints which devices TensorFlow sees (a clear "no GPU" line on a CPU-only machine, where it still runs, on the
CPU), then benchmarks/precision.py's tables with the three precisions, the models without XLA
(`trainer.jit_compile=false`: Keras' cuDNN kernels for LSTM/GRU on a GPU) and the presets as configured.
"""

from __future__ import annotations

import argparse
import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from precision import MODELS, PRESETS, model_rates, preset_run, print_tables  # noqa: E402  (benchmarks/ on sys.path)


def devices_line() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "no GPU: TensorFlow sees only the CPU; these numbers are CPU numbers, not a GPU check"
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return f"GPU: {len(gpus)} x {', '.join(names)}"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=MODELS)
    p.add_argument("--presets", nargs="*", default=PRESETS + ["etth1_gru", "imdb_bilstm"])
    p.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16", "mixed_float16"])
    p.add_argument("--samples", type=int, default=8192)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--limit", type=int, default=4096)
    p.add_argument("--preset-epochs", type=int, default=3)
    args = p.parse_args(argv)
    args.reps = 1
    logging.getLogger("seqlab").setLevel(logging.WARNING)
    print(devices_line(), flush=True)
    rates = model_rates(args.models, args.precisions, [False], args)
    presets = {name: {pr: preset_run(name, pr, args) for pr in args.precisions} for name in args.presets}
    print_tables(rates, presets, args.precisions, [False], args)


if __name__ == "__main__":
    main()
