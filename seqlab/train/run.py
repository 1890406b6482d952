"""The one path from a composed config to a trained, evaluated model and its run outputs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from omegaconf import DictConfig

from ..config import validate
from .errors import Diverged, Interrupted
from .result import Result

log = logging.getLogger(__name__)


def setup_tensorflow(seed: int, deterministic: bool) -> None:
    """Seed every RNG (Python, NumPy, TF); with `deterministic`, also turn on TF op determinism."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:  # a deterministic run earlier in this process must not leak into this one (it also turns XLA off)
        from tensorflow.python.framework import config as tf_config  # the public API has no way back

        if tf_config.is_op_determinism_enabled():
            tf_config.disable_op_determinism()


XLA_MIN_STEPS = 1000  # auto uses XLA only for runs this long: compiling costs 2-5 s, paid back in ~500-1000 steps


def resolve_jit_compile(setting, model, deterministic: bool, train_steps: int):
    """trainer.jit_compile -> model.compile's jit_compile.

    `auto` means XLA on CPU-only machines, where Keras' own "auto" never uses it although it trains LSTM/GRU
    1.2-2.8x faster (benchmarks/xla.py), for runs of at least XLA_MIN_STEPS training steps (shorter ones do
    not earn back the compile time), except for models fed masked padding (text: measured no faster) and for
    inputs of open length (dataset.eval_sequence_length), which XLA would compile again for every length.
    On a GPU it means Keras' choice (cuDNN kernels for LSTM/GRU); never XLA with op determinism, which XLA lacks.
    """
    if isinstance(setting, bool):
        return setting
    import tensorflow as tf

    if deterministic:
        return False
    if tf.config.list_physical_devices("GPU"):
        return "auto"
    masked = any(getattr(layer, "mask_zero", False) for layer in model.layers)
    open_length = any(None in tuple(t.shape)[1:] for t in model.inputs)  # XLA would compile once per length
    return not masked and not open_length and train_steps >= XLA_MIN_STEPS


def compile_model(model, tcfg, spec, steps_per_epoch: int, deterministic: bool = False) -> None:
    """Loss and metrics follow from the data (never the user); optimizer and schedule from the trainer."""
    import keras

    from ..models import head_for
    from .optim import make_optimizer

    _, _, loss_name = head_for(spec)
    # loss classes (not the bare functions) reconcile (batch,) labels with (batch, 1) sigmoid outputs
    loss = {"mse": keras.losses.MeanSquaredError, "binary_crossentropy": keras.losses.BinaryCrossentropy,
            "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy}[loss_name]()
    if spec.task == "regression":
        metrics: List[Any] = [keras.metrics.MeanSquaredError(name="mse"), keras.metrics.MeanAbsoluteError(name="mae")]
    else:
        metrics = ["accuracy"]
    model.compile(optimizer=make_optimizer(tcfg, steps_per_epoch), loss=loss, metrics=metrics,
                  jit_compile=resolve_jit_compile(tcfg.get("jit_compile", "auto"), model, deterministic,
                                                  steps_per_epoch * tcfg.epochs))


def prepare(cfg: DictConfig):
    """Validate, seed, load data, build and compile the model: everything before the first step."""
    validate(cfg)
    from .. import data, models

    setup_tensorflow(cfg.seed, cfg.deterministic)
    splits, spec = data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)
    model = models.build(cfg.model, cfg.regularizer, spec)
    compile_model(model, cfg.trainer, spec, splits.train.steps(cfg.trainer.batch_size), cfg.deterministic)
    return splits, spec, model


def trainers() -> Dict[str, Callable]:
    """trainer name -> train(model, splits, tcfg, callbacks, seed, initial_epoch) -> history."""
    from . import fit, tape

    return {"fit": fit.train, "tape": tape.train}


def evaluate(model, split, batch_size: int) -> Dict[str, float]:
    """Test metrics under Keras names (loss, mse, mae / loss, accuracy), in inference mode."""
    res = model.evaluate(split.dataset(batch_size), verbose=0, return_dict=True)
    return {k: float(v) for k, v in res.items()}


def _describe(cfg: DictConfig, spec, splits, model, timer, history: Dict[str, List[float]]) -> Dict[str, Any]:
    """The metrics.json fields every run has, whatever its status."""
    val_loss = history.get("val_loss", [])
    n_train = len(splits.train)
    return {
        "task": spec.task,
        "dataset": spec.name,
        "model": cfg.model.name,
        "trainer": cfg.trainer.name,
        "params": int(model.count_params()),
        "jit_compile": bool(model.jit_compile),  # whether the train/eval steps ran through XLA
        "epochs": len(history.get("loss", [])),
        "best_epoch": int(min(range(len(val_loss)), key=val_loss.__getitem__)) + 1 if val_loss else None,
        "final": {k: v[-1] for k, v in history.items() if v},
        "train_seconds": round(timer.seconds, 3),
        "samples_per_second": round(n_train * timer.epochs_run / timer.seconds, 1) if timer.seconds else None,
        "examples": {"train": n_train, "val": len(splits.val), "test": len(splits.test)},
        "data": splits.info,
        "seed": cfg.seed,
    }


