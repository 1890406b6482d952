"""The one path from a composed config to a trained, evaluated model and its run outputs, stage by stage."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

from omegaconf import DictConfig

from .errors import Diverged, Interrupted, mark_stage
from .outcome import ON_COMPLETED, Outcome, failure, write_outcome
from .result import Result
from .stages import (
    XLA_MIN_STEPS,
    Prepared,
    compile_model,
    evaluate,
    fit,
    localize,
    make_callbacks,
    prepare,
    resolve_jit_compile,
    setup_tensorflow,
    trainer,
    trainers,
)

log = logging.getLogger(__name__)
STAGES = ("prepare", "callbacks", "fit", "evaluate", "outputs")  # what metrics.json's error.stage names

__all__ = ["ON_COMPLETED", "STAGES", "XLA_MIN_STEPS", "Prepared", "compile_model", "evaluate", "fit", "localize",
           "make_callbacks", "prepare", "resolve_jit_compile", "run", "setup_tensorflow", "trainer", "trainers",
           "write_outcome"]


class _Stage:
    """The stage a run is in; an exception leaving it is marked with the stage's name (errors.stage_of)."""

    def __init__(self):
        self.name = "start"

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.name = name
        try:
            yield
        except Exception as e:
            mark_stage(e, name)
            raise


def run(cfg: DictConfig, run_dir: Path, extra_callbacks: Optional[list] = None,
        on_start: Optional[Callable[[], None]] = None) -> Result:
    """Train and evaluate `cfg` in `run_dir`; writes metrics.json, history.csv, model.keras, tb/ and checkpoints/.

    A run directory that already holds checkpoints of the same config (or any, with `resume=true`) is continued
    from its last checkpoint. Raises `Diverged` on a NaN/Inf loss and `Interrupted` on SIGINT/SIGTERM, after
    writing metrics.json (and, when interrupted, a checkpoint); any other error writes metrics.json with
    `status: failed`, the error and its stage (`errors.stage_of(e)`), then propagates.

    Nothing is written before every start-up check has passed (data, model, checkpoint restored): then `on_start`
    runs (the CLI records `.hydra/`). A run refused before that in a directory holding an earlier run leaves the
    directory byte for byte as it was (only the log grows).
    """

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    earlier = holds_run(run_dir)
    started = []

    def start() -> None:
        if on_start is not None:
            on_start()
        if not (run_dir / ".hydra" / "config.yaml").exists():  # started from code (sweep trial): for `seqlab report`
            from .outputs import write_config_yaml

            write_config_yaml(run_dir / "config.yaml", cfg)
        started.append(True)

    stage = _Stage()
    outcome = Outcome("failed", cfg)
    try:
        with stage("prepare"):
            outcome.prepared = prepare(cfg)
        outcome.write = outcome.prepared.placement.chief  # multi_worker: the chief alone writes
        with stage("callbacks"):
            outcome.callbacks = make_callbacks(cfg, run_dir, outcome.prepared, extra_callbacks)
        with stage("fit"):
            ended = fit(outcome.prepared, cfg, outcome.callbacks, on_start=start)
        outcome.status, outcome.details = ended.status, ended.details
        if ended.status == "completed":
            with stage("evaluate"):
                outcome.prepared = localize(outcome.prepared, cfg)  # multi_worker: no collectives from here on
                outcome.test = evaluate(outcome.prepared.model, outcome.prepared.splits.test, cfg.trainer.batch_size)
        with stage("outputs"):
            metrics = write_outcome(run_dir, outcome)
    except Exception as e:
        if started or not earlier:
            _write_failed(run_dir, outcome, e, stage.name)
        else:
            log.error("refused in stage %s: %s: %s (the run directory %s is left as it was)", stage.name,
                      type(e).__name__, e, run_dir)
        raise
    if ended.status == "diverged":
        raise Diverged(run_dir, metrics)
    if ended.status == "interrupted":
        saver = outcome.callbacks.saver
        raise Interrupted(ended.signum, run_dir, saver.last_path, saver.last_epoch)
    return Result(run_dir=run_dir, metrics=metrics, history=outcome.callbacks.history.history,
                  model=outcome.prepared.model)


def holds_run(run_dir: Path) -> bool:
    """Whether `run_dir` holds an earlier run's results (its outcome, checkpoints or recorded config)."""
    names = ("metrics.json", "checkpoints", "config.yaml", ".hydra", "model.keras", "history.csv")
    return any((Path(run_dir) / name).exists() for name in names)


def _write_failed(run_dir: Path, outcome: Outcome, error: Exception, stage: str) -> None:
    """The failed outcome; a failure to write it is logged, never raised over the error that ended the run."""
    failed = Outcome("failed", outcome.cfg, outcome.prepared, outcome.callbacks, details=failure(error, stage),
                     write=outcome.write)
    log.error("run failed in stage %s: %s: %s", stage, type(error).__name__, error)
    try:
        write_outcome(run_dir, failed)
    except Exception as e:  # e.g. the disk is full: the original error matters more
        log.error("could not write the failed run's metrics.json: %s: %s", type(e).__name__, e)
