"""Models: `build(model_cfg, reg_cfg, spec) -> keras.Model` (uncompiled), one module per model family.

Importing this package registers the model and regularizer options (seqlab.registry) without importing Keras.
"""

from __future__ import annotations

import importlib
import pkgutil

from .build import build, head_for, output_shape_for, resolve_norm

# shared code, not options (layers, adversarial and blocks import Keras); every other module here registers its
# options on import, so a new model family is one module (schema, builder, check, registration) plus its YAML
SUPPORT_MODULES = ("build", "blocks", "heads", "layers", "adversarial", "fast_lstm")
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in SUPPORT_MODULES:
        importlib.import_module(f"{__name__}.{_module.name}")

# every module holding a @keras.saving.register_keras_serializable class: import them all before load_model
KERAS_MODULES = ("seqlab.models.layers", "seqlab.models.heads", "seqlab.models.adversarial", "seqlab.models.fast_lstm")

__all__ = ["KERAS_MODULES", "SUPPORT_MODULES", "build", "head_for", "output_shape_for", "resolve_norm"]
