"""Typed schemas (dataclasses) for every Hydra group; each YAML option extends one of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING


# --------------------------------------------------------------------------- dataset
@dataclass
class DatasetConfig:
    name: str = MISSING
    limit: Optional[int] = None  # cap on examples per split, for quick looks and smoke tests


@dataclass
class SeriesConfig(DatasetConfig):
    """Forecasting from sliding windows over a multivariate series."""

    input_len: int = 48
    horizon: int = 12
    stride: int = 1
    # fractions of rows for (train, val); test gets the rest
    split: List[float] = field(default_factory=lambda: [0.7, 0.15])
    # explicit row boundaries [train_end, val_end, test_end]; override `split` when set
    boundaries: Optional[List[int]] = None
    features: Optional[List[str]] = None  # input columns; default: all numeric columns
    targets: Optional[List[str]] = None  # output columns; default: all numeric columns
    normalize: bool = True  # z-score with training-split statistics only
    interpolate: bool = False  # fill NaNs by linear interpolation instead of failing


@dataclass
class SineConfig(SeriesConfig):
    length: int = 4000
    channels: int = 2
    periods: List[float] = field(default_factory=lambda: [24.0, 57.0, 130.0])
    noise: float = 0.1


@dataclass
class CsvConfig(SeriesConfig):
    path: str = MISSING
    time_column: Optional[str] = None


@dataclass
class EttConfig(SeriesConfig):
    """ETT benchmark under the DLinear/PatchTST protocol (boundaries in rows)."""

    file: str = "ETTh1.csv.gz"
    url: str = ""
    sha256: str = ""
    time_column: Optional[str] = "date"


@dataclass
class AddingConfig(DatasetConfig):
    """The adding problem (Hochreiter & Schmidhuber 1997): sum the two marked values in a sequence of T."""

    length: int = 50
    train_size: int = 10000
    val_size: int = 1000
    test_size: int = 1000


@dataclass
class TextConfig(DatasetConfig):
    max_tokens: int = 20000
    sequence_length: int = 200
    truncate: str = "post"  # longer texts lose their end ("post") or their beginning ("pre"), as in pad_sequences
    # validation and test texts are cut at this length instead (null: sequence_length): a longer one lets a
    # length-agnostic model (RNN + pooling) read whole reviews at evaluation while training stays cheap
    eval_sequence_length: Optional[int] = None
    val_fraction: float = 0.1  # carved out of the training split


@dataclass
class TextSynthConfig(TextConfig):
    train_size: int = 4000
    val_size: int = 500
    test_size: int = 1000
    max_tokens: int = 200
    sequence_length: int = 16


@dataclass
class TextCsvConfig(TextConfig):
    path: str = MISSING
    text_column: str = "text"
    label_column: str = "label"
    split_column: Optional[str] = None  # column with train/test values; else a random test split
    test_fraction: float = 0.2


@dataclass
class ImdbConfig(TextConfig):
    file: str = "imdb_reviews.csv.gz"
    url: str = ""
    sha256: str = ""


@dataclass
class UcrConfig(DatasetConfig):
    train_path: str = MISSING
    test_path: str = MISSING
    padding: Optional[str] = None  # None: rows must have equal length; "pre" or "post": pad with zeros
    val_fraction: float = 0.2
    normalize: bool = True


# --------------------------------------------------------------------------- model
@dataclass
class ModelConfig:
    name: str = MISSING
    layers: int = 1
    pooling: str = "last"  # last | average | max
    embedding_dim: int = 64  # text datasets only
    # window forecasting only (see docs/RESULTS.md, ETTh1): per-window input normalisation whose level is added
    # back to the forecast (last: NLinear, revin: window mean/std), one shared model per channel, input patches
    norm: str = "none"  # none | last | revin
    channel_independent: bool = False
    patch: int = 0  # steps per patch (0: none); must divide dataset.input_len


@dataclass
class RNNConfig(ModelConfig):
    units: int = 32
    bidirectional: bool = False
    unroll: bool = False


@dataclass
class Conv1DConfig(ModelConfig):
    filters: int = 32
    kernel_size: int = 5
    padding: str = "causal"  # causal | same | valid
    dilated: bool = True  # dilation 2**i in layer i
    # 3 dilated layers see 1 + (kernel_size - 1) * 7 steps; one layer (5 steps) plateaued on the default data
    layers: int = 3
    pooling: str = "average"


# --------------------------------------------------------------------------- regularizer
@dataclass
class RegularizerConfig:
    name: str = MISSING
    l2: float = 0.0  # on kernel and recurrent weights
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    # text models: adversarial training on the word embeddings (Miyato et al. 2017), perturbation norm in units
    # of a review's RMS word-vector norm; 0 turns it off. Each step costs ~3x a plain one
    adversarial: float = 0.0


# --------------------------------------------------------------------------- trainer
@dataclass
class CheckpointConfig:
    every: int = 1  # epochs between checkpoints; 0 turns checkpoints off
    keep: int = 3  # keep the last N (plus the best)


@dataclass
class TensorBoardConfig:
    enabled: bool = True
    update_freq: Any = "epoch"  # "epoch" or every N steps
    histogram_freq: int = 1  # epochs between weight histograms; 0 turns them off
    write_graph: bool = True
    probe_size: int = 64  # training examples in the fixed batch the gradient norm is measured on


@dataclass
class TrainerConfig:
    name: str = MISSING
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"  # adam | adamw | sgd | rmsprop
    lr: float = 1e-3
    lr_schedule: str = "constant"  # constant | exponential | cosine
    decay_rate: float = 0.9  # exponential: lr * decay_rate ** (step / decay_steps)
    decay_steps: int = 1000
    weight_decay: float = 1e-4  # adamw only
    momentum: float = 0.0  # sgd / rmsprop
    clipnorm: Optional[float] = None
    patience: Optional[int] = None  # early stopping on val_loss, restoring the best weights
    shuffle: bool = True  # reshuffle the training examples every epoch; the order is a function of (seed, epoch)
    jit_compile: Any = "auto"  # XLA for the train/eval steps: true | false | auto (see README, "Speed")
    eager: bool = False  # run the training loop un-compiled (debugging; ~10x slower, 25-100x for RNNs on CPU)
    verbose: int = 1  # 0 silent, 1 progress bar, 2 one line per epoch
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    tensorboard: TensorBoardConfig = field(default_factory=TensorBoardConfig)


# --------------------------------------------------------------------------- sweep
@dataclass
class DistributedConfig:
    """Keras Tuner's chief/worker mode: the chief serves the oracle over gRPC, workers run trials (shared sweep dir)."""

    role: Optional[str] = None  # None: one process (or the KERASTUNER_* variables) | chief | worker
    oracle_ip: str = "127.0.0.1"  # the chief listens here: an address on a trusted network (no auth, no TLS)
    oracle_port: int = 8000
    tuner_id: Optional[str] = None  # a worker's name, unique per worker; default worker-<host>-<pid>
    lease_seconds: float = 60.0  # a worker silent this long loses its trial to another worker


