"""`seqlab export RUN_DIR --format saved_model|litert|onnx`: a run's model for TF Serving, LiteRT devices or ONNX
runtimes, each checked for parity against the Keras model on the run's saved test examples."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from ..config import ConfigError, config_error
from .export_lite import export_litert, export_onnx, litert_inputs, litert_runner, model_examples  # noqa: F401 (API)
from .export_serving import FORMATS, export_saved_model, raw_examples  # noqa: F401 (API)

log = logging.getLogger(__name__)


def latency_ms(run: Callable, example, repeats: int = 20) -> float:
    """Median wall time of one single-example call, after one warm-up call."""
    run(example)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(example)
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def export(run_dir: Path, fmt: str, output: Optional[Path] = None, tolerance: Optional[float] = None,
           overwrite: bool = False) -> Dict[str, object]:
    """Export the run, check parity on its saved test examples; returns path, size, max_abs_diff, latency.

    The export is written beside its place and renamed into it only when it succeeds (and, given `tolerance`,
    passes parity): a failed export leaves nothing behind. It never replaces a run's own files, nor an earlier
    export unless `overwrite`."""
    from .outputs import OWN_OUTPUTS

    if fmt not in FORMATS:
        raise config_error("--format", "an export format", fmt, list(FORMATS))
    default = {"saved_model": "saved_model", "litert": "model.tflite", "onnx": "model.onnx"}[fmt]
    own = Path(run_dir) / OWN_OUTPUTS
    made = not output and Path(run_dir).is_dir() and not own.exists()
    if made:
        own.mkdir()
    try:
        return _export_checked(run_dir, fmt, output or own / default, tolerance, overwrite)
    except BaseException:
        if made and not any(own.iterdir()):  # a failed export leaves no folder of its own behind either
            own.rmdir()
        raise


def _export_checked(run_dir, fmt: str, output: Path, tolerance: Optional[float], overwrite: bool) -> Dict[str, object]:
    from . import load
    from .export_bands import band_parity
    from .outputs import atomic_output, check_output

    path = check_output(output, "--output", run_dir=run_dir, overwrite=overwrite, directory=fmt == "saved_model")
    pred = load(run_dir)
    raw, expected = raw_examples(pred)
    with atomic_output(path) as tmp:
        if fmt == "saved_model":
            run, inputs = export_saved_model(pred, tmp), raw
        else:
            run = (export_litert if fmt == "litert" else export_onnx)(pred, tmp)
            inputs = litert_inputs(pred, raw) if fmt == "litert" else model_examples(pred)
        got = np.asarray(run(inputs)).reshape(expected.shape)
        diff = float(np.max(np.abs(got - expected)))
        if fmt == "saved_model":  # the forecast, quantiles and interval bounds it serves, in original units
            diff = max(diff, band_parity(pred, tmp, raw))
        if tolerance is not None and not diff <= tolerance:
            raise ParityFailed(diff, tolerance, len(expected))
        files = [tmp] if tmp.is_file() else [p for p in tmp.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        latency = latency_ms(run, tuple(v[:1] for v in inputs) if isinstance(inputs, tuple) else inputs[:1])
    return {"format": fmt, "path": str(path), "bytes": size, "max_abs_diff": diff, "examples": int(len(expected)),
            "latency_ms": latency}


class ParityFailed(RuntimeError):
    """The exported model's outputs differ from the Keras model's by more than the tolerance: nothing was kept."""

    def __init__(self, diff: float, tolerance: float, examples: int):
        self.diff, self.tolerance, self.examples = diff, tolerance, examples
        super().__init__(f"parity on {examples} test examples: max abs diff {diff:.2e} > tolerance {tolerance:g}")


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of `seqlab export`; returns the exit status (1 when parity fails)."""
    p = argparse.ArgumentParser(prog="seqlab export", description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--output", help="default: RUN_DIR/export/{saved_model,model.tflite,model.onnx}")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest max-abs difference that passes")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export at the same place")
    args = p.parse_args(argv)
    from .outputs import write_error

    try:
        res = export(args.run_dir, args.format, args.output, tolerance=args.tolerance, overwrite=args.overwrite)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ParityFailed as e:
        print(f"error: {args.format} export FAILED its {e}; nothing was written", file=sys.stderr)
        return 1
    except OSError as e:  # e.g. the disk filled up while writing: the temporary files are gone
        print(write_error(e, args.output or args.run_dir) + "; nothing was written", file=sys.stderr)
        return 1
    print(f"{res['format']}: {res['path']} ({res['bytes'] / 1024:,.1f} KiB)\n"
          f"  parity on {res['examples']} test examples: max abs diff {res['max_abs_diff']:.2e} "
          f"(ok, tolerance {args.tolerance:g})\n"
          f"  single-example latency {res['latency_ms']:.2f} ms")
    return 0
