"""The regularizer options: presets of one schema (RegularizerConfig), applied inside the model builders."""

from __future__ import annotations

from ..config.schema import RegularizerConfig
from ..config.store import options
from ..registry import REGISTRIES

# presets are pure data on one schema: every conf/regularizer/<name>.yaml is an option, nothing else to list
for _name in options("regularizer"):
    REGISTRIES["regularizer"].add(_name, RegularizerConfig, schema_name="regularizer")
