"""The shipped sweep presets: YAML files on the one SweepConfig schema (conf/sweep/<name>.yaml).

A sweep YAML of the user's own (`hydra.searchpath=[file://DIR]` with DIR/sweep/NAME.yaml) needs no entry: it
composes on the same schema, and validate() checks it like a preset.
"""

from __future__ import annotations

from ..registry import REGISTRIES
from .schema import SweepConfig
from .store import options

# presets are pure data on one schema: every conf/sweep/<name>.yaml is an option, nothing else to list
for _name in options("sweep"):
    REGISTRIES["sweep"].add(_name, SweepConfig, schema_name="sweep")
