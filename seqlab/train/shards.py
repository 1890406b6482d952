"""trainer.cpu_shards: the train and eval steps split over the CPU cores, one XLA program per core's rows.

On a CPU an RNN step is a loop of small matmuls. One XLA program runs that loop on one core, and TensorFlow's
executor without XLA spends the step on per-op overhead; either way the other cores idle (PyTorch's oneDNN LSTM
splits the batch over its threads instead). Here each step cuts the batch into `shards` row groups; every group's
forward pass, loss and gradients run as one XLA-compiled function, and TensorFlow's inter-op threads run the groups
side by side. The gradients are combined with weights rows_i / batch, which is the whole batch's mean-loss
gradient (the regularization losses, added to every group's loss, come out once), and the optimizer applies
them once, in its own XLA program: the same update as one XLA step on the whole batch, up to float summation
order. Evaluation and prediction run the groups' forward passes the same way.

Only for steps where the groups cannot interfere (`reasons_not_to_shard`): no random layers in training
(dropout: the groups would draw their masks from one seed state at once; `random_in_training` says which), no
batch-norm statistics, no loss hooks, no model class with its own train/test/predict step, no tf.distribute
strategy, no GPU.
`trainer.cpu_shards=auto` uses it where XLA would be used on a CPU-only machine with 2+ cores, one group per core
but no group under MIN_ROWS rows of a full batch; `N` forces N groups, 1 turns it off.
"""

from __future__ import annotations

import logging
import os
from typing import Any, List

from .batches import batch_rows

log = logging.getLogger(__name__)
MIN_ROWS = 16  # auto: no group smaller than this (a full batch's share): each group's XLA launch has a fixed cost


def cpu_cores() -> int:
    """Cores this process may run on (its affinity mask: taskset, a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _random_settings():
    """Keras' layers that draw random numbers in training -> their documented arguments that switch it on (> 0)."""
    from keras import layers

    from ..private import dropout_rnn_cell

    return ((layers.Dropout, ("rate",)),  # SpatialDropout1D/2D/3D too (subclasses)
            (layers.GaussianDropout, ("rate",)), (layers.AlphaDropout, ("rate",)),
            (layers.GaussianNoise, ("stddev",)),
            (dropout_rnn_cell(), ("dropout", "recurrent_dropout")))  # LSTMCell, GRUCell, SimpleRNNCell, ConvLSTM's


def random_in_training(layer) -> bool:
    """Whether `layer` draws random numbers in training (dropout, noise).

    The layer protocol: a layer (seqlab's, a user's) that defines `random_in_training` answers itself; Keras'
    random layers answer by their rate arguments (`_random_settings`); a layer that owns no SeedGenerator draws
    none; any other one that owns one is taken as random (the ordinary step: never a wrong sharded one)."""
    from ..private import seed_generators

    if getattr(type(layer), "random_in_training", None) is not None:
        return bool(layer.random_in_training)
    if not seed_generators(layer):
        return False
    for kinds, args in _random_settings():
        if isinstance(layer, kinds):
            return any(getattr(layer, arg) > 0 for arg in args)
    return True


def reasons_not_to_shard(model, distributed: bool = False) -> List[str]:
    """Why the groups of a step could interfere or would not run side by side ([] when sharding is safe);
    `distributed`: the run trains under a tf.distribute strategy."""
    import keras
    import tensorflow as tf

    reasons = []
    from ..private import all_layers

    layers = all_layers(model)
    cells = [layer.cell for layer in layers if isinstance(layer, keras.layers.RNN)]
    if any(random_in_training(obj) for obj in layers + cells):
        reasons.append("random layers in training (dropout)")
    if any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers):
        reasons.append("batch-norm statistics")
    if getattr(model, "loss_hooks", None):
        reasons.append("a loss hook (regularizer.adversarial)")
    own = [name for name in ("train_step", "test_step", "predict_step")
           if getattr(type(model), name) is not getattr(keras.Model, name)]
    if own:  # a custom model's own step logic (model=custom) must run as written
        reasons.append(f"the model's own {', '.join(own)}")
    if distributed:
        reasons.append("a tf.distribute strategy")
    if tf.config.list_physical_devices("GPU"):
        reasons.append("a GPU")
    return reasons


