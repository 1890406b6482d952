"""The public stages of a run, in order: prepare, make_callbacks, fit, evaluate (the outcome writer: outcome.py).

`train.run` calls them top to bottom; benchmarks and experiment scripts call the same functions instead of
re-implementing data + model + compile + fit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from omegaconf import DictConfig, OmegaConf

from ..config import config_error, validate
from .errors import Interrupted

log = logging.getLogger(__name__)
XLA_MIN_STEPS = 1000  # auto uses XLA only for runs this long: compiling costs 2-5 s, paid back in ~500-1000 steps


# --------------------------------------------------------------------------- prepare
def setup_tensorflow(seed: int, deterministic: bool, trainer=None) -> None:
    """Seed every RNG (Python, NumPy, TF); with `deterministic`, also turn on TF op determinism; the trainer's
    precision and GPU memory growth (seqlab.train.devices)."""
    import keras
    import tensorflow as tf

    from .. import private
    from .devices import configure as configure_devices

    keras.utils.set_random_seed(seed)
    configure_devices(trainer)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    elif private.op_determinism_enabled():  # an earlier deterministic run must not leak (it also turns XLA off)
        private.disable_op_determinism()


def resolve_jit_compile(setting, model, deterministic: bool, train_steps: int, distributed: bool = False):
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

    if deterministic or distributed:  # a tf.distribute strategy's all-reduce runs outside XLA
        return False
    if tf.config.list_physical_devices("GPU"):
        return "auto"
    masked = any(getattr(layer, "mask_zero", False) for layer in model.layers)
    open_length = any(None in tuple(t.shape)[1:] for t in model.inputs)  # XLA would compile once per length
    return not masked and not open_length and train_steps >= XLA_MIN_STEPS


def batch_from_fraction(tcfg, examples: int) -> int:
    """trainer.batch_fraction of `examples`, rounded down, at least 1 and at most trainer.batch_size (Fawaz et al.'s
    int(min(n / 10, 16)) with fraction 0.1 and batch_size 16)."""
    size = max(1, min(tcfg.batch_size, int(examples * tcfg.batch_fraction)))
    log.info("trainer.batch_fraction=%g of %d training examples: batch size %d (cap trainer.batch_size=%d)",
             tcfg.batch_fraction, examples, size, tcfg.batch_size)
    return size


def compile_model(model, tcfg, spec, steps_per_epoch: int, deterministic: bool = False, placement=None) -> None:
    """Loss and metrics follow from the data (a regression may pick trainer.loss); optimizer and schedule from the
    trainer."""
    import keras

    from ..models import head_for
    from ..models.heads import PinballLoss, PointError, quantiles_of
    from .distribute import Placement, scaled_lr
    from .optim import make_optimizer
    from .shards import install as install_shards
    from .shards import plan as plan_shards

    _, _, loss_name = head_for(spec)
    chosen = tcfg.loss
    if chosen != "auto":
        if spec.task != "regression":  # a custom dataset's task is known only now, before any step
            raise config_error("trainer.loss", f"auto for a {spec.task} task (the loss follows from the labels)",
                               chosen, ["auto"])
        loss_name = chosen
    # loss classes (not the bare functions) reconcile (batch,) labels with (batch, 1) sigmoid outputs
    loss = {"mse": keras.losses.MeanSquaredError, "mae": keras.losses.MeanAbsoluteError, "huber": keras.losses.Huber,
            "binary_crossentropy": keras.losses.BinaryCrossentropy,
            "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy}[loss_name]()
    quantiles = quantiles_of(model)
    if quantiles:  # model.quantiles: the pinball loss; mse and mae of the point forecast (the median)
        loss = PinballLoss(quantiles)
        metrics: List[Any] = [PointError(quantiles, "mse"), PointError(quantiles, "mae")]
    elif spec.task == "regression":
        metrics = [keras.metrics.MeanSquaredError(name="mse"), keras.metrics.MeanAbsoluteError(name="mae")]
    else:
        metrics = ["accuracy"]
    placement = placement or Placement()
    replicas = placement.replicas
    if scaled_lr(tcfg, replicas) != tcfg.lr:  # trainer.lr_scaling=linear
        tcfg = OmegaConf.merge(tcfg, {"lr": scaled_lr(tcfg, replicas)})
        log.info("trainer.lr_scaling=linear: lr %g x %d replicas = %g", tcfg.lr / replicas, replicas, tcfg.lr)
    distributed = placement.strategy is not None
    jit = resolve_jit_compile(tcfg.jit_compile, model, deterministic, steps_per_epoch * tcfg.epochs,
                              distributed)
    shards = 1 if tcfg.eager else plan_shards(tcfg.cpu_shards, jit, model, tcfg.batch_size,
                                                  distributed)
    # sharded: each row group is its own XLA program; the step around them must not fuse them into one
    model.compile(optimizer=make_optimizer(tcfg, steps_per_epoch), loss=loss, metrics=metrics,
                  jit_compile=False if shards > 1 else jit)
    if shards > 1:
        install_shards(model, shards)
        log.info("trainer.cpu_shards: each step's batch runs as %d row groups, one XLA program per CPU core",
                 shards)


@dataclass
class Prepared:
    """Everything before the first step; unpacks as `splits, spec, model = prepare(cfg)`."""

    splits: Any  # data.Splits: train / val / test, baseline
    spec: Any  # data.DataSpec: what models.build needs to know about the data
    model: Any  # the compiled keras.Model
    placement: Any = None  # distribute.Placement: the devices and strategy the run trains on

    def __post_init__(self):
        if self.placement is None:
            from .distribute import Placement

            self.placement = Placement()

    def __iter__(self):
        return iter((self.splits, self.spec, self.model))

    def __getitem__(self, i):  # prepared[2] is the model, as when Prepared was a 3-tuple
        return (self.splits, self.spec, self.model)[i]


def prepare(cfg: DictConfig) -> Prepared:
    """Validate, seed, load data, build and compile the model: everything before the first step."""
    validate(cfg)
    from .. import data, models
    from .batches import train_steps
    from .distribute import configure_devices, detach, place
    from .trainers import one_pass_budget

    configure_devices(cfg.trainer)  # logical CPU replicas: before TensorFlow's runtime starts
    setup_tensorflow(cfg.seed, cfg.deterministic, cfg.trainer)
    placement = place(cfg.trainer)
    splits, spec = data.load(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed)
    if cfg.model.get("series_embedding"):  # a panel's windows also say their series (validated: a panel)
        splits, spec = data.with_series_ids(splits, spec)
    if cfg.model.get("norm") == "auto":  # decided once from the data, seen by the verdict (.get: model=custom)
        cfg.model.norm = models.resolve_norm(cfg.model, spec)
    if cfg.trainer.batch_fraction:  # decided once, from the data, like model.norm=auto
        cfg.trainer.batch_size = batch_from_fraction(cfg.trainer, len(splits.train))
    one_pass_budget(cfg)  # trainer=lstsq: one solve, whatever the dataset family's budget
    with placement.scope():  # variables (model, optimizer, metrics) mirrored on every replica
        model = models.build(cfg.model, cfg.regularizer, spec)
        compile_model(model, cfg.trainer, spec, train_steps(model, splits.train, cfg.trainer.batch_size),
                      cfg.deterministic, placement)
    detach(placement, model)  # multi_worker: the chief's predictions (pictures, outputs) stay local
    log.info("data %s: %d train / %d val / %d test examples, task %s, input %s",
             spec.name, len(splits.train), len(splits.val), len(splits.test), spec.task, spec.input_shape)
    log.info("model %s: %s parameters", model.name, f"{model.count_params():,}")
    return Prepared(splits, spec, model, placement)


# --------------------------------------------------------------------------- callbacks
@dataclass
class RunCallbacks:
    """The run's callback list and the members the later stages talk to by name (never by list position)."""

    all: List[Any]  # what the trainer drives: timer, early stopping, TensorBoard, extra, history, guard, saver
    timer: Any  # callbacks.EpochTimer
    history: Any  # keras.callbacks.History
    guard: Any  # diagnose.DivergenceGuard
    saver: Any  # checkpoint.Checkpointer
    state: Optional[Any] = None  # checkpoint.State this run continues from (None: from scratch)


