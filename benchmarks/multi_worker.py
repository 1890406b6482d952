"""Two multi-worker processes on 127.0.0.1 against one process on the same run: wall times and the weights check.

    python benchmarks/multi_worker.py [overrides ...]     # default: the tiny sine run of tests/test_distribute.py

Prints each wall time (start to exit, TensorFlow's start-up included), their ratio, and whether both workers
logged the same weights digest; the single-process run goes first, then the cluster, one after the other.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seqlab.config.cluster import local_workers

RUN = ["dataset=sine", "dataset.length=300", "dataset.input_len=12", "dataset.horizon=2", "model=gru",
       "model.units=4", "trainer.batch_size=20", "trainer.epochs=5", "trainer.verbose=2", "trainer=tape"]


def main(extra):
    out = Path(tempfile.mkdtemp(prefix="multi_worker_"))
    seqlab = [sys.executable, "-m", "seqlab", *RUN, *extra]
    t0 = time.monotonic()
    subprocess.run([*seqlab, f"hydra.run.dir={out / 'single'}"], check=True, timeout=900,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    single = time.monotonic() - t0
    workers = ",".join(local_workers(2))
    t0 = time.monotonic()
    procs = [subprocess.Popen([*seqlab, "trainer.distribute=multi_worker", f"trainer.cluster.workers=[{workers}]",
                               f"trainer.cluster.task_index={i}", f"hydra.run.dir={out / f'w{i}'}"],
                              stdout=open(out / f"w{i}.log", "w"), stderr=subprocess.STDOUT) for i in range(2)]
    codes = [p.wait(timeout=900) for p in procs]
    cluster = time.monotonic() - t0
    digests = [re.findall(r"weights sha256 ([0-9a-f]{64})", (out / f"w{i}.log").read_text()) for i in range(2)]
    print(f"single process: {single:.1f} s wall; 2 workers: {cluster:.1f} s wall (exit codes {codes}); "
          f"ratio {cluster / single:.2f}x")
    print(f"weights sha256: worker 0 {digests[0]}, worker 1 {digests[1]}: "
          f"{'identical' if digests[0] and digests[0] == digests[1] else 'DIFFERENT'}")
    print(f"run directories and logs: {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
