"""TensorFlow's start-up lines that say nothing on a machine without a GPU, filtered at the file-descriptor level.

TensorFlow's C++ runtime writes them to fd 2 while it loads (and `TF_CPP_MIN_LOG_LEVEL` no longer hides them in
TF 2.21): seqlab redirects fd 2 to a temporary file around `import tensorflow` and the first device query (which
is where `cuInit` fails), then writes back every line except exactly the known ones. With a GPU present nothing is
filtered: there the CUDA lines may matter.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from typing import Callable, Iterator, List

# each pattern names one known line; a line that matches none of them is passed through unchanged
NOISE = (
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"oneDNN custom operations are on\. ",
    r"Could not find cuda drivers on your machine, GPU will not be used",
    r"failed call to cuInit: ",
    r"Unable to register cu(DNN|FFT|BLAS) factory: ",
    r"computation placer already registered",
    r"TF-TRT Warning: Could not find TensorRT",
    r"This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations",
    r"^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.$",
)
_NOISE = re.compile("|".join(f"(?:{p})" for p in NOISE))
CUDA_ONLY = re.compile(r"cuda|cuInit|cuDNN|cuFFT|cuBLAS|TensorRT", re.IGNORECASE)


def keep(lines: List[str], gpu: bool) -> List[str]:
    """The lines to show: all of them, less the known noise (CUDA lines kept when a GPU is present)."""
    return [line for line in lines if not _NOISE.search(line) or (gpu and CUDA_ONLY.search(line))]


@contextlib.contextmanager
def filtered_stderr(gpu_present: Callable[[], bool]) -> Iterator[None]:
    """Capture fd 2 for the block, then write back what `keep` lets through (`gpu_present` is asked at the end)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to filter
        yield
        return
    gpu = False
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        os.dup2(capture.fileno(), 2)
        try:
            yield
            gpu = _safe(gpu_present)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            shown = keep(text.splitlines(keepends=True), gpu)
            if shown:
                sys.stderr.write("".join(shown))
                sys.stderr.flush()


def _safe(gpu_present: Callable[[], bool]) -> bool:
    try:
        return bool(gpu_present())
    except Exception:  # noqa: BLE001 - a failing query must not break the import: show everything
        return True


def gpus_present() -> bool:
    """Asks TensorFlow for GPUs: the first device query, where `failed call to cuInit` is written."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))
