"""Small serializable pooling layers that respect the padding mask."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqlab")
class LastStep(keras.layers.Layer):
    """(batch, time, channels) -> (batch, channels): the output at the last time step."""

    def call(self, x):
        return x[:, -1, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@keras.saving.register_keras_serializable(package="seqlab")
class MaskedMaxPooling1D(keras.layers.Layer):
    """Global max over time that ignores padded (masked) steps, unlike GlobalMaxPooling1D."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        if mask is not None:
            m = ops.expand_dims(ops.cast(mask, x.dtype), -1)  # (batch, time, 1)
            x = x * m + (1.0 - m) * ops.cast(-1e9, x.dtype)
        return ops.max(x, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
