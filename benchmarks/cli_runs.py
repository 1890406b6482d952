"""One `python -m seqlab ...` run for a benchmark: its metrics.json and the wall time of the whole command."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def run_cli(overrides: list, run_dir: Path, timeout: float = 3600) -> dict:
    """metrics.json of `python -m seqlab <overrides> hydra.run.dir=<run_dir>` plus `wall` (s, start-up included);
    exits with the command's stderr tail when it fails."""
    cmd = [sys.executable, "-m", "seqlab", *overrides, f"hydra.run.dir={run_dir}"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    return {**json.loads((Path(run_dir) / "metrics.json").read_text()), "wall": wall}
