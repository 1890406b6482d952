"""Typed config schemas for every Hydra group, their registration, and cross-field validation.

No TensorFlow here: composing a config, `--help` and `--cfg job` must stay fast. An option's own schema lives
beside its code (seqlab/data/*, seqlab/models/*) and is registered in seqlab.registry; the names below that
live there are imported on first use.
"""

from .errors import ConfigError, config_error
from .metric import MEASURED_OBJECTIVES, objective_direction, objective_directions, objective_name, objective_names
from .schema import (
    GROUPS,
    CheckpointConfig,
    Config,
    DatasetConfig,
    DistributedConfig,
    ModelConfig,
    RegularizerConfig,
    SequenceModelConfig,
    SweepConfig,
    TensorBoardConfig,
    TrainerConfig,
)
from .space import config_leaves, sweep_space
from .store import compose, conf_dir, options, register
from .validation import validate

# schema name -> the module that defines (and registers) it
_OPTION_SCHEMAS = {
    "SeriesConfig": "seqlab.data.series", "SineConfig": "seqlab.data.series", "CsvConfig": "seqlab.data.series",
    "EttConfig": "seqlab.data.series", "AddingConfig": "seqlab.data.adding", "TextConfig": "seqlab.data.text",
    "TextSynthConfig": "seqlab.data.text", "TextCsvConfig": "seqlab.data.text", "ImdbConfig": "seqlab.data.text",
    "UcrConfig": "seqlab.data.ucr", "CustomDatasetConfig": "seqlab.data.custom", "RNNConfig": "seqlab.models.rnn",
    "Conv1DConfig": "seqlab.models.conv1d", "CustomModelConfig": "seqlab.models.custom",
}


def __getattr__(name: str):
    if name == "SCHEMAS":  # group -> {schema name -> dataclass}, from the registries
        from ..registry import SCHEMAS

        return SCHEMAS
    if name in _OPTION_SCHEMAS:
        import importlib

        return getattr(importlib.import_module(_OPTION_SCHEMAS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GROUPS", "SCHEMAS", "CheckpointConfig", "Config", "ConfigError", "DatasetConfig", "DistributedConfig",
    "ModelConfig", "RegularizerConfig", "SequenceModelConfig", "SweepConfig", "TensorBoardConfig", "TrainerConfig",
    "compose", "conf_dir", "config_error", "config_leaves", "objective_direction", "objective_directions",
    "objective_name", "objective_names", "MEASURED_OBJECTIVES", "options", "register",
    "sweep_space", "validate",
]
