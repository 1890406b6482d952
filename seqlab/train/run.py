"""The one path from a composed config to a trained, evaluated model and its run outputs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from omegaconf import DictConfig

from ..config import validate
from .result import Result

log = logging.getLogger(__name__)


def setup_tensorflow(seed: int, deterministic: bool) -> None:
    """Seed every RNG (Python, NumPy, TF); with `deterministic`, also turn on TF op determinism."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def compile_model(model, tcfg, spec, steps_per_epoch: int) -> None:
    """Loss and metrics follow from the data (never the user); optimizer and schedule from the trainer."""
    import keras

    from ..models import head_for
    from .optim import make_optimizer

    _, _, loss = head_for(spec)
    if spec.task == "regression":
        metrics: List[Any] = [keras.metrics.MeanSquaredError(name="mse"), keras.metrics.MeanAbsoluteError(name="mae")]
    else:
        metrics = ["accuracy"]
    model.compile(optimizer=make_optimizer(tcfg, steps_per_epoch), loss=loss, metrics=metrics)


def prepare(cfg: DictConfig):
    """Validate, seed, load data, build and compile the model: everything before the first step."""
    validate(cfg)
    from .. import data, models

    setup_tensorflow(cfg.seed, cfg.deterministic)
    splits, spec = data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)
    model = models.build(cfg.model, cfg.regularizer, spec)
    compile_model(model, cfg.trainer, spec, splits.train.steps(cfg.trainer.batch_size))
    return splits, spec, model


def trainers() -> Dict[str, Callable]:
    from . import fit

    registry: Dict[str, Callable] = {"fit": fit.train}
    try:
        from . import tape
    except ImportError:  # the custom loop ships in its own module
        pass
    else:
        registry["tape"] = tape.train
    return registry


def evaluate(model, split, batch_size: int) -> Dict[str, float]:
    """Test metrics under Keras names (loss, mse, mae / loss, accuracy), in inference mode."""
    res = model.evaluate(split.dataset(batch_size), verbose=0, return_dict=True)
    return {k: float(v) for k, v in res.items()}


def run(cfg: DictConfig, run_dir: Path, extra_callbacks: Optional[list] = None) -> Result:
    """Train and evaluate `cfg` in `run_dir`; writes metrics.json, history.csv, model.keras and tb/."""
    from .callbacks import build_callbacks, on_run_end
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

    callbacks = build_callbacks(cfg, run_dir, model, splits, extra_callbacks)
    timer = callbacks[0]
    history = trainers()[tcfg.name](model, splits, tcfg, callbacks, seed=cfg.seed)

    test = evaluate(model, splits.test, tcfg.batch_size)
    val_loss = history.get("val_loss", [])
    best_epoch = int(min(range(len(val_loss)), key=val_loss.__getitem__)) + 1 if val_loss else None
    n_train = len(splits.train)
    metrics: Dict[str, Any] = {
        "status": "completed",
        "task": spec.task,
        "dataset": spec.name,
        "model": cfg.model.name,
        "trainer": tcfg.name,
        "test": test,
        "baseline": splits.baseline(),
        "baseline_name": splits.baseline_name,
        "params": int(model.count_params()),
        "epochs": timer.epochs_run,
        "best_epoch": best_epoch,
        "final": {k: v[-1] for k, v in history.items() if v},
        "train_seconds": round(timer.seconds, 3),
        "samples_per_second": round(n_train * timer.epochs_run / timer.seconds, 1) if timer.seconds else None,
        "examples": {"train": n_train, "val": len(splits.val), "test": len(splits.test)},
        "data": splits.info,
        "seed": cfg.seed,
    }
    write_history_csv(run_dir / "history.csv", history)
    save_model(run_dir / "model.keras", model)
    on_run_end(callbacks, metrics)  # final test metrics and status to TensorBoard HParams
    write_json(run_dir / "metrics.json", metrics)
    return Result(run_dir=run_dir, metrics=metrics, history=history, model=model)

