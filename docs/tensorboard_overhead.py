"""Cost of the TensorBoard review: wall time per epoch with and without it, same config, runs interleaved.

    python docs/tensorboard_overhead.py                      # default run: LSTM-32 on sine, 6 epochs, 3 repeats
    python docs/tensorboard_overhead.py trainer=tape trainer.tensorboard.update_freq=10

Epoch time is measured by a callback placed after every other one (so it includes the review's own work at the
end of the epoch); the first epoch (tracing) is left out. Both wall time and process CPU time (all threads) are
shown: on a busy machine the CPU time is the steadier of the two.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from seqlab.config import compose
from seqlab.train import run


class EpochWall(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends = []

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append((time.perf_counter(), time.process_time()))


def epoch_seconds(overrides, enabled: bool):
    """Median (wall, CPU) seconds per epoch, epochs 2.. of one run."""
    clock = EpochWall()
    cfg = compose(["trainer.epochs=6", "trainer.verbose=0", "trainer.checkpoint.every=0",
                   f"trainer.tensorboard.enabled={str(enabled).lower()}"] + overrides)
    with tempfile.TemporaryDirectory() as d:
        run(cfg, d, extra_callbacks=[clock])
    pairs = list(zip(clock.ends, clock.ends[1:]))
    return (statistics.median(b[0] - a[0] for a, b in pairs), statistics.median(b[1] - a[1] for a, b in pairs))


def main(overrides, repeats: int = 3) -> None:
    logging.basicConfig(level=logging.WARNING)
    res = {"off": [], "on": []}
    for _ in range(repeats):
        res["off"].append(epoch_seconds(overrides, False))
        res["on"].append(epoch_seconds(overrides, True))
    print(f"overrides: {' '.join(overrides) or '(defaults)'}; median over {repeats} interleaved repeats")
    print(f"{'review':<7} {'wall s/epoch':>13} {'CPU s/epoch':>12}   repeats (wall / CPU)")
    med = {}
    for name, xs in res.items():
        med[name] = [statistics.median(x[i] for x in xs) for i in (0, 1)]
        reps = ", ".join(f"{w:.3f}/{c:.3f}" for w, c in xs)
        print(f"{name:<7} {med[name][0]:>13.3f} {med[name][1]:>12.3f}   {reps}")
    print(f"overhead: wall {100 * (med['on'][0] / med['off'][0] - 1):+.1f}%, "
          f"CPU {100 * (med['on'][1] / med['off'][1] - 1):+.1f}% per epoch")


if __name__ == "__main__":
    main(sys.argv[1:])