@dataclass
class SweepConfig:
    name: str = MISSING
    tuner: str = "random"  # random | bayesian | hyperband | grid
    objective: str = "val_loss"
    direction: Optional[str] = None  # min | max; inferred from the objective when unset
    max_trials: int = 10
    executions_per_trial: int = 1  # each from a fresh initialisation (seed + k); the objective is their mean
    max_epochs: Optional[int] = None  # hyperband: epochs of the longest bracket (default trainer.epochs)
    resume: bool = True  # continue this sweep dir's (or the latest matching unfinished sweep's) state
    isolation: str = "process"  # process: each trial in a forked child (flat memory) | none: in the tuner process
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    space: Dict[str, Any] = field(default_factory=dict)  # dotted config key -> {type: float|int|choice, ...}


# --------------------------------------------------------------------------- root
@dataclass
class Config:
    dataset: DatasetConfig = MISSING
    model: ModelConfig = MISSING
    regularizer: RegularizerConfig = MISSING
    trainer: TrainerConfig = MISSING
    sweep: SweepConfig = MISSING
    seed: int = 0
    deterministic: bool = False
    resume: bool = False
    data_dir: Optional[str] = None


# group -> {schema name -> dataclass}; YAML options extend these through `/schema/<group>/<name>@_here_`.
SCHEMAS: Dict[str, Dict[str, type]] = {
    "dataset": {
        "series": SeriesConfig,
        "sine": SineConfig,
        "csv": CsvConfig,
        "ett": EttConfig,
        "adding": AddingConfig,
        "text": TextConfig,
        "text_synth": TextSynthConfig,
        "text_csv": TextCsvConfig,
        "imdb": ImdbConfig,
        "ucr": UcrConfig,
    },
    "model": {"rnn": RNNConfig, "conv1d": Conv1DConfig},
    "regularizer": {"regularizer": RegularizerConfig},
    "trainer": {"trainer": TrainerConfig},
    "sweep": {"sweep": SweepConfig},
}

GROUPS = ("dataset", "model", "regularizer", "trainer", "sweep")
