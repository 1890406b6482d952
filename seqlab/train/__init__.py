"""Training: the shared path `run(cfg, run_dir) -> Result` and the trainers it dispatches to."""

from .errors import Diverged, Interrupted
from .result import Result
from .run import prepare, run

__all__ = ["Diverged", "Interrupted", "Result", "prepare", "run"]
