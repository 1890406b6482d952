"""The reference-shape random data of benchmarks/cpu_throughput.py as a `dataset=custom` loader (docs/EXTENDING.md).

x: (samples, steps, 8) standard normal; y: the sum of the last 5 steps of feature 0 (a regression target).
`dataset.params.samples` (default 8192) and `dataset.params.steps` (default 64) set the training split's size;
validation and test hold one batch of 128 each (the benchmark times the training steps only).
"""

from __future__ import annotations

import numpy as np

FEATURES = 8
HELD_OUT = 128  # examples in val and in test: from_arrays needs both, the benchmark does not time them


def load(cfg, seed: int) -> dict:
    """{"train" | "val" | "test": (x, y)} float32 arrays, the same for every seed (the benchmark compares options)."""
    n, steps = int(cfg.params.get("samples", 8192)), int(cfg.params.get("steps", 64))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n + 2 * HELD_OUT, steps, FEATURES)).astype("float32")  # (batch, time, features)
    y = x[:, -5:, 0].sum(axis=1, keepdims=True).astype("float32")  # (batch, 1)
    return {"train": (x[:n], y[:n]), "val": (x[n:n + HELD_OUT], y[n:n + HELD_OUT]),
            "test": (x[n + HELD_OUT:], y[n + HELD_OUT:])}
