"""The base schemas of every Hydra group, the trainer, regularizer and sweep schemas, and the root Config.

An option's own schema lives beside its code (e.g. RNNConfig in seqlab/models/rnn.py) and is registered there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import MISSING

# --------------------------------------------------------------------------- the lists of choices (their one home)
# A field made with one_of() carries its choices: the checks (config/checks.py), --help, the code that maps them
# (e.g. train/optim.py) and the generated config reference (docs/reference/config.md) all read them from here.
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
LR_SCHEDULES = ("constant", "exponential", "cosine", "plateau")
REGRESSION_LOSSES = ("mse", "mae", "huber")  # trainer.loss besides auto: keras.losses for regression targets
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")  # trainer.precision: Keras dtype policies
DISTRIBUTE = ("none", "mirrored", "multi_worker")
TUNERS = ("random", "bayesian", "hyperband", "grid", "tpe")
PRUNERS = ("none", "median", "asha")  # sweep.pruner (seqlab/tune/pruning.py holds the rule)
POOLINGS = ("last", "average", "max")
NORMS = ("auto", "none", "last", "revin")


def one_of(default: Any, choices: Any) -> Any:
    """A dataclass field whose value must be one of `choices` (kept in the field's metadata)."""
    return field(default=default, metadata={"choices": tuple(choices)})


def choices_of(schema: type, name: str) -> Optional[tuple]:
    """The choices of field `name` of a schema dataclass (None: any value of its type)."""
    import dataclasses

    for f in dataclasses.fields(schema):
        if f.name == name:
            return f.metadata.get("choices")
    return None


# --------------------------------------------------------------------------- dataset
@dataclass
class DatasetConfig:
    name: str = MISSING
    limit: Optional[int] = None  # cap on examples per split, for quick looks and smoke tests


# --------------------------------------------------------------------------- model
@dataclass
class ModelConfig:
    name: str = MISSING
    # forecasting: a multi-quantile head trained with the pinball loss, e.g. [0.1, 0.5, 0.9] (sorted, unique, in
    # (0, 1)); the quantile nearest 0.5 is the point forecast the metrics use (docs/intervals.md). null: one value
    quantiles: Optional[List[float]] = None
    # panels (dataset=panel): a learned embedding of each series' id, this many values, beside the head (0/null: off)
    series_embedding: Optional[int] = None


@dataclass
class SequenceModelConfig(ModelConfig):
    """The keys every built-in model (seqlab/models/rnn.py, conv1d.py) shares."""

    layers: int = 1  # stacked recurrent layers or convolution blocks
    pooling: str = one_of("last", POOLINGS)  # how the sequence is reduced before the head
    embedding_dim: int = 64  # text datasets only
    # window forecasting only (see docs/results-history.md, ETTh1): per-window input normalisation whose level is added
    # back to the forecast (last: NLinear, revin: window mean/std), one shared model per channel, input patches.
    # auto (default): last for window forecasting, where test values may lie outside the training range (a trend
    # or level shift, docs/results-history.md "Defaults vs the naive baseline"); none elsewhere
    norm: str = one_of("auto", NORMS)
    channel_independent: bool = False  # one shared model per channel (window forecasting)
    patch: int = 0  # steps per patch (0: none); must divide dataset.input_len


# --------------------------------------------------------------------------- regularizer
@dataclass
class RegularizerConfig:
    name: str = MISSING
    l2: float = 0.0  # on kernel and recurrent weights
    dropout: float = 0.0  # recurrent models: on each layer's inputs; conv1d: spatial, after each block; and the head's
    recurrent_dropout: float = 0.0  # recurrent models: dropout on the recurrent state
    # dropout on the head's input alone; null = regularizer.dropout. SegRNN (Lin et al. 2023) drops only there:
    # regularizer.dropout=0 regularizer.head_dropout=0.5
    head_dropout: Optional[float] = None
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
    enabled: bool = True  # write TensorBoard logs under <run dir>/tb
    update_freq: Any = "epoch"  # "epoch" or every N steps
    histogram_freq: int = 1  # epochs between weight histograms; 0 turns them off
    write_graph: bool = True  # the model graph in TensorBoard's Graphs tab
    probe_size: int = 64  # training examples in the fixed batch the gradient norm is measured on
    image_freq: int = 5  # epochs between forecast-vs-actual images of fixed test windows; 0: only at the end
    image_windows: int = 3  # fixed test windows drawn (forecasting)
    wrong_texts: int = 10  # most confidently wrong test texts in the text table (text classification)


@dataclass
class ClusterConfig:
    """trainer.distribute=multi_worker: the workers (task 0 is the chief) and this process's place among them."""

    workers: List[str] = field(default_factory=list)  # host:port of every worker; empty: read TF_CONFIG
    task_index: Optional[int] = None  # this process's index in workers
    timeout_s: float = 60.0  # a collective that waits longer for a peer fails the run (a dead or stuck worker)


@dataclass
class TrainerConfig:
    name: str = MISSING
    epochs: int = 10  # passes over the training split (early stopping may end sooner)
    batch_size: int = 64  # examples per optimizer step (the global batch under trainer.distribute)
    # a batch of this fraction of the training examples, at least 1 and at most batch_size (null: batch_size).
    # Fawaz et al. 2019 train small series sets with min(n / 10, 16): batch_fraction=0.1 batch_size=16
    batch_fraction: Optional[float] = None
    optimizer: str = one_of("adam", OPTIMIZERS)  # the Keras optimizer
    lr: float = 1e-3  # learning rate (the start of the schedule)
    # plateau: ReduceLROnPlateau, the rate times decay_rate after lr_patience epochs without a lower monitored loss
    # (val_loss; the training loss without a validation split), down to min_lr
    lr_schedule: str = one_of("constant", LR_SCHEDULES)
    decay_rate: float = 0.9  # exponential: lr * decay_rate ** (step / decay_steps); plateau: the factor (< 1)
    decay_steps: int = 1000  # exponential / cosine: steps over which the rate decays
    lr_patience: int = 10  # plateau only: epochs without improvement before the rate is cut
    min_lr: float = 0.0  # plateau only: the floor
    weight_decay: float = 1e-4  # adamw only
    momentum: float = 0.0  # sgd / rmsprop
    clipnorm: Optional[float] = None  # clip each gradient to this norm (null: no clipping)
    # auto: the data decides (mse for regression, binary / sparse categorical cross-entropy for classes); regression
    # may train on mae (L1: robust to outlying targets) or huber (delta 1) instead. Metrics stay mse and mae, and
    # early stopping and sweeps read val_loss, i.e. this loss on the validation split
    loss: str = one_of("auto", ("auto", *REGRESSION_LOSSES))
    patience: Optional[int] = None  # early stopping on val_loss, restoring the best weights
    # early stopping: a val_loss lower by less than this is no improvement (a solved problem's loss creeps to 0)
    min_delta: float = 0.0
    shuffle: bool = True  # reshuffle the training examples every epoch; the order is a function of (seed, epoch)
    jit_compile: Any = "auto"  # XLA for the train/eval steps: true | false | auto (see docs/training.md, "Speed")
    # auto | N: with XLA on a CPU-only machine, each step's batch as N row groups, one XLA program per core, run side
    # by side (seqlab.train.shards); auto = one per core where XLA is used and the groups cannot interfere; 1 = off
    cpu_shards: Any = "auto"
    eager: bool = False  # run the training loop un-compiled (debugging; ~10x slower, 25-100x for RNNs on CPU)
    # float32 | mixed_bfloat16 | mixed_float16 (with loss scaling): layers compute in 16 bits, while the variables,
    # the head and the loss stay float32 (docs/training.md, "Speed")
    precision: str = one_of("float32", PRECISIONS)
    gpu_memory_growth: bool = True  # GPUs: take memory as needed, not all of it at start (other processes share it)
    verbose: int = one_of(1, (0, 1, 2))  # 0 silent, 1 progress bar, 2 one line per epoch
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    tensorboard: TensorBoardConfig = field(default_factory=TensorBoardConfig)
    # docs/DISTRIBUTED.md. batch_size is the global batch, split across the replicas: each step computes the
    # single-device gradient of the same batch. none | mirrored (local devices) | multi_worker (trainer=tape)
    distribute: str = one_of("none", DISTRIBUTE)
    replicas: Optional[int] = None  # mirrored: None = every local GPU (one CPU without); N = N GPUs or N logical CPUs
    # linear: lr x replicas in sync (for a batch_size grown with the replicas)
    lr_scaling: str = one_of("none", ("none", "linear"))
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    # forecasting: conformal prediction intervals at these levels in percent, e.g. [80, 95], calibrated per horizon
    # step and target on the validation windows and stored with the run (docs/intervals.md). null: none
    intervals: Optional[List[int]] = None


# --------------------------------------------------------------------------- sweep
@dataclass
class DistributedConfig:
    """Keras Tuner's chief/worker mode: the chief serves the oracle over gRPC, workers run trials (shared sweep dir)."""

    role: Optional[str] = one_of(None, (None, "chief", "worker"))  # None: one process (or KERASTUNER_* variables)
    oracle_ip: str = "127.0.0.1"  # the chief listens here: an address on a trusted network (no auth, no TLS)
    oracle_port: int = 8000  # the chief's gRPC port
    tuner_id: Optional[str] = None  # a worker's name, unique per worker; default worker-<host>-<pid>
    lease_seconds: float = 60.0  # a worker silent this long loses its trial to another worker


@dataclass
class SweepConfig:
    name: str = MISSING
    tuner: str = one_of("random", TUNERS)  # the search algorithm: Keras Tuner's, or Optuna's TPE (tpe)
    # the logged metric the search optimises (val_loss, val_accuracy, ...), or a list whose first is one, then
    # params or latency: a Pareto front (docs/SWEEPS.md)
    objective: Any = "val_loss"
    direction: Optional[str] = one_of(None, (None, "min", "max"))  # of the (first) objective; inferred when unset
    pruner: str = one_of("none", PRUNERS)  # stop a trial clearly worse than the others at the same epoch
    max_trials: int = 10  # trials in the search
    executions_per_trial: int = 1  # each from a fresh initialisation (seed + k); the objective is their mean
    max_epochs: Optional[int] = None  # hyperband: epochs of the longest bracket (default trainer.epochs)
    resume: bool = True  # continue this sweep dir's (or the latest matching unfinished sweep's) state
    # process: each trial in a forked child (flat memory); none: in the tuner process
    isolation: str = one_of("process", ("process", "none"))
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    space: Dict[str, Any] = field(default_factory=dict)  # dotted config key -> {type: float|int|choice, ...}
    # after the search, re-train the confirm_top best trials on confirm_seeds fresh seeds (seed + 100 + k) and pick
    # best.yaml on the confirmed mean (seqlab/tune/confirm.py); 0 turns it off
    confirm_top: int = 0
    confirm_seeds: int = 5  # fresh seeds per confirmed trial (sweep.confirm_top)


# --------------------------------------------------------------------------- root
@dataclass
class Config:
    dataset: DatasetConfig = MISSING
    model: ModelConfig = MISSING
    regularizer: RegularizerConfig = MISSING
    trainer: TrainerConfig = MISSING
    sweep: SweepConfig = MISSING
    seed: int = 0  # seeds every random generator (data split shuffles, initialisation, dropout)
    deterministic: bool = False  # TF op determinism + every RNG seeded: two runs give identical metrics
    resume: bool = False  # continue from the last checkpoint in the run directory
    data_dir: Optional[str] = None  # where real datasets are looked up / downloaded (default $SEQLAB_DATA_DIR)


GROUPS = ("dataset", "model", "regularizer", "trainer", "sweep")
