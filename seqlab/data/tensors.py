"""NumPy arrays as TensorFlow tensors for the input pipelines: over the array's own memory where TensorFlow allows
it, made once per array however many pipelines read it."""

from __future__ import annotations

import weakref
from typing import Dict

import numpy as np

_TENSORS: Dict[int, tuple] = {}  # id(array) -> (weak reference to it, weak reference to its tensor)


def constant(array: np.ndarray):
    """The array as a tensor, made once while both live: the train, validation and test pipelines of a series
    share its rows. Over the array's own memory where TensorFlow can read it as is (C-contiguous, 64-byte
    aligned: see `aligned_empty`), else a copy. The cache holds neither: a shared tensor keeps its array alive."""
    key = id(array)
    hit = _TENSORS.get(key)
    if hit is not None and hit[0]() is array:
        tensor = hit[1]()
        if tensor is not None:
            return tensor
    tensor = _tensor(array)
    _TENSORS[key] = (weakref.ref(array, lambda _, key=key: _TENSORS.pop(key, None)), weakref.ref(tensor))
    return tensor


def _tensor(array: np.ndarray):
    import tensorflow as tf

    if array.size and array.flags.c_contiguous and array.flags.writeable and array.ctypes.data % 64 == 0 and \
            array.dtype in (np.float32, np.float64, np.int32, np.int64):
        return tf.experimental.dlpack.from_dlpack(array.view().__dlpack__())  # no copy
    return tf.constant(array)


def aligned_empty(shape, dtype=np.float32) -> np.ndarray:
    """np.empty whose memory starts on a 64-byte boundary: TensorFlow then reads it without a copy."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buffer = np.empty(nbytes + 64, np.uint8)
    skip = -buffer.ctypes.data % 64
    return buffer[skip:skip + nbytes].view(dtype).reshape(shape)
