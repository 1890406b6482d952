"""seqlab's LSTM (model.loop=hoisted): keras.layers.LSTM with the input projection hoisted out of the recurrence.

Same variables (cell.kernel, cell.recurrent_kernel, cell.bias), gate order (i, f, c, o) and activations as
keras.layers.LSTM, so weights and checkpoints move between the two unchanged. `x @ kernel + bias` runs as one
matmul over all time steps and each step does only `h @ recurrent_kernel` plus the gates; TensorFlow
differentiates the loop. Measured on CPU (docs/results-history.md): 1.2x a bare train step without XLA but no faster in
model.fit, and slower under XLA, which seqlab turns on for long CPU runs: an opt-in, not the default. Masked
inputs, recurrent dropout and non-default activations take Keras' own loop (logged once); on a GPU Keras' cuDNN
kernel is used. The class is named LSTM because Keras addresses a layer's weights in .keras / .weights.h5 files
by its class name: files of either class load into the other.
"""
from __future__ import annotations

import logging

import keras
import tensorflow as tf

log = logging.getLogger(__name__)


def _gates(z, c_prev):
    """z (batch, 4u) pre-activations -> (c, h) of one step, gates in Keras' order i, f, c, o."""
    zi, zf, zg, zo = tf.split(z, 4, axis=-1)
    c = tf.sigmoid(zf) * c_prev + tf.sigmoid(zi) * tf.tanh(zg)
    return c, tf.sigmoid(zo) * tf.tanh(c)


def _steps(n, body, init, unroll: bool):
    """Run body(t, *carry) -> carry for t in [0, n): a Python loop when unrolled, else tf.while_loop."""
    if unroll:
        carry = init
        for t in range(n):
            carry = body(t, *carry)
        return carry
    return tf.while_loop(lambda t, *_: t < n, lambda t, *c: (t + 1, *body(t, *c)), (0, *init),
                         maximum_iterations=n)[1:]  # XLA needs the bound to size the gradient's buffers


def lstm_sequence(x, h0, c0, kernel, recurrent_kernel, bias, unroll: bool = False):
    """x (time, batch, in) time-major -> (hs (time, batch, u), h, c): one input matmul for all steps, then only
    h @ recurrent_kernel per step; TensorFlow differentiates the loop."""
    n = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]  # static when known: XLA sizes its buffers
    flat = tf.matmul(tf.reshape(x, (-1, x.shape[-1])), kernel) + bias  # (time * batch, 4u)
    zx = tf.TensorArray(x.dtype, size=n, element_shape=(x.shape[1], kernel.shape[1])).unstack(
        tf.reshape(flat, tf.concat([tf.shape(x)[:2], [kernel.shape[1]]], 0)))
    hs = tf.TensorArray(x.dtype, size=n, element_shape=h0.shape)

    def step(t, h, c, hs):
        c, h = _gates(zx.read(t) + tf.matmul(h, recurrent_kernel), c)
        return h, c, hs.write(t, h)

    h, c, hs = _steps(n, step, (h0, c0, hs), unroll)
    return hs.stack(), h, c


@keras.saving.register_keras_serializable(package="seqlab")
class LSTM(keras.layers.LSTM):
    """keras.layers.LSTM whose training and inference on CPU run the hoisted recurrence (`lstm_sequence`)."""

    def _keras_path(self, mask) -> str:
        """Why this call must take keras.layers.LSTM's own path ('' when the fast one applies)."""
        cell = self.cell
        if mask is not None:
            return "masked inputs (padding)"
        if cell.recurrent_dropout:
            return "recurrent_dropout"
        if not cell.use_bias or cell.activation is not keras.activations.tanh \
                or cell.recurrent_activation is not keras.activations.sigmoid:
            return "non-default activations or no bias"
        if tf.config.list_logical_devices("GPU"):
            return "a GPU (cuDNN kernel)"
        return ""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        reason = self._keras_path(mask)
        if reason:
            if not getattr(self, "_logged_fallback", False):
                log.info("%s: keras.layers.LSTM's own loop for %s", self.name, reason)
                self._logged_fallback = True
            return super().inner_loop(sequences, initial_state, mask, training=training)
        cell = self.cell
        x = sequences
        if training and 0.0 < cell.dropout < 1.0:  # one input mask for every step, drawn by RNN.call, as Keras
            x = x * tf.expand_dims(cell.get_dropout_mask(sequences[:, 0, :]), 1)
        x = tf.transpose(x, (1, 0, 2))  # (time, batch, in)
        if self.go_backwards:
            x = tf.reverse(x, [0])
        unroll = self.unroll and x.shape[0] is not None
        hs, h, c = lstm_sequence(x, initial_state[0], initial_state[1], cell.kernel.value,
                                 cell.recurrent_kernel.value, cell.bias.value, unroll=unroll)
        # Keras returns the outputs in the order processed (reversed for go_backwards), batch-major
        outputs = tf.transpose(hs, (1, 0, 2)) if self.return_sequences else h[:, None]
        return h, outputs, [h, c]
