"""Command line: `python -m seqlab [group=option ...] [key=value ...]`; composes, validates, runs, summarises."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from functools import partial
from pathlib import Path
from typing import List, NoReturn, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from .config import GROUPS, ConfigError, conf_dir, options, register, validate
from .config.store import describe_option

log = logging.getLogger("seqlab")
EXIT_RUN_DIR, EXIT_CONFIG, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 2, 3, 130

# the one list of subcommands: `seqlab NAME ...` runs main(argv) at the import path; --help lists them from here
SUBCOMMANDS = {
    "report": ("seqlab.report:main", "DIR", "table of every run under DIR"),
    "compare": ("seqlab.compare:main", "DIR --by KEY", "which group of runs is better over seeds, and how sure"),
    "predict": ("seqlab.inference.predict_cli:main", "RUN_DIR INPUT", "predictions of a trained run on new data"),
    "export": ("seqlab.inference.export:main", "RUN_DIR --format F", "the trained model as a SavedModel / LiteRT file"),
    "backtest": ("seqlab.backtest.cli:main", "RUN_DIR [--refit K]", "rolling-origin evaluation of a forecasting run"),
}

KEYS_HELP = """\
Common keys (full list: python -m seqlab --cfg job):
  dataset.limit=N            cap examples per split (quick looks, smoke tests)
  dataset.input_len / dataset.horizon / dataset.targets=[a,b] / dataset.path=FILE   (time series)
  dataset.max_tokens / dataset.sequence_length / dataset.text_column / dataset.label_column  (text)
  model.units / model.layers / model.bidirectional / model.pooling=last|average|max / model.embedding_dim
  model.filters / model.kernel_size / model.padding=causal|same|valid / model.dilated / model.batch_norm  (conv1d)
  model.filters_per_layer=[128,256,128] / model.kernel_size_per_layer=[8,5,3]  (conv1d, one per layer)
  regularizer.l2 / regularizer.dropout / regularizer.recurrent_dropout
  trainer.epochs / trainer.batch_size / trainer.batch_fraction / trainer.optimizer={optimizers} / trainer.lr
  trainer.lr_schedule={schedules} / trainer.clipnorm / trainer.patience
  seed / deterministic / resume / data_dir  (default $SEQLAB_DATA_DIR)
  hydra.run.dir=DIR          where a run's outputs go (default outputs/<date>/<time>)
"""


def help_text() -> str:
    from .registry import registry

    lines = ["seqlab: train and compare SimpleRNN / LSTM / GRU / Conv1D models on time series and text.", "",
             "Usage: python -m seqlab [group=option ...] [key=value ...]",
             "       python -m seqlab -m sweep=lr [...]      Keras Tuner sweep (results under sweeps/)",
             "       python -m seqlab --cfg job [...]        print the composed config and exit",
             "       seqlab --version                        seqlab's version"]
    lines += [f"       {f'seqlab {name} {args}':<40}{what}" for name, (_, args, what) in SUBCOMMANDS.items()]
    lines += ["", "Config groups (defaults marked *):"]
    defaults = {"dataset": "sine", "model": "lstm", "regularizer": "none", "trainer": "fit", "sweep": "none"}
    for group in GROUPS + ("experiment",):
        lines.append(f"  {group}:")
        # the registered options (model=custom, dataset=custom included); experiments are YAML presets only
        names = options(group) if group == "experiment" else registry(group).names()
        for name in names:
            star = "*" if defaults.get(group) == name else " "
            desc = describe_option(group, name)
            lines.append(f"   {star}{name:<22} {desc}".rstrip())
    from .config.schema import LR_SCHEDULES, OPTIMIZERS

    keys = KEYS_HELP.format(optimizers="|".join(OPTIMIZERS), schedules="|".join(LR_SCHEDULES))
    lines += ["", keys, "Hydra's own options: python -m seqlab --hydra-help"]
    return "\n".join(lines)


def interrupted_text(e, out_dir: Path) -> str:
    """What to print on SIGINT/SIGTERM: the checkpoint and the command that resumes from it."""
    from hydra.core.hydra_config import HydraConfig

    if e.checkpoint is None:
        return f"\n{e} before the first checkpoint: nothing to resume (run directory {out_dir})"
    args = [a for a in HydraConfig.get().overrides.task if not a.startswith("resume=")]
    cmd = shlex.join(["python", "-m", "seqlab", *args, f"hydra.run.dir={out_dir}"])
    return (f"\n{e} after epoch {e.epoch}: checkpoint saved to {e.checkpoint}\n"
            f"  resume with: {cmd}")


def _to_log_file(text: str) -> None:
    """`text` into the job's log file (`<run dir>/cli.log`) only, if one is open: the console gets it once."""
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, text.strip(), None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def fail(message: str, code: int) -> NoReturn:
    """Exit with `message` on stderr (no traceback) and in the job's log file, if one is open."""
    _to_log_file(message)
    print(message, file=sys.stderr)
    sys.exit(code)


