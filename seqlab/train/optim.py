"""Optimizer and learning-rate schedule from the trainer config."""

from __future__ import annotations

import keras


def make_schedule(tcfg, steps_per_epoch: int):
    """Constant lr, or an exponential / cosine decay over optimizer steps (plateau: a constant rate that the
    ReduceLROnPlateau callback cuts, see callbacks.build_callbacks)."""
    if tcfg.lr_schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(tcfg.lr, tcfg.decay_steps, tcfg.decay_rate)
    if tcfg.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(tcfg.lr, decay_steps=max(1, tcfg.epochs * steps_per_epoch))
    return tcfg.lr


def make_optimizer(tcfg, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    lr = make_schedule(tcfg, steps_per_epoch)
    common = dict(learning_rate=lr, clipnorm=tcfg.clipnorm)
    return OPTIMIZERS[tcfg.optimizer](tcfg, common)


# trainer.optimizer -> its Keras optimizer; the names are config.schema.OPTIMIZERS (a test keeps them equal)
OPTIMIZERS = {
    "adam": lambda tcfg, common: keras.optimizers.Adam(**common),
    "adamw": lambda tcfg, common: keras.optimizers.AdamW(weight_decay=tcfg.weight_decay, **common),
    "sgd": lambda tcfg, common: keras.optimizers.SGD(momentum=tcfg.momentum, **common),
    "rmsprop": lambda tcfg, common: keras.optimizers.RMSprop(momentum=tcfg.momentum, **common),
}


def current_lr(optimizer) -> float:
    """The learning rate the optimizer uses at its current step."""
    lr = optimizer.learning_rate
    # through numpy: float() of a variable a tf.distribute strategy mirrors raises a TypeError
    return float(keras.ops.convert_to_numpy(lr(optimizer.iterations) if callable(lr) else lr))
