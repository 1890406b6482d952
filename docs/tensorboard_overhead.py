"""Cost of the TensorBoard review: wall time per epoch with and without it, same config, runs interleaved.

    python docs/tensorboard_overhead.py                      # default run: LSTM-32 on sine, 6 epochs, 3 repeats
    python docs/tensorboard_overhead.py trainer=tape trainer.tensorboard.update_freq=10

Epoch time is measured by a callback placed after every other one (so it includes the review's own work at the
end of the epoch); the first epoch (tracing) is left out.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from seqlab.config import compose  # noqa: E402
from seqlab.train import run  # noqa: E402


class EpochWall(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends = []

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())


def epoch_seconds(overrides, enabled: bool) -> float:
    wall = EpochWall()
    cfg = compose(["trainer.epochs=6", "trainer.verbose=0", "trainer.checkpoint.every=0",
                   f"trainer.tensorboard.enabled={str(enabled).lower()}"] + overrides)
    with tempfile.TemporaryDirectory() as d:
        run(cfg, d, extra_callbacks=[wall])
    return statistics.median(b - a for a, b in zip(wall.ends, wall.ends[1:]))


def main(overrides) -> None:
    logging.basicConfig(level=logging.WARNING)
    on, off = [], []
    for _ in range(3):
        off.append(epoch_seconds(overrides, False))
        on.append(epoch_seconds(overrides, True))
    print(f"overrides: {' '.join(overrides) or '(defaults)'}")
    print(f"{'review':<8} {'median epoch s':>15} {'all repeats':>30}")
    for name, xs in (("off", off), ("on", on)):
        print(f"{name:<8} {statistics.median(xs):>15.3f} {', '.join(f'{x:.3f}' for x in xs):>30}")
    print(f"overhead: {100 * (statistics.median(on) / statistics.median(off) - 1):+.1f}% per epoch")


if __name__ == "__main__":
    main(sys.argv[1:])
