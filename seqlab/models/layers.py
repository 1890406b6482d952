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


@keras.saving.register_keras_serializable(package="seqlab")
class WindowNorm(keras.layers.Layer):
    """Per-window input normalisation for forecasting: (batch, time, channels) -> [x', loc, scale].

    mode "last" subtracts each channel's last input value (NLinear, Zeng et al. 2023); mode "revin" subtracts the
    window mean and divides by the window std (RevIN, Kim et al. 2022, without its affine weights). `loc` and
    `scale` are (batch, 1, channels), for WindowDenorm to put the forecast back on the input's level.
    """

    def __init__(self, mode: str = "last", epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("last", "revin"):
            raise ValueError(f"mode must be 'last' or 'revin', got {mode!r}")
        self.mode, self.epsilon = mode, epsilon

    def call(self, x):
        if self.mode == "last":
            loc = x[:, -1:, :]
            scale = ops.ones_like(loc)
        else:
            loc = ops.mean(x, axis=1, keepdims=True)
            scale = ops.sqrt(ops.var(x, axis=1, keepdims=True) + self.epsilon)
        return [(x - loc) / scale, loc, scale]

    def compute_output_shape(self, input_shape):
        stat = (input_shape[0], 1, input_shape[2])
        return [tuple(input_shape), stat, stat]

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="seqlab")
class WindowDenorm(keras.layers.Layer):
    """[y, loc, scale] -> y * scale + loc: undoes WindowNorm on a (batch, horizon, targets) forecast (or on every
    quantile of a (batch, horizon, targets, quantiles) one).

    `channels`: the input channel of each target when the targets are not all the inputs in order (None: they are).
    """

    def __init__(self, channels=None, **kwargs):
        super().__init__(**kwargs)
        self.channels = None if channels is None else [int(c) for c in channels]

    def call(self, inputs):
        y, loc, scale = inputs
        if self.channels is not None:  # (batch, 1, inputs) -> (batch, 1, targets)
            loc, scale = ops.take(loc, self.channels, axis=-1), ops.take(scale, self.channels, axis=-1)
        if len(y.shape) == 4:  # quantiles last: the same level and scale for each
            loc, scale = ops.expand_dims(loc, -1), ops.expand_dims(scale, -1)
        return y * scale + loc

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="seqlab")
class FoldChannels(keras.layers.Layer):
    """(batch, time, channels) -> (batch * channels, time, 1): every channel becomes its own univariate series."""

    def call(self, x):
        t = ops.shape(x)[1]
        return ops.reshape(ops.transpose(x, (0, 2, 1)), (-1, t, 1))

    def compute_output_shape(self, input_shape):
        return (None, input_shape[1], 1)


@keras.saving.register_keras_serializable(package="seqlab")
class UnfoldChannels(keras.layers.Layer):
    """(batch * channels, horizon) -> (batch, horizon, channels): the inverse of FoldChannels on the forecast;
    (batch * channels, horizon, quantiles) -> (batch, horizon, channels, quantiles)."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels

    def call(self, y):
        if len(y.shape) == 3:
            h, q = ops.shape(y)[1], ops.shape(y)[2]
            return ops.transpose(ops.reshape(y, (-1, self.channels, h, q)), (0, 2, 1, 3))
        h = ops.shape(y)[-1]
        return ops.transpose(ops.reshape(y, (-1, self.channels, h)), (0, 2, 1))

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 3:
            return (None, input_shape[1], self.channels, input_shape[2])
        return (None, input_shape[-1], self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="seqlab")
class SegmentQueries(keras.layers.Layer):
    """The inputs and states of a parallel multi-step decoder (SegRNN's PMF, Lin et al. 2023).

    [states...] each (rows, units) -> [queries (rows * segments, 1, units), states... each (rows * segments, units)]:
    every row's last state is repeated once per output segment, and each copy's one-step input is a learned
    embedding of that segment's position, with half of it a learned embedding of the row's channel when
    `channels` > 1 (rows are then batch-major, channel-minor, as FoldChannels orders them).
    """

    def __init__(self, segments: int, channels: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.segments, self.channels = int(segments), int(channels)

    def build(self, input_shape):
        units = int(input_shape[0][-1])
        init = keras.initializers.RandomNormal(stddev=1.0)
        pos_units = units // 2 if self.channels > 1 else units
        self.position = self.add_weight(shape=(self.segments, pos_units), initializer=init, name="position")
        if self.channels > 1:
            self.channel = self.add_weight(shape=(self.channels, units - pos_units), initializer=init, name="channel")

    def call(self, states):
        rows = ops.shape(states[0])[0]
        pos = ops.cast(self.position, self.compute_dtype)
        if self.channels > 1:  # (channels * segments, units): channel-major, segment-minor
            pos = ops.tile(pos, (self.channels, 1))
            chan = ops.repeat(ops.cast(self.channel, self.compute_dtype), self.segments, axis=0)
            pos = ops.concatenate([pos, chan], axis=-1)
        queries = ops.tile(pos, (rows // self.channels, 1))  # (rows * segments, units), rows in batch-major order
        return [ops.expand_dims(queries, 1)] + [ops.repeat(s, self.segments, axis=0) for s in states]

    def compute_output_shape(self, input_shape):
        units = input_shape[0][-1]
        return [(None, 1, units)] + [(None, units) for _ in input_shape]

    def get_config(self):
        return {**super().get_config(), "segments": self.segments, "channels": self.channels}


@keras.saving.register_keras_serializable(package="seqlab")
class JoinSegments(keras.layers.Layer):
    """(rows * segments, width) -> (rows, segments * width): a parallel decoder's segments back in time order."""

    def __init__(self, segments: int, **kwargs):
        super().__init__(**kwargs)
        self.segments = int(segments)

    def call(self, y):
        return ops.reshape(y, (-1, self.segments * ops.shape(y)[-1]))

    def compute_output_shape(self, input_shape):
        return (None, self.segments * input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "segments": self.segments}


@keras.saving.register_keras_serializable(package="seqlab")
class RowsOfFuture(keras.layers.Layer):
    """(batch, horizon, F) known-ahead values -> (batch * channels * segments, horizon / segments * F): each head
    row's share of the future, in the row order of FoldChannels (batch-major, channel-minor) and of a parallel
    decoder's segments (segment-minor); with channels = segments = 1 it is Flatten."""

    def __init__(self, channels: int = 1, segments: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.segments = int(channels), int(segments)

    def call(self, future):
        h, f = future.shape[1], future.shape[2]
        x = ops.reshape(future, (-1, 1, self.segments, (h // self.segments) * f))  # (batch, 1, segments, width)
        x = ops.tile(x, (1, self.channels, 1, 1))  # (batch, channels, segments, width)
        return ops.reshape(x, (-1, (h // self.segments) * f))

    def compute_output_shape(self, input_shape):
        return (None, (input_shape[1] // self.segments) * input_shape[2])

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "segments": self.segments}
