"""Device settings of a run: the mixed-precision policy (trainer.precision) and GPU memory growth."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def configure(trainer=None) -> None:
    """Set the global dtype policy of the layers built next (float32 without a trainer config: nothing leaks from
    an earlier run in this process) and, on a GPU, memory growth (trainer.gpu_memory_growth, default on)."""
    import keras
    import tensorflow as tf

    precision = trainer.precision if trainer is not None else "float32"
    keras.mixed_precision.set_global_policy(precision)
    if precision != "float32":
        # the head and the loss stay float32 (seqlab.models.blocks); mixed_float16 adds loss scaling
        log.info("trainer.precision=%s: layers compute in %s, variables, head and loss in float32",
                 precision, keras.mixed_precision.global_policy().compute_dtype)
    gpus = tf.config.list_physical_devices("GPU")
    growth = trainer.gpu_memory_growth if trainer is not None else True
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, growth)
        except RuntimeError:  # the GPU runtime has started (an earlier run in this process): the setting stands
            log.debug("memory growth of %s already fixed for this process", gpu.name)

