"""Training batches: an epoch of a model with batch normalisation drops its last, incomplete batch."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def drops_last(model, examples: int, batch_size: int) -> bool:
    """True when `model` normalises by batch statistics and `examples` leave a short last batch after at least one
    full one. A batch of a few series has statistics far from the population's (the variance of 2 values is half
    of it on average), and they would pull the moving averages that inference uses (PyTorch users set
    drop_last=True for the same reason). The data are shuffled every epoch, so every example still trains."""
    import keras

    if examples < batch_size or examples % batch_size == 0:
        return False
    from ..private import all_layers

    layers = all_layers(model)
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers)


def train_steps(model, split, batch_size: int) -> int:
    """Optimizer steps in one epoch of `split`."""
    return split.steps(batch_size, drop_remainder=drops_last(model, len(split), batch_size))


def log_dropped(model, split, batch_size: int) -> None:
    if drops_last(model, len(split), batch_size):
        log.info("batch normalisation: each epoch drops its last %d of %d training examples (a short batch would "
                 "skew the moving statistics used in inference; the order changes every epoch)",
                 len(split) % batch_size, len(split))


def batch_rows(x):
    """The number of examples in a batch of model inputs: a tensor, or a dict of them ({"series", "future"})."""
    import tensorflow as tf

    return tf.shape(tf.nest.flatten(x)[0])[0]
