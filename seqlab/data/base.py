"""The contract between data and models: DataSpec, Split and Splits, plus the tf.data pipeline."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..spec import TASKS, DataSpec  # noqa: F401 (re-exported: seqlab.data.base.DataSpec)
from .tensors import constant
from .windows import WindowRanges

# up to this many examples an epoch's shuffled order is one permutation held in memory (4 MB at most), as every
# run before panels of millions of windows had it; above, positions are permuted a batch at a time
ORDER_IN_MEMORY = 2**20


class Split:
    """One split's examples, gathered by index so that no window is ever copied up front."""

    def __len__(self) -> int:
        raise NotImplementedError

    def arrays(self, indices: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(x, y) as numpy arrays, for all examples or the given indices."""
        raise NotImplementedError

    def _tensors(self):
        raise NotImplementedError

    def _gather(self, tensors, idx):
        raise NotImplementedError

    def dataset(self, batch_size: int, shuffle_seed: Optional[int] = None, first_epoch: int = 0,
                epochs: int = 1, drop_remainder: bool = False):
        """A tf.data pipeline of (x, y) batches for epochs [first_epoch, epochs).

        With `shuffle_seed` the order of epoch e is a pure function of (seed, e), so an epoch's order is
        the same whether the run was interrupted and resumed or not.
        """
        import tensorflow as tf

        n = len(self)
        tensors = self._tensors()
        seed = None if shuffle_seed is None else tf.constant(shuffle_seed, tf.int64)

        def batches(epoch):
            """Epoch `epoch`'s batches of example positions."""
            if seed is None:
                return tf.data.Dataset.range(n).batch(batch_size, drop_remainder=drop_remainder)
            key = tf.stack([seed, tf.cast(epoch, tf.int64)])
            if n <= ORDER_IN_MEMORY:  # the epoch's permutation, held whole (4 bytes a position)
                order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int32), seed=key)
                return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=drop_remainder)
            # a permutation computed a batch at a time (no memory per example): position j -> index_shuffle(j)
            return tf.data.Dataset.range(n).batch(batch_size, drop_remainder=drop_remainder).map(
                lambda j: tf.random.experimental.index_shuffle(j, seed=key, max_index=tf.constant(n - 1, tf.int64)))

        ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(batches)
        ds = ds.map(lambda idx: self._gather(tensors, idx), num_parallel_calls=tf.data.AUTOTUNE,
                    deterministic=True)
        # flat_map hides the length; Keras needs it to run validation without "ran out of data"
        total = max(0, epochs - first_epoch) * self.steps(batch_size, drop_remainder)
        ds = ds.apply(tf.data.experimental.assert_cardinality(total))
        # tf.data's default graph rewrites serialise the pipeline, copying every captured tensor (the whole
        # series) once more; the pipeline already batches, maps in parallel and prefetches as those would
        options = tf.data.Options()
        options.experimental_optimization.apply_default_optimizations = False
        return ds.prefetch(tf.data.AUTOTUNE).with_options(options)

    def steps(self, batch_size: int, drop_remainder: bool = False) -> int:
        n = len(self)
        return n // batch_size if drop_remainder else math.ceil(n / batch_size)


class ArraySplit(Split):
    """Examples are the rows of x and y."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def arrays(self, indices=None):
        if indices is None:
            return self.x, self.y
        return self.x[indices], self.y[indices]

    def _tensors(self):
        import tensorflow as tf

        return tf.constant(self.x), tf.constant(self.y)

    def _gather(self, tensors, idx):
        import tensorflow as tf

        x, y = tensors
        return tf.gather(x, idx), tf.gather(y, idx)


class TokenSplit(ArraySplit):
    """Token-id rows padded at the end with 0, kept in order of length: each batch is cut to its longest row,
    so scoring long but mostly short texts costs the tokens they have, not the padded width."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        order = np.argsort((x != 0).sum(axis=1), kind="stable")
        super().__init__(x[order], y[order])

    def _gather(self, tensors, idx):
        import tensorflow as tf

        x, y = super()._gather(tensors, idx)
        width = tf.maximum(tf.reduce_max(tf.reduce_sum(tf.cast(x != 0, tf.int32), axis=1)), 1)
        return x[:, :width], y  # (batch, longest row in the batch)


