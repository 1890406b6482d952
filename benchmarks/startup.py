"""Start-up time: `python -m seqlab --help` and `--cfg job` (no TensorFlow on those paths) vs a bare TF import.

Usage: python benchmarks/startup.py [--repeats N]
Each command runs as a fresh subprocess, interleaved, N times; the table shows the median wall time and its
ratio to `import tensorflow`. Target: --help and --cfg job < 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -m seqlab --help": [sys.executable, "-m", "seqlab", "--help"],
    "python -m seqlab --cfg job": [sys.executable, "-m", "seqlab", "--cfg", "job"],
    "python -m seqlab experiment=etth1_lstm --cfg job": [sys.executable, "-m", "seqlab", "experiment=etth1_lstm",
                                                         "--cfg", "job"],
    "python -c 'import tensorflow'": [sys.executable, "-c", "import tensorflow"],
}
REFERENCE = "python -c 'import tensorflow'"


def time_once(cmd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def tf_imported(cmd) -> bool:
    """Whether the command's process imported TensorFlow (checked by running it with -X importtime)."""
    res = subprocess.run([cmd[0], "-X", "importtime"] + cmd[1:], capture_output=True, text=True, check=False)
    return any(line.rstrip().endswith("| tensorflow") for line in res.stderr.splitlines())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    times = {name: [] for name in COMMANDS}
    for cmd in COMMANDS.values():  # warm the file cache once
        time_once(cmd)
    for _ in range(args.repeats):  # interleaved, so load on a shared machine hits every command alike
        for name, cmd in COMMANDS.items():
            times[name].append(time_once(cmd))
    ref, bare = statistics.median(times[REFERENCE]), statistics.median(times["python -c pass"])
    print(f"{'command':<52} {'median s':>9} {'min s':>7} {'vs import tf':>13} {'vs python':>10} {'imports tf':>11}")
    for name, cmd in COMMANDS.items():
        med = statistics.median(times[name])
        print(f"{name:<52} {med:>9.3f} {min(times[name]):>7.3f} {med / ref:>12.2f}x {med / bare:>9.1f}x "
              f"{tf_imported(cmd)!s:>11}")
    print(f"({args.repeats} interleaved runs each; target: seqlab --help and --cfg job < 1 s; 'vs python' is the "
          "ratio to a bare interpreter start, which shows the load on a shared machine)")


if __name__ == "__main__":
    main()