def run(cfg: DictConfig, run_dir: Path, extra_callbacks: Optional[list] = None) -> Result:
    """Train and evaluate `cfg` in `run_dir`; writes metrics.json, history.csv, model.keras, tb/ and checkpoints/.

    A run directory that already holds checkpoints of the same config (or any, with `resume=true`) is continued
    from its last checkpoint. Raises `Diverged` on a NaN/Inf loss and `Interrupted` on SIGINT/SIGTERM, after
    writing metrics.json (and, when interrupted, a checkpoint).
    """
    import keras
    import tensorflow as tf

    from .callbacks import build_callbacks, on_run_end
    from .checkpoint import (
        Checkpointer,
        CheckpointStore,
        comparable_config,
        interrupts_raise,
        replay_end,
        restore_model,
        resume_state,
    )
    from .diagnose import DivergenceGuard, NonFiniteLoss, check_data, diagnose_curves, diagnose_divergence
    from .outputs import save_model, write_config_yaml, write_history_csv, write_json

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (run_dir / ".hydra" / "config.yaml").exists():  # started from code (sweep trial): for `seqlab report`
        write_config_yaml(run_dir / "config.yaml", cfg)
    splits, spec, model = prepare(cfg)
    tcfg = cfg.trainer
    log.info("data %s: %d train / %d val / %d test examples, task %s, input %s",
             spec.name, len(splits.train), len(splits.val), len(splits.test), spec.task, spec.input_shape)
    log.info("model %s: %s parameters", model.name, f"{model.count_params():,}")

    store = CheckpointStore(run_dir / "checkpoints", keep=tcfg.checkpoint.keep)
    state = resume_state(cfg, store)
    history = keras.callbacks.History()
    callbacks = build_callbacks(cfg, run_dir, model, splits, extra_callbacks)
    timer = callbacks[0]
    saver = Checkpointer(store, tcfg.checkpoint.every, tcfg.epochs, callbacks, history, comparable_config(cfg), state)
    guard = DivergenceGuard()
    # after the shared callbacks: the saver sees early stopping's decision and the epoch's history
    callbacks = callbacks + [history, guard, saver]
    initial_epoch = 0
    if state is not None:
        restore_model(state, model)
        history.history = {k: list(v) for k, v in state.history.items()}
        initial_epoch = state.epoch

    try:
        with interrupts_raise():
            if state is not None and (state.stopped or state.epoch >= tcfg.epochs):
                log.info("training had ended after epoch %d: evaluating it again", state.epoch)
                replay_end(state, model, callbacks)
            else:
                trainers()[tcfg.name](model, splits, tcfg, callbacks, seed=cfg.seed, initial_epoch=initial_epoch)
    except (NonFiniteLoss, tf.errors.InvalidArgumentError) as e:
        problems = check_data(splits, spec)
        if isinstance(e, tf.errors.InvalidArgumentError) and not problems:
            raise  # not the data's fault: a genuine error
        where = e.where if isinstance(e, NonFiniteLoss) else {  # e.g. a label beyond the classes, on CPU
            "epoch": guard.epoch + 1, "batch": None, "step": int(model.optimizer.iterations), "metric": "loss",
            "loss": float("nan"), "error": str(e).splitlines()[0][:300], "losses": guard.losses}
        diagnosis = diagnose_divergence(where, problems, tcfg, splits.train.steps(tcfg.batch_size))
        where.pop("losses", None)
        metrics = {"status": "diverged", "diverged": where, "diagnosis": diagnosis,
                   **_describe(cfg, spec, splits, model, timer, history.history)}
        log.error("training diverged at epoch %s (step %s): %s", where["epoch"], where["step"], diagnosis["message"])
        write_history_csv(run_dir / "history.csv", history.history)
        on_run_end(callbacks, metrics)
        write_json(run_dir / "metrics.json", metrics)
        raise Diverged(run_dir, metrics) from None
    except Interrupted as e:
        path = saver.flush()
        metrics = {"status": "interrupted", "signal": e.signal_name, "checkpoint": str(path) if path else None,
                   **_describe(cfg, spec, splits, model, timer, history.history)}
        write_history_csv(run_dir / "history.csv", history.history)
        write_json(run_dir / "metrics.json", metrics)
        log.warning("%s: checkpoint %s (epoch %d)", e, path, saver.last_epoch)
        raise Interrupted(e.signum, run_dir, path, saver.last_epoch) from None

    test = evaluate(model, splits.test, tcfg.batch_size)
    metrics: Dict[str, Any] = {
        "status": "completed",
        "test": test,
        "baseline": splits.baseline(),
        "baseline_name": splits.baseline_name,
        **_describe(cfg, spec, splits, model, timer, history.history),
        "diagnosis": diagnose_curves(history.history.get("loss", []), history.history.get("val_loss")),
    }
    write_history_csv(run_dir / "history.csv", history.history)
    save_model(run_dir / "model.keras", model)
    on_run_end(callbacks, metrics)  # final test metrics and status to TensorBoard HParams
    write_json(run_dir / "metrics.json", metrics)
    return Result(run_dir=run_dir, metrics=metrics, history=history.history, model=model)
