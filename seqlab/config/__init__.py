"""Typed config schemas for every Hydra group, their registration, and cross-field validation.

No TensorFlow here: composing a config, `--help` and `--cfg job` must stay fast.
"""

from .checks import validate
from .errors import ConfigError, config_error
from .schema import (
    GROUPS,
    SCHEMAS,
    AddingConfig,
    CheckpointConfig,
    Config,
    Conv1DConfig,
    CsvConfig,
    DatasetConfig,
    DistributedConfig,
    EttConfig,
    ImdbConfig,
    ModelConfig,
    RegularizerConfig,
    RNNConfig,
    SeriesConfig,
    SineConfig,
    SweepConfig,
    TensorBoardConfig,
    TextConfig,
    TextCsvConfig,
    TextSynthConfig,
    TrainerConfig,
    UcrConfig,
)
from .space import config_leaves, objective_direction, sweep_space
from .store import compose, conf_dir, options, register

__all__ = [
    "GROUPS", "SCHEMAS", "AddingConfig", "CheckpointConfig", "Config", "ConfigError", "Conv1DConfig", "CsvConfig",
    "DatasetConfig", "DistributedConfig", "EttConfig", "ImdbConfig", "ModelConfig", "RNNConfig", "RegularizerConfig",
    "SeriesConfig", "SineConfig", "SweepConfig", "TensorBoardConfig", "TextConfig", "TextCsvConfig",
    "TextSynthConfig", "TrainerConfig", "UcrConfig", "compose", "conf_dir", "config_error", "config_leaves",
    "objective_direction", "options", "register", "sweep_space", "validate",
]
