"""trainer=tape: a custom tf.GradientTape loop, compiled with tf.function, driving the same callbacks as fit.

The loop reads like Keras' own `Model.fit` so that every callback (progress bar, History, TensorBoard, early
stopping, checkpoints, Keras Tuner) sees the same calls and the same logs: `loss` and the compiled metrics per
batch, `val_*` at the end of each epoch, and `model.stop_training` honoured after each batch and epoch.
"""

from __future__ import annotations

import logging
from typing import Callable, Dict, List, Optional, Tuple

import keras
import tensorflow as tf

from . import distribute, shards
from .batches import batch_rows, drops_last, log_dropped, train_steps
from .callbacks import progress_verbosity

log = logging.getLogger(__name__)


def make_steps(model: keras.Model, eager: bool = False, strategy=None) -> Tuple[Callable, Callable]:
    """(train_step, eval_step): each pulls one batch from a tf.data iterator and returns the running metrics.

    With a tf.distribute `strategy` each pulls (x, y, n) per replica from a distributed iterator
    (distribute.distribute_split) and runs on every replica; the metrics it returns are reduced across them.
    """
    optimizer = model.optimizer
    tracker = shards.loss_tracker(model)

    def train_step(x, y, n=None) -> Dict[str, tf.Tensor]:
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            # the compiled loss plus the regularization losses (model.losses) and the model's loss hooks
            # (regularizer.adversarial), exactly as fit computes it
            loss = model.compute_loss(x, y, y_pred, training=True)
            if strategy is not None:  # this replica's share of the global batch's mean (see distribute.py)
                objective = distribute.replica_loss(loss, batch_rows(x), n)
                loss = distribute.unscaled(loss)
            else:
                objective = loss
            objective = optimizer.scale_loss(objective)  # mixed_float16: the LossScaleOptimizer's loss scale
        grads = tape.gradient(objective, model.trainable_variables)
        # clipnorm and the learning-rate schedule (a function of optimizer.iterations) live in the optimizer; under
        # a strategy it sums the replicas' gradients (clipnorm clips each replica's share first, as in fit)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        tracker.update_state(loss, sample_weight=batch_rows(x))  # a per-example mean over the epoch, like fit
        return model.compute_metrics(x, y, y_pred)

    def eval_step(x, y, n=None) -> Dict[str, tf.Tensor]:
        y_pred = model(x, training=False)
        loss = model.compute_loss(x, y, y_pred, training=False)
        tracker.update_state(loss if strategy is None else distribute.unscaled(loss), sample_weight=batch_rows(x))
        return model.compute_metrics(x, y, y_pred)

    sharded = shards.steps_of(model)
    if sharded is not None and strategy is None and not eager:  # trainer.cpu_shards: one XLA program per core
        train_step, eval_step = sharded.train, sharded.evaluate  # noqa: F811  (same loss, metrics and update)

    def from_iterator(step: Callable) -> Callable:
        if eager:  # trainer.eager: plain Python, debuggable with pdb/print; ~10x slower
            return lambda iterator: step(*next(iterator))
        if strategy is not None:  # metrics read in cross-replica context: summed over the replicas (and workers)
            def distributed(iterator):
                strategy.run(step, args=next(iterator))
                return model.get_metrics_result()

            return tf.function(distributed)
        # like fit: XLA (when Keras enabled it for this model) on the step, the iterator read inside the graph
        compiled = tf.function(step, jit_compile=bool(model.jit_compile), reduce_retracing=True)
        return tf.function(lambda iterator: compiled(*next(iterator)))

    return from_iterator(train_step), from_iterator(eval_step)


def _build_state(model: keras.Model, batch) -> None:
    """Create optimizer and metric variables before the compiled steps are traced (fit does this symbolically).

    The model itself is not called: even in inference an RNN with dropout draws from its seed generator, and an
    extra draw here (once per process) would make a resumed run's dropout masks differ from an uninterrupted one's.
    """
    x, y = batch
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    y_pred = tf.zeros((batch_rows(x),) + tuple(model.output_shape[1:]), dtype=model.outputs[0].dtype)
    model.compute_loss(x, y, y_pred, training=False)
    model.compute_metrics(x, y, y_pred)
    model.reset_metrics()


def _pythonify(logs) -> Dict[str, float]:
    return {k: float(v) for k, v in logs.items()}


def evaluate(model: keras.Model, dataset, steps: int, eval_step: Callable, callbacks) -> Dict[str, float]:
    """One pass over `dataset` in inference mode, with the test-time callback calls fit makes for validation."""
    callbacks.on_test_begin()
    model.reset_metrics()
    iterator = iter(dataset)
    logs = {}
    for step in range(steps):
        callbacks.on_test_batch_begin(step)
        logs = eval_step(iterator)
        callbacks.on_test_batch_end(step, logs)
    logs = _pythonify(model.get_metrics_result())
    callbacks.on_test_end(logs)
    return logs


def train(model: keras.Model, splits, tcfg, callbacks: List[keras.callbacks.Callback], seed: int,
          initial_epoch: int = 0, placement: Optional[distribute.Placement] = None) -> Dict[str, List[float]]:
    """Train epochs [initial_epoch, tcfg.epochs) on `placement`'s devices; returns the per-epoch history."""
    placement = placement or distribute.Placement()
    strategy = placement.strategy
    bs = tcfg.batch_size
    steps, val_steps = train_steps(model, splits.train, bs), splits.val.steps(bs)
    log_dropped(model, splits.train, bs)

    def dataset(split, **kwargs):
        if strategy is None:
            return split.dataset(bs, **kwargs)
        return distribute.distribute_split(placement, split, bs, **kwargs)

    # one stream over all remaining epochs, each epoch's order a function of (seed, epoch)
    train_ds = dataset(splits.train, shuffle_seed=seed if tcfg.shuffle else None, first_epoch=initial_epoch,
                       epochs=tcfg.epochs, drop_remainder=drops_last(model, len(splits.train), bs))
    val_ds = dataset(splits.val) if val_steps else None
    verbose = progress_verbosity(tcfg.verbose)
    cbs = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
                                       epochs=tcfg.epochs, steps=steps, model=model)

    with placement.scope():  # optimizer slots and metric variables mirrored like the model's
        _build_state(model, next(iter(splits.val.dataset(bs) if val_steps else splits.train.dataset(bs))))
    train_step, eval_step = make_steps(model, eager=tcfg.eager, strategy=strategy)
    model.train_function = train_step  # TensorBoard(write_graph=True) draws the graph of model.train_function
    try:
        model.stop_training = False
        iterator = iter(train_ds)
        cbs.on_train_begin()
        epoch_logs: Dict[str, float] = {}
        for epoch in range(initial_epoch, tcfg.epochs):
            model.reset_metrics()
            cbs.on_epoch_begin(epoch)
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                logs = train_step(iterator)
                cbs.on_train_batch_end(step, logs)
                if model.stop_training:
                    break
            epoch_logs = _pythonify(model.get_metrics_result())
            if val_ds is not None:
                val_logs = evaluate(model, val_ds, val_steps, eval_step, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if model.stop_training:
                break
        model.optimizer.finalize_variable_values(model.trainable_variables)
        cbs.on_train_end(epoch_logs)
    finally:
        model.train_function = None  # a later model.fit() must build its own
    return {k: [float(x) for x in v] for k, v in model.history.history.items()}
