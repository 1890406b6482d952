"""regularizer.adversarial: adversarial training on the word embeddings (Miyato, Dai & Goodfellow, ICLR 2017).

The objective is the mean of the clean loss and the loss under a perturbation of the embedded review along the
clean loss's gradient (the direction that raises the loss most). Its norm is `epsilon` times the review's
root-mean-square word-vector norm, so it scales with the embeddings. The model cannot memorise a review through
a few word vectors that a small push would flip.

It is a loss hook: `HookedModel.compute_loss(..., training=True)` passes the clean loss through its
`loss_hooks`, and both trainers (Keras' `fit` train_step and seqlab's tape loop) call `compute_loss` that way, so
neither has a private copy of the objective. The hook runs two more forward passes (one to probe the gradient's
direction, one perturbed) and the backward pass runs through the clean and the perturbed one: ~3x a plain step.

The `AdversarialNoise` layer after the embedding is the identity everywhere else: in inference, in evaluation
and in a saved `model.keras`, which loads as a plain model (no hooks).
"""

from __future__ import annotations

from typing import Callable, List, Optional

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="seqlab")
class AdversarialNoise(keras.layers.Layer):
    """Identity, except inside the adversarial loss hook, which sets `perturb` for one forward pass."""

    def __init__(self, epsilon: float, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.epsilon = float(epsilon)
        self.perturb = None  # (embeddings, mask) -> embeddings; None outside the hook

    def call(self, x, mask=None):
        return x if self.perturb is None else self.perturb(x, mask)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


# hook(model, x, y, y_pred, sample_weight, loss) -> loss
LossHook = Callable[..., tf.Tensor]


@keras.saving.register_keras_serializable(package="seqlab")
class HookedModel(keras.Model):
    """A functional model whose training loss passes through `loss_hooks` (not saved: a loaded model has none)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_hooks: List[LossHook] = []
        self._in_hook = False  # a hook's own compute_loss calls are plain

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
        if not training or self._in_hook:
            return loss
        self._in_hook = True
        try:
            for hook in self.loss_hooks:
                loss = hook(self, x, y, y_pred, sample_weight, loss)
        finally:
            self._in_hook = False
        return loss


def with_hooks(model: keras.Model, hooks: List[LossHook]) -> HookedModel:
    """The same graph and layers as `model`, as a HookedModel running `hooks` on the training loss."""
    def one(tensors):  # a single-input model keeps its input structure (no list), as Keras expects when called
        return tensors[0] if len(tensors) == 1 else tensors

    hooked = HookedModel(one(model.inputs), one(model.outputs), name=model.name)
    hooked.loss_hooks = list(hooks)
    return hooked


def noise_layer(model: keras.Model) -> Optional[AdversarialNoise]:
    return next((layer for layer in model.layers if isinstance(layer, AdversarialNoise)), None)


def _rms_word_norm(e: tf.Tensor, mask) -> tf.Tensor:
    """Per review: the root-mean-square norm of its (unmasked) word vectors, shape (batch, 1, 1)."""
    m = tf.ones(tf.shape(e)[:2], e.dtype) if mask is None else tf.cast(mask, e.dtype)
    words = tf.maximum(tf.reduce_sum(m, axis=1), 1.0)
    sq = tf.reduce_sum(tf.square(e) * m[:, :, None], axis=[1, 2])
    return tf.sqrt(sq / words)[:, None, None]


def _forward(model: keras.Model, layer: AdversarialNoise, x, perturb):
    """The model in training mode with `perturb` applied to its embeddings for this one call."""
    layer.perturb = perturb
    try:
        return model(x, training=True)
    finally:
        layer.perturb = None


def adversarial_loss(model: keras.Model, x, y, sample_weight=None) -> tf.Tensor:
    """The training loss with the embeddings pushed along the clean loss's gradient (a constant direction)."""
    layer = noise_layer(model)
    seen = {}
    with tf.GradientTape() as probe_tape:
        def probe(e, mask):
            seen["zero"] = tf.zeros_like(e)  # d loss / d zero == d loss / d embeddings
            probe_tape.watch(seen["zero"])
            return e + seen["zero"]

        probe_loss = model.compute_loss(x, y, _forward(model, layer, x, probe), sample_weight, training=True)
    grad = tf.stop_gradient(probe_tape.gradient(probe_loss, seen["zero"]))  # (batch, time, embedding_dim)
    grad_norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=[1, 2], keepdims=True))
    direction = grad / (grad_norm + 1e-12)

    def push(e, mask):
        return e + tf.stop_gradient(layer.epsilon * _rms_word_norm(e, mask) * direction)

    return model.compute_loss(x, y, _forward(model, layer, x, push), sample_weight, training=True)


def adversarial_hook(model, x, y, y_pred, sample_weight, loss):
    """The loss hook: the mean of the clean and the adversarial loss (L2 terms, in both, keep their weight)."""
    return (loss + adversarial_loss(model, x, y, sample_weight)) / 2


def attach(model: keras.Model) -> HookedModel:
    """Train `model` adversarially in both trainers; its AdversarialNoise layer must sit after the embedding."""
    if noise_layer(model) is None:
        raise ValueError(f"model {model.name} has no AdversarialNoise layer to perturb")
    return with_hooks(model, [adversarial_hook])