def path_error(e: OSError, run_dir: object) -> str:
    """One line for an OSError on a path: a read-only run directory, a file where a directory should be, ..."""
    hint = {NotADirectoryError: " (a file is in the way)", FileExistsError: " (a file, not a directory)"}
    where = f" ({e.filename})" if e.filename and str(e.filename) != str(run_dir) else ""
    return f"error: cannot use the run directory {run_dir}: {e.strerror or e}{where}{hint.get(type(e), '')}"


class RunDirGuard(Callback):
    """Hydra callback (conf/config.yaml hydra.callbacks): before Hydra touches a single run's directory, create
    it and lock it, so a second process on the same directory stops at once and a bad path costs one line."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        from . import rundir

        run_dir = "hydra.run.dir"
        try:
            run_dir = Path(str(OmegaConf.select(config, "hydra.run.dir")))  # seqlab_unique creates the default
            run_dir.mkdir(parents=True, exist_ok=True)
            rundir.lock(run_dir, shlex.join(["python", "-m", "seqlab", *sys.argv[1:]]))
        except rundir.RunDirBusy as e:
            fail(f"error: {e}", EXIT_RUN_DIR)
        except Exception as e:  # noqa: BLE001 - OmegaConf wraps the resolver's OSError
            cause = e if isinstance(e, OSError) else e.__cause__
            if not isinstance(cause, OSError):
                raise
            fail(path_error(cause, run_dir), EXIT_RUN_DIR)


def task(cfg: DictConfig) -> None:
    """Hydra task function: one training run, or one sweep when `sweep` is set."""
    from hydra.core.hydra_config import HydraConfig

    from . import rundir
    from .train.console import diverged_text, summary
    from .train.errors import Diverged, Interrupted

    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    training = {"started": False, "interrupted": False}
    _remember_interrupts(training)
    try:
        validate(cfg)  # before TensorFlow is imported: a typo costs no start-up time
        sweeping = cfg.sweep.name != "none"
        # Hydra writes no .hydra/ (output_subdir: null): a refused re-run must leave the recorded config alone
        record = partial(rundir.record, out_dir, cfg, hydra_cfg, list(hydra_cfg.overrides.task))
        if sweeping:
            from .tune import sweep

            if not rundir.keeps_recorded_config(out_dir, cfg, sweeping):
                record()

            outcome = sweep.run_sweep(cfg, out_dir, overrides=list(hydra_cfg.overrides.task))
            print(outcome.table())
            if outcome.all_failed:
                fail("error: every trial failed:\n  " + "\n  ".join(outcome.reasons()), 1)
            return
        from .train import run

        # .hydra/ is recorded once every start-up check has passed: a refused run changes no byte of the directory
        result = run(cfg, out_dir, extra_callbacks=[_start_flag(training)],
                     on_start=partial(_started, training, record))
    except ConfigError as e:
        fail(f"error: {e}", EXIT_CONFIG)
    except Diverged as e:
        fail(diverged_text(e), EXIT_DIVERGED)
    except Interrupted as e:
        fail(interrupted_text(e, out_dir), e.exit_code)
    except KeyboardInterrupt:
        when = "after training, while writing the outputs" if training["started"] else "during start-up"
        fail(f"error: interrupted {when} (run directory {out_dir})", EXIT_INTERRUPTED)
    except OSError as e:  # a path problem (read-only, full, a file in the way) takes one line
        if e.filename is None:
            _failed(e, out_dir)
        fail(path_error(e, out_dir), EXIT_RUN_DIR)
    except Exception as e:  # noqa: BLE001 - any other error: one line here, the traceback in cli.log
        _failed(e, out_dir)
    print(summary(result))


def _failed(e: Exception, out_dir: Path) -> NoReturn:
    """An unexpected error (a bug in a builder or loader, a framework error): the traceback goes to cli.log,
    the console gets one line naming the stage; metrics.json already says `status: failed`."""
    import traceback

    from .train.errors import stage_of

    _to_log_file("".join(traceback.format_exception(type(e), e, e.__traceback__)))
    stage = stage_of(e)
    where = f" in stage {stage}" if stage else ""
    recorded = "; metrics.json has status: failed" if (out_dir / "metrics.json").is_file() else ""
    fail(f"error: the run failed{where}: {type(e).__name__}: {e} (traceback in {out_dir / 'cli.log'}{recorded})", 1)


def _started(state: dict, record) -> None:
    """Start-up is over: stop here if a Ctrl-C during it was swallowed on the way, else record the config."""
    if state["interrupted"]:
        raise KeyboardInterrupt
    record()


def _remember_interrupts(state: dict) -> None:
    """SIGINT raises KeyboardInterrupt as Python's default does, and is also remembered in `state`: native code that
    swallows the exception while it loads (a Ctrl-C landing in TensorFlow's import) must not make it vanish."""
    import signal

    def handler(signum, frame):
        state["interrupted"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)


def _start_flag(state: dict):
    """A Keras callback that records in `state` that training has begun (Ctrl-C before it is start-up), and stops
    the run there if a Ctrl-C during start-up was swallowed on the way."""
    import keras

    class StartFlag(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if state["interrupted"]:
                raise KeyboardInterrupt
            state["started"] = True

    return StartFlag()


def _unknown_override(argv: List[str]) -> Optional[str]:
    """A `key=value` whose key no schema of seqlab has (a typo), answered before Hydra's `+key` advice."""
    from .config.keys import unknown_override
    from .registry import registry

    return unknown_override(argv, {g: [e.schema for e in registry(g)] for g in GROUPS})


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of `seqlab` and `python -m seqlab`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter (predict, export too)
    if argv and argv[0] in SUBCOMMANDS:
        from .registry import import_target

        sys.exit(import_target(SUBCOMMANDS[argv[0]][0], f"seqlab {argv[0]}")(argv[1:]))
    if "--version" in argv or "-V" in argv:
        from . import __version__

        print(f"seqlab {__version__}")
        return
    if "--help" in argv or "-h" in argv:
        print(help_text())
        return
    try:
        register()
        typo = _unknown_override(argv)
        if typo:
            fail(f"error: {typo}", EXIT_CONFIG)
        import hydra

        from .rundir import unique_dir

        # hydra.run.dir's default: outputs/<date>/<time>, or <time>-1, -2, ... when another run claimed it
        OmegaConf.register_new_resolver("seqlab_unique", unique_dir, replace=True)
        sys.argv = [sys.argv[0]] + argv
        hydra.main(config_path=conf_dir(), config_name="config", version_base="1.3")(task)()
    except KeyboardInterrupt:  # Ctrl-C while Hydra composes or Python imports: no traceback
        print("error: interrupted during start-up", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