class WindowSplit(Split):
    """Sliding windows: example i reads inputs[s:s+input_len] and targets[s+input_len:s+input_len+horizon],
    with s = starts[i]. The series is stored once; windows are gathered per batch.

    `panel` (a Panel, for many series stored one after another): says which series each window belongs to; a
    window never crosses from one series into the next (the loader gives only starts that lie inside one).

    With `future` (rows, F), values known ahead (calendar features, dataset.future_columns), an example's input is
    the dict {"series": inputs[s:s+input_len], "future": future[s+input_len:s+input_len+horizon]}; with
    `series_ids` (a panel under model.series_embedding) the dict also holds "series_id", the window's series (int32)."""

    def __init__(self, inputs: np.ndarray, targets: np.ndarray, starts, input_len: int, horizon: int,
                 panel: Optional["Panel"] = None, future: Optional[np.ndarray] = None, series_ids: bool = False):
        self.inputs = inputs  # (rows, features)
        self.targets = targets  # (rows, n_targets); may be the same array as inputs (no second copy)
        self.future = future  # (rows, known-ahead features) or None
        if not isinstance(starts, WindowRanges):
            starts = np.asarray(starts)
            # int32 where the rows allow: one number per window
            small = len(inputs) < 2**31 and starts.dtype.kind == "i"
            starts = starts.astype(np.int32 if small else np.int64, copy=False)
        self.start_index = starts  # the windows' starts: an array, or WindowRanges (one range per series)
        self.input_len, self.horizon = input_len, horizon
        self.panel = panel
        self.series_ids = series_ids and panel is not None

    def __len__(self) -> int:
        return len(self.start_index)

    @property
    def starts(self) -> np.ndarray:
        """Every window's start row (made on demand from WindowRanges)."""
        return self._starts()

    def _starts(self, indices=None) -> np.ndarray:
        index = self.start_index
        if isinstance(index, WindowRanges):
            return index.take(indices)
        return (index if indices is None else index[indices]).astype(np.int64)

    def arrays(self, indices=None):
        from numpy.lib.stride_tricks import sliding_window_view

        starts = self._starts(indices)
        # views (no copy) of shape (windows, features, len) -> (windows, len, features)
        xv = sliding_window_view(self.inputs, self.input_len, axis=0).transpose(0, 2, 1)
        yv = sliding_window_view(self.targets[self.input_len:], self.horizon, axis=0).transpose(0, 2, 1)
        extra = {}
        if self.future is not None:
            fv = sliding_window_view(self.future[self.input_len:], self.horizon, axis=0).transpose(0, 2, 1)
            extra["future"] = fv[starts]
        if self.series_ids:
            extra["series_id"] = self.panel.series_of(starts).astype(np.int32)  # (windows,)
        return ({"series": xv[starts], **extra} if extra else xv[starts]), yv[starts]

    def series_index(self, indices=None) -> np.ndarray:
        """The series (0..n_series-1) each window belongs to; all zeros for a single series."""
        starts = self._starts(indices)
        return np.zeros(len(starts), np.int64) if self.panel is None else self.panel.series_of(starts)

    def origin(self, indices=None) -> np.ndarray:
        """Each window's forecast origin: the row of its last input step within its own series."""
        starts = self._starts(indices) + self.input_len - 1
        return starts if self.panel is None else starts - self.panel.offsets[self.panel.series_of(starts)]

    def head(self, limit: int) -> "WindowSplit":
        index = self.start_index
        return WindowSplit(self.inputs, self.targets, index.head(limit) if isinstance(index, WindowRanges) else
                           index[:limit], self.input_len, self.horizon, self.panel, self.future, self.series_ids)

    def seasonal_naive(self, indices=None, season: int = 1) -> np.ndarray:
        """The seasonal naive forecast of each window, (windows, horizon, n_targets): its series' last `season`
        target values up to the origin, repeated (the last value for season 1, and where the series has less
        than a season up to the origin)."""
        last = self._starts(indices) + self.input_len - 1  # the origin's row in self.targets
        m = np.where(self.origin(indices) + 1 >= season, season, 1)[:, None]  # (windows, 1)
        rows = last[:, None] + 1 - m + np.arange(self.horizon)[None, :] % m  # (windows, horizon)
        return self.targets[rows]

    def _tensors(self):
        import tensorflow as tf

        inputs = constant(self.inputs)
        targets = inputs if self.targets is self.inputs else constant(self.targets)
        future = None if self.future is None else constant(self.future)
        offsets = constant(np.asarray(self.panel.offsets, np.int64)) if self.series_ids else None
        index = self.start_index
        if isinstance(index, WindowRanges):  # per-series ranges: a few numbers per series
            starts = tuple(tf.constant(a) for a in (index.first, index.begins, index.ends))
        else:
            starts = constant(index)
        return inputs, targets, starts, future, offsets

    def _gather(self, tensors, idx):
        import tensorflow as tf

        inputs, targets, starts, future, offsets = tensors
        idx = tf.cast(idx, tf.int64)
        if isinstance(starts, tuple):  # WindowRanges: the range holding each window, then its place in it
            first, begins, ends = starts
            k = tf.searchsorted(ends, idx, side="right")
            s = tf.gather(first, k) + (idx - tf.gather(begins, k)) * self.start_index.stride
        else:
            s = tf.cast(tf.gather(starts, idx), tf.int64)
        s = s[:, None]  # (batch, 1)
        xi = s + tf.range(self.input_len, dtype=tf.int64)[None, :]  # (batch, input_len)
        yi = s + self.input_len + tf.range(self.horizon, dtype=tf.int64)[None, :]  # (batch, horizon)
        x, extra = tf.gather(inputs, xi), {}
        if future is not None:
            extra["future"] = tf.gather(future, yi)
        if offsets is not None:  # the series holding each window's first row, as Panel.series_of
            extra["series_id"] = tf.cast(tf.searchsorted(offsets, s[:, 0], side="right") - 1, tf.int32)
        return ({"series": x, **extra} if extra else x), tf.gather(targets, yi)


