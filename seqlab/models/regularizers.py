"""The regularizer options: presets of one schema (RegularizerConfig), applied inside the model builders."""

from __future__ import annotations

from ..config.schema import RegularizerConfig
from ..registry import REGISTRIES

for _name in ("none", "l2", "dropout", "l2_dropout"):  # conf/regularizer/<name>.yaml
    REGISTRIES["regularizer"].add(_name, RegularizerConfig, schema_name="regularizer")
