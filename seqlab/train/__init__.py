"""Training: the shared path `run(cfg, run_dir) -> Result` and the trainers it dispatches to."""

from .result import Result
from .run import prepare, run

__all__ = ["Result", "prepare", "run"]