@dataclass
class Panel:
    """Many series stored one after another in the rows of a WindowSplit's arrays: series k owns rows
    [offsets[k], offsets[k+1]), and is named ids[k]."""

    ids: List[str]
    offsets: np.ndarray  # (n_series + 1,) int64, offsets[0] = 0

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def series_of(self, rows: np.ndarray) -> np.ndarray:
        """The series that holds each (global) row."""
        return np.searchsorted(self.offsets, np.asarray(rows, np.int64), side="right") - 1


@dataclass
class Splits:
    train: Split
    val: Split
    test: Split
    baseline_name: str = ""  # e.g. "repeat last value", "majority class"
    # the naive baseline's metrics (Keras metric names) on self.test, computed on demand so that a
    # limited test split gets its own baseline
    baseline_fn: Optional[Callable[["Splits"], Dict[str, float]]] = None
    info: Dict[str, object] = field(default_factory=dict)  # e.g. normalisation statistics (metrics.json "data")
    # what inference needs beyond `info` (vocabulary, normalisation, column names); never in metrics.json
    artifacts: Dict[str, Any] = field(default_factory=dict)
    # forecasting: what sMAPE/MASE on original values need (data.scoring.SeriesScoring); None for other tasks
    scoring: Optional[Any] = None

    def baseline(self) -> Dict[str, float]:
        return self.baseline_fn(self) if self.baseline_fn else {}

    def limited(self, limit: Optional[int]) -> "Splits":
        """Cap every split at `limit` examples (dataset.limit); the first examples are kept."""
        if not limit:
            return self
        return Splits(*(_head(s, limit) for s in (self.train, self.val, self.test)),
                      baseline_name=self.baseline_name, baseline_fn=self.baseline_fn, info=self.info,
                      artifacts=self.artifacts, scoring=self.scoring)


def with_series_ids(splits: Splits, spec: DataSpec) -> Tuple[Splits, DataSpec]:
    """A panel's splits whose windows also give their series ("series_id", for model.series_embedding), and the
    spec that counts the series."""
    def ids(s: WindowSplit) -> WindowSplit:
        return WindowSplit(s.inputs, s.targets, s.start_index, s.input_len, s.horizon, s.panel, s.future, True)

    parts = [ids(s) for s in (splits.train, splits.val, splits.test)]
    return dataclasses.replace(splits, train=parts[0], val=parts[1], test=parts[2]), \
        dataclasses.replace(spec, n_series=len(parts[0].panel))


def _head(split: Split, limit: int) -> Split:
    if len(split) <= limit:
        return split
    if isinstance(split, WindowSplit):
        return split.head(limit)
    if isinstance(split, ArraySplit):
        return ArraySplit(split.x[:limit], split.y[:limit])
    raise TypeError(f"cannot limit {type(split).__name__}")
