"""Models: `build(model_cfg, reg_cfg, spec) -> keras.Model` (uncompiled), keyed by YAML stem."""

from __future__ import annotations

from .build import BUILDERS, build, head_for

__all__ = ["BUILDERS", "build", "head_for"]