def make_callbacks(cfg: DictConfig, run_dir: Path, prepared: Prepared, extra: Optional[list] = None) -> RunCallbacks:
    """The shared callback list, and the checkpoint this run continues from (ConfigError for another config's)."""
    import keras

    from .callbacks import EpochTimer, build_callbacks
    from .checkpoint import Checkpointer, CheckpointStore, comparable_config, resume_state
    from .diagnose import DivergenceGuard
    from .distribute import ChiefStore, peers_watched

    tcfg = cfg.trainer
    placement = prepared.placement
    store = CheckpointStore(Path(run_dir) / "checkpoints", keep=tcfg.checkpoint.keep)
    if placement.kind == "multi_worker":  # the chief writes; every worker resumes from the chief's latest
        store = ChiefStore(store, placement)
    with peers_watched(placement):
        state = resume_state(cfg, store)
    timer, history, guard = EpochTimer(), keras.callbacks.History(), DivergenceGuard()
    shared = build_callbacks(cfg, run_dir, prepared.model, prepared.splits, extra, timer=timer, spec=prepared.spec,
                             chief=placement.chief)
    saver = Checkpointer(store, tcfg.checkpoint.every, tcfg.epochs, shared, history, comparable_config(cfg), state)
    # after the shared callbacks: the saver sees early stopping's decision and the epoch's history
    return RunCallbacks(shared + [history, guard, saver], timer, history, guard, saver, state)


