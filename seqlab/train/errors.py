"""The two ways a run ends early, as exceptions that carry what the caller needs (no TensorFlow here)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Dict, Optional


class Diverged(RuntimeError):
    """The loss became NaN/Inf (or the data made training fail); metrics.json says `status: "diverged"`."""

    def __init__(self, run_dir: Path, metrics: Dict[str, Any]):
        self.run_dir = Path(run_dir)
        self.metrics = metrics
        self.diagnosis: Dict[str, Any] = metrics.get("diagnosis", {})
        where = metrics.get("diverged", {})
        super().__init__(f"training diverged at epoch {where.get('epoch')}, batch {where.get('batch')} "
                         f"(loss {where.get('loss')}): {self.diagnosis.get('message', '')}")


class Interrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM during training; a KeyboardInterrupt, so `except Exception` (a tuner's) won't swallow it."""

    def __init__(self, signum: int, run_dir: Optional[Path] = None, checkpoint: Optional[Path] = None,
                 epoch: Optional[int] = None):
        self.signum = int(signum)
        self.run_dir = run_dir
        self.checkpoint = checkpoint  # the checkpoint a resumed run continues from; None when there is none
        self.epoch = epoch  # epochs completed in that checkpoint
        super().__init__(f"interrupted by {self.signal_name}")

    @property
    def signal_name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def mark_stage(error: BaseException, stage: str) -> None:
    """Record in which stage of a run (`train.run.STAGES`) `error` was raised; the innermost stage wins."""
    if stage_of(error) is None:
        error.seqlab_stage = stage  # type: ignore[attr-defined]


def stage_of(error: BaseException) -> Optional[str]:
    """The stage of a run `error` came from (prepare, callbacks, fit, evaluate, outputs); None: not from a run."""
    return getattr(error, "seqlab_stage", None)