def plan(setting: Any, jit: Any, model, batch_size: int = 0, distributed: bool = False) -> int:
    """trainer.cpu_shards (auto | N) -> the number of row groups per step (1: one ordinary step)."""
    if setting == "auto":
        wanted = min(cpu_cores(), batch_size // MIN_ROWS) if batch_size else cpu_cores()
        if jit is not True or wanted < 2:
            return 1
    else:
        wanted = int(setting)
        if wanted <= 1:
            return 1
    reasons = reasons_not_to_shard(model, distributed)
    if reasons:
        (log.warning if setting != "auto" else log.info)(
            "trainer.cpu_shards=%s: one ordinary step because of %s", setting, " and ".join(reasons))
        return 1
    return wanted


def _sizes(batch, shards: int):
    """Row counts of `shards` near-equal groups of a (dynamic) batch: the first batch % shards get one more."""
    import tensorflow as tf

    return batch // shards + tf.cast(tf.range(shards) < batch % shards, batch.dtype)


def _split(t, sizes, shards: int) -> list:
    """A tensor, or a dict of them (the model's {"series", "future"} input), in `shards` row groups."""
    import tensorflow as tf

    if isinstance(t, dict):  # split key by key, then one dict per group
        parts = {k: tf.split(v, sizes, num=shards, axis=0) for k, v in t.items()}
        return [{k: p[i] for k, p in parts.items()} for i in range(shards)]
    return tf.split(t, sizes, num=shards, axis=0)


class ShardedSteps:
    """The compiled pieces of a sharded step for one model: each group's forward pass (+ gradients), and the
    step's end (combine, apply, metrics) as one more XLA program, so that little runs outside XLA."""

    def __init__(self, model, shards: int):
        import tensorflow as tf

        self.model, self.shards = model, shards
        compile_ = lambda f: tf.function(f, jit_compile=True, reduce_retracing=True)  # noqa: E731
        self._grads = compile_(self._group_grads)
        self._forward = compile_(lambda x: model(x, training=False))
        self._train_end = compile_(self._train_end_fn)
        self._eval_end = compile_(self._eval_end_fn)

    def _group_grads(self, x, y):
        """One row group: (its mean loss, its predictions, the gradients of its (scaled) loss)."""
        import tensorflow as tf

        model = self.model
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x, y, y_pred, training=True)  # the compiled loss + model.losses
            scaled = model.optimizer.scale_loss(loss)  # mixed_float16: the loss scale (the optimizer unscales)
        return loss, y_pred, tape.gradient(scaled, model.trainable_variables)

    def _train_end_fn(self, x, y, groups):
        """Weights rows_i / batch: the batch's mean loss and its gradient; one optimizer update; the metrics."""
        import tensorflow as tf

        model = self.model
        rows = [tf.cast(tf.shape(g[1])[0], tf.float32) for g in groups]
        weights = [r / tf.add_n(rows) for r in rows]
        loss = tf.add_n([w * tf.cast(g[0], tf.float32) for w, g in zip(weights, groups)])
        grads = [tf.add_n([tf.cast(w, g.dtype) * g for w, g in zip(weights, parts)])
                 for parts in zip(*(g[2] for g in groups))]
        model.optimizer.apply(grads, model.trainable_variables)
        loss_tracker(model).update_state(loss, sample_weight=batch_rows(x))
        return model.compute_metrics(x, y, tf.concat([g[1] for g in groups], 0))

    def _eval_end_fn(self, x, y, y_preds):
        import tensorflow as tf

        model = self.model
        y_pred = tf.concat(y_preds, 0)
        loss = model.compute_loss(x, y, y_pred, training=False)
        loss_tracker(model).update_state(loss, sample_weight=batch_rows(x))
        return model.compute_metrics(x, y, y_pred)

    def split(self, *tensors):

        sizes = _sizes(batch_rows(tensors[0]), self.shards)
        return [_split(t, sizes, self.shards) for t in tensors]

    def train(self, x, y):
        """One training step on (x, y); returns the metrics (Keras' train_step contract)."""
        xs, ys = self.split(x, y)
        groups = [self._grads(xi, yi) for xi, yi in zip(xs, ys)]  # independent: the executor runs them at once
        return self._train_end(x, y, groups)

    def evaluate(self, x, y):
        (xs,) = self.split(x)
        return self._eval_end(x, y, [self._forward(xi) for xi in xs])

    def predict(self, x):
        import tensorflow as tf

        (xs,) = self.split(x)
        return tf.concat([self._forward(xi) for xi in xs], 0)


def install(model, shards: int) -> None:
    """Make `model.fit` / `evaluate` / `predict` run sharded steps (instance attributes; nothing is saved with the
    model) and remember the plan for the tape trainer (`steps_of`) and metrics.json (`model.cpu_shards`)."""
    import keras

    from ..private import replace_steps

    steps = ShardedSteps(model, shards)
    model._seqlab_sharded = steps
    model.cpu_shards = shards
    plain = type(model)

    def train_step(data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:  # seqlab never passes one; Keras' own step weighs it correctly
            return plain.train_step(model, data)
        return steps.train(x, y)

    def test_step(data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            return plain.test_step(model, data)
        return steps.evaluate(x, y)

    def predict_step(data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return steps.predict(x)

    replace_steps(model, train_step, test_step, predict_step)


def loss_tracker(model):
    """The compiled model's running mean of the loss: the `loss` that fit logs."""
    return next(m for m in model.metrics if m.name == "loss")


def steps_of(model) -> "ShardedSteps | None":
    return getattr(model, "_seqlab_sharded", None)


def shard_count(model) -> int:
    return int(getattr(model, "cpu_shards", 1) or 1)

