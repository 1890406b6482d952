"""Models: `build(model_cfg, reg_cfg, spec) -> keras.Model` (uncompiled), one module per model family.

Importing this package registers the model and regularizer options (seqlab.registry) without importing Keras.
"""

from __future__ import annotations

from . import conv1d, custom, regularizers, rnn  # noqa: F401 (they register their options)
from .build import build, head_for, output_shape_for

# every module holding a @keras.saving.register_keras_serializable class: import them all before load_model
KERAS_MODULES = ("seqlab.models.layers", "seqlab.models.adversarial")

__all__ = ["KERAS_MODULES", "build", "head_for", "output_shape_for"]