# --------------------------------------------------------------------------- fit
def trainers() -> Dict[str, Callable]:
    """trainer name -> train(model, splits, tcfg, callbacks, seed, initial_epoch) -> history (every registered one;
    importing each: prefer `trainer(name)`)."""
    from ..registry import registry

    return {entry.name: entry.load() for entry in registry("trainer")}


def trainer(name: str) -> Callable:
    """The train function of `trainer=<name>`, from the trainer registry (imported now)."""
    from ..registry import registry

    return registry("trainer").get(name).load()


@dataclass
class Ended:
    """How training ended: `completed`, `diverged` (with where and the diagnosis) or `interrupted`."""

    status: str
    details: Dict[str, Any]
    signum: Optional[int] = None  # interrupted: the signal


def fit(prepared: Prepared, cfg: DictConfig, callbacks: RunCallbacks,
        on_start: Optional[Callable[[], None]] = None) -> Ended:
    """Train (continuing `callbacks.state`), with SIGINT/SIGTERM saving a checkpoint; never raises for a NaN loss
    or an interrupt: the returned `Ended` says what happened, for the outcome writer. `on_start` is called once
    every start-up check has passed (the checkpoint restored), right before the first step."""
    import tensorflow as tf

    from .checkpoint import replay_end, restore_model
    from .diagnose import NonFiniteLoss, check_data, diagnose_divergence
    from .distribute import peers_watched, weights_digest
    from .interrupts import interrupts_raise

    splits, spec, model = prepared
    tcfg, state, cbs = cfg.trainer, callbacks.state, callbacks
    placement = prepared.placement
    initial_epoch = 0
    if state is not None:
        with placement.scope():  # optimizer slots created here must be mirrored
            restore_model(state, model)
        cbs.history.history = {k: list(v) for k, v in state.history.items()}
        initial_epoch = state.epoch
    if on_start is not None:
        on_start()
    try:
        with interrupts_raise(), peers_watched(placement):
            if state is not None and (state.stopped or state.epoch >= tcfg.epochs):
                log.info("training had ended after epoch %d: evaluating it again", state.epoch)
                replay_end(state, model, cbs.all)
            else:
                trainer(tcfg.name)(model, splits, tcfg, cbs.all, seed=cfg.seed, initial_epoch=initial_epoch,
                                   placement=placement)
    except (NonFiniteLoss, tf.errors.InvalidArgumentError) as e:
        problems = check_data(splits, spec)
        if isinstance(e, tf.errors.InvalidArgumentError) and not problems:
            raise  # not the data's fault: a genuine error
        where = e.where if isinstance(e, NonFiniteLoss) else {  # e.g. a label beyond the classes, on CPU
            "epoch": cbs.guard.epoch + 1, "batch": None, "step": int(model.optimizer.iterations.numpy()),
            "metric": "loss", "loss": float("nan"), "error": str(e).splitlines()[0][:300], "losses": cbs.guard.losses}
        diagnosis = diagnose_divergence(where, problems, tcfg, splits.train.steps(tcfg.batch_size))
        where.pop("losses", None)
        log.error("training diverged at epoch %s (step %s): %s", where["epoch"], where["step"], diagnosis["message"])
        return Ended("diverged", {"diverged": where, "diagnosis": diagnosis})
    except Interrupted as e:
        path = cbs.saver.flush()
        log.warning("%s: checkpoint %s (epoch %d)", e, path, cbs.saver.last_epoch)
        return Ended("interrupted", {"signal": e.signal_name, "checkpoint": str(path) if path else None}, e.signum)
    if placement.kind == "multi_worker":  # tests and users compare these lines across the workers' logs
        log.info("%s: weights sha256 %s", placement.cluster.describe(), weights_digest(model))
    return Ended("completed", {})


# --------------------------------------------------------------------------- evaluate
def localize(prepared: Prepared, cfg: DictConfig) -> Prepared:
    """After multi-worker training: the model rebuilt outside the strategy with the trained weights, so that each
    worker evaluates and writes on its own (the strategy's metrics would wait for the others at every read).
    Otherwise `prepared` itself. The copy's optimizer is fresh: the checkpoints keep the trained one."""
    if prepared.placement.kind != "multi_worker":
        return prepared
    from .. import models
    from .batches import train_steps

    splits, spec, trained = prepared
    model = models.build(cfg.model, cfg.regularizer, spec)
    compile_model(model, cfg.trainer, spec, train_steps(model, splits.train, cfg.trainer.batch_size),
                  cfg.deterministic)
    model.set_weights(trained.get_weights())
    return Prepared(splits, spec, model, prepared.placement)  # still says where it trained (metrics.json)


def evaluate(model, split, batch_size: int) -> Dict[str, float]:
    """Test metrics under Keras names (loss, mse, mae / loss, accuracy), in inference mode."""
    res = model.evaluate(split.dataset(batch_size), verbose=0, return_dict=True)
    return {k: float(v) for k, v in res.items()}
