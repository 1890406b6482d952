"""Training: the shared path `run(cfg, run_dir) -> Result`, its public stages and the trainers it dispatches to."""

from .errors import Diverged, Interrupted, stage_of
from .result import Result
from .run import evaluate, make_callbacks, prepare, run, write_outcome  # the fit stage: run.fit (train.fit: trainer)

__all__ = ["Diverged", "Interrupted", "Result", "evaluate", "make_callbacks", "prepare", "run", "stage_of",
           "write_outcome"]
