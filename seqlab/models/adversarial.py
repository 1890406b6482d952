"""regularizer.adversarial: adversarial training on the word embeddings (Miyato, Dai & Goodfellow, ICLR 2017).

Each training step runs the model twice. The clean pass gives the loss and its gradient with respect to the
embedded review. The second pass adds to the embeddings a perturbation along that gradient: the direction
that raises the loss most. Its norm is `epsilon` times the review's root-mean-square word-vector norm, so it
scales with the embeddings. The model is trained on the mean of the clean and the perturbed loss. The model
cannot memorise a review through a few word vectors that a small push would flip. The cost is about three
times the work of a plain step (two forward and two backward passes, and the second-order bookkeeping).

The `AdversarialNoise` layer that sits after the embedding is the identity everywhere else: in inference, in
evaluation, and in a saved `model.keras`, which therefore loads without any of this.
"""

from __future__ import annotations

import types
from typing import Optional, Tuple

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="seqlab")
class AdversarialNoise(keras.layers.Layer):
    """Identity, except inside the adversarial train step, which sets `perturb` for one forward pass."""

    def __init__(self, epsilon: float, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.epsilon = float(epsilon)
        self.perturb = None  # (embeddings, mask) -> embeddings; None outside the train step

    def call(self, x, mask=None):
        return x if self.perturb is None else self.perturb(x, mask)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


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


def adversarial_losses(model: keras.Model, layer: AdversarialNoise, x, y,
                       sample_weight=None) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(clean predictions, clean loss, objective = mean of the clean and the adversarial loss), in training mode.

    Called inside the trainer's GradientTape; the perturbation itself is a constant (no second-order terms).
    """
    seen = {}
    with tf.GradientTape() as probe_tape:
        def probe(e, mask):
            seen["zero"] = tf.zeros_like(e)  # d loss / d zero == d loss / d embeddings
            probe_tape.watch(seen["zero"])
            return e + seen["zero"]

        y_pred = _forward(model, layer, x, probe)
        loss = model.compute_loss(x, y, y_pred, sample_weight, training=True)
    grad = tf.stop_gradient(probe_tape.gradient(loss, seen["zero"]))
    grad_norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=[1, 2], keepdims=True))
    direction = grad / (grad_norm + 1e-12)

    def push(e, mask):
        return e + tf.stop_gradient(layer.epsilon * _rms_word_norm(e, mask) * direction)

    y_adv = _forward(model, layer, x, push)
    adv_loss = model.compute_loss(x, y, y_adv, sample_weight, training=True)
    return y_pred, loss, (loss + adv_loss) / 2  # L2 terms (in both losses) keep their weight


def _train_step(self, data):
    """Keras' TensorFlow train_step with the adversarial objective; `loss` stays the clean training loss."""
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    with tf.GradientTape() as tape:
        y_pred, loss, objective = adversarial_losses(self, noise_layer(self), x, y, sample_weight)
        next(m for m in self.metrics if m.name == "loss").update_state(loss, sample_weight=tf.shape(x)[0])
        objective = self.optimizer.scale_loss(objective)
    grads = tape.gradient(objective, self.trainable_weights)
    self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
    return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


def attach(model: keras.Model) -> keras.Model:
    """Make `model.fit` train adversarially (trainer=tape calls `adversarial_losses` itself)."""
    model.train_step = types.MethodType(_train_step, model)
    return model
