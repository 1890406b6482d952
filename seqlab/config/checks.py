"""validate(cfg): generic checks per group, each chosen option's own `check(cfg)`, and checks across groups.

An option's own checks live beside its code and are found through its registry entry; what one option needs
from another group is asked as a capability (`window_forecasting`, `text`, `masks_padding`), never guessed from
key or option names. No TensorFlow here.
"""

from __future__ import annotations

import math
from typing import Any, List, Optional

from omegaconf import DictConfig, OmegaConf

from .errors import config_error
from .metric import MEASURED_OBJECTIVES, objective_directions, objective_names
from .schema import GROUPS, REGRESSION_LOSSES


# --------------------------------------------------------------------------- helpers for every option's check
def check(cond: bool, key: str, expected: str, received: Any, choices: Optional[List[Any]] = None) -> None:
    """Raise `config_error(key, expected, received, choices)` unless `cond`."""
    if not cond:
        raise config_error(key, expected, received, choices)


def positive(node: DictConfig, prefix: str, *keys: str, allow_zero: bool = False) -> None:
    """Each of `keys` (when set) is > 0 (or >= 0) and finite."""
    for k in keys:
        v = node.get(k)
        if v is None:
            continue
        ok = v >= 0 if allow_zero else v > 0
        if isinstance(v, float):
            ok = ok and math.isfinite(v)
        check(ok, f"{prefix}.{k}", "a value >= 0" if allow_zero else "a value > 0", v)


def choice(node: DictConfig, prefix: str, key: str, choices: List[Any]) -> None:
    v = node.get(key)
    check(v in choices, f"{prefix}.{key}", "one of the valid choices", v, choices)


def check_choices(node: DictConfig, schema: type, prefix: str) -> None:
    """Every field of `schema` made with one_of() (nested schemas too) holds one of its choices."""
    import dataclasses

    for f in dataclasses.fields(schema):
        if "choices" in f.metadata and f.name in node:
            choice(node, prefix, f.name, list(f.metadata["choices"]))
        elif dataclasses.is_dataclass(f.default_factory if f.default_factory is not dataclasses.MISSING else None) \
                and f.name in node:
            check_choices(node[f.name], f.default_factory, f"{prefix}.{f.name}")


def fraction(node: DictConfig, prefix: str, key: str, upper_open: bool = True, lower_open: bool = False) -> None:
    """`key` in [0, 1) (or (0, 1) with lower_open, [0, 1] without upper_open)."""
    v = node.get(key)
    ok = (0.0 < v if lower_open else 0.0 <= v) and (v < 1.0 if upper_open else v <= 1.0)
    expected = f"a value in {'(' if lower_open else '['}0, 1{')' if upper_open else ']'}"
    check(ok, f"{prefix}.{key}", expected, v)


# --------------------------------------------------------------------------- validate
def check_config(cfg: DictConfig) -> None:
    """Cross-field and range checks the schema types cannot express, the sweep space aside; raises ConfigError."""
    from ..registry import entry, registry

    for group in GROUPS:
        node = cfg.get(group)
        check(node is not None and OmegaConf.select(cfg, f"{group}.name") is not None,
              group, "a config group option", node, registry(group).names())
    # a sweep YAML of the user's own (hydra.searchpath) has no entry: it composed, so its schema is SweepConfig
    entries = {g: entry(cfg, g) for g in GROUPS if g != "sweep" or cfg.sweep.name in registry("sweep")}

    check(isinstance(cfg.seed, int) and 0 <= cfg.seed < 2**32 - 1, "seed", "an integer in [0, 2**32 - 1)", cfg.seed)
    _check_known_keys(cfg, entries)
    for group, e in entries.items():
        check_choices(cfg[group], e.schema, group)
    positive(cfg.dataset, "dataset", "limit")
    _check_regularizer(cfg.regularizer)
    _check_trainer(cfg)
    _check_sweep(cfg)
    for e in entries.values():
        if e.check is not None:
            e.check(cfg)
    _check_across_groups(cfg, entries["dataset"], entries["model"])
    if cfg.sweep.name != "none":
        _check_objective_is_logged(cfg, entries["dataset"])




# metric names a task logs every epoch (train and val_), the ones a sweep objective can name
TASK_METRICS = {"regression": ("loss", "mse", "mae"), "classification": ("loss", "accuracy")}


def _check_objective_is_logged(cfg: DictConfig, dataset) -> None:
    """A sweep objective the runs never log fails here, before the first trial (custom datasets: unknown task)."""
    task = next((t for t in TASK_METRICS if dataset.has(t)), None)
    if task is None:
        return
    logged = [p + m for p in ("val_", "") for m in TASK_METRICS[task]]
    for name in objective_names(cfg.sweep):
        check(name in logged or name in MEASURED_OBJECTIVES, "sweep.objective",
              f"a metric that {task} runs on dataset={cfg.dataset.name} log every epoch",
              name, logged + list(MEASURED_OBJECTIVES))


def _check_known_keys(cfg: DictConfig, entries) -> None:
    """Every key in the config belongs to its option's schema: `+model.unit=8` is refused, not ignored."""
    from .schema import Config, SweepConfig

    _known(cfg, Config, "", extra=("hydra",))
    for group in GROUPS:
        schema = entries[group].schema if group in entries else SweepConfig
        _known(cfg[group], schema, group)


def _known(node: DictConfig, schema: type, prefix: str, extra: tuple = ()) -> None:
    import dataclasses
    import difflib
    import typing

    hints = typing.get_type_hints(schema)
    names = [f.name for f in dataclasses.fields(schema)]
    for key in node.keys():
        full = f"{prefix}.{key}" if prefix else str(key)
        if key not in names and key not in extra:
            close = difflib.get_close_matches(str(key), names, n=3, cutoff=0.6)
            what = f"{prefix}={node.get('name')}" if prefix and "name" in names else (prefix or "the root config")
            hint = f" (did you mean {', '.join(f'{prefix}.{c}' if prefix else c for c in close)}?)" if close else ""
            raise config_error(full, f"a key of {what}{hint}", OmegaConf.select(node, str(key)), names)
        kind = hints.get(key)
        if not prefix and key in GROUPS:
            continue  # each group against its chosen option's schema (_check_known_keys)
        if dataclasses.is_dataclass(kind) and isinstance(node.get(key), DictConfig):
            _known(node[key], kind, full)


def _check_regularizer(r: DictConfig) -> None:
    positive(r, "regularizer", "l2", "adversarial", allow_zero=True)
    fraction(r, "regularizer", "dropout")
    fraction(r, "regularizer", "recurrent_dropout")
    if r.head_dropout is not None:
        fraction(r, "regularizer", "head_dropout")


def _check_trainer(cfg: DictConfig) -> None:
    t = cfg.trainer
    positive(t, "trainer", "epochs", "batch_size", "lr", "decay_steps", "clipnorm", "patience")
    positive(t, "trainer", "weight_decay", "momentum", "min_delta", allow_zero=True)
    check(0 < t.decay_rate <= 1, "trainer.decay_rate", "a value in (0, 1]", t.decay_rate)
    positive(t, "trainer", "lr_patience")
    positive(t, "trainer", "min_lr", allow_zero=True)
    if t.lr_schedule == "plateau":
        check(t.decay_rate < 1, "trainer.decay_rate", "a factor below 1 with lr_schedule=plateau (each plateau "
              "multiplies the rate by it)", t.decay_rate)
        check(t.min_lr < t.lr, "trainer.min_lr", f"a floor below trainer.lr ({t.lr}) with lr_schedule=plateau",
              t.min_lr)
    fraction = t.batch_fraction
    if fraction is not None:
        check(0 < fraction <= 1, "trainer.batch_fraction", "a fraction in (0, 1] of the training examples, or null",
              fraction)
        check(t.distribute == "none", "trainer.batch_fraction",
              "null with trainer.distribute (the global batch must be known before the data load on every worker)",
              fraction)
    jit = t.jit_compile
    check(jit == "auto" or isinstance(jit, bool), "trainer.jit_compile", "true, false or auto", jit)
    check(not (jit is True and cfg.deterministic), "trainer.jit_compile",
          "false or auto with deterministic=true (TensorFlow has no deterministic XLA)", jit)
    shards = t.cpu_shards
    check(shards == "auto" or (isinstance(shards, int) and not isinstance(shards, bool) and shards >= 1),
          "trainer.cpu_shards", "auto or a number of row groups >= 1 (1 = off)", shards)
    positive(t.checkpoint, "trainer.checkpoint", "every", allow_zero=True)
    positive(t.checkpoint, "trainer.checkpoint", "keep")
    positive(t.tensorboard, "trainer.tensorboard", "histogram_freq", allow_zero=True)
    positive(t.tensorboard, "trainer.tensorboard", "probe_size")
    positive(t.tensorboard, "trainer.tensorboard", "image_freq", "image_windows", "wrong_texts", allow_zero=True)
    uf = t.tensorboard.update_freq
    check(uf == "epoch" or (isinstance(uf, int) and not isinstance(uf, bool) and uf > 0),
          "trainer.tensorboard.update_freq", "'epoch' or a positive number of steps", uf)
    _check_distribute(cfg)


def _check_distribute(cfg: DictConfig) -> None:
    """trainer.distribute and its keys; the combinations that cannot work name the trainer or key to change."""
    from .cluster import cluster_of

    t = cfg.trainer
    positive(t, "trainer", "replicas")
    positive(t.cluster, "trainer.cluster", "timeout_s")
    if t.distribute == "none":
        return
    check(t.jit_compile is not True, "trainer.jit_compile",
          f"false or auto with trainer.distribute={t.distribute} (the replicas' all-reduce runs outside XLA)",
          t.jit_compile)
    check(not t.eager, "trainer.eager", f"false with trainer.distribute={t.distribute} (strategy.run traces the step)",
          t.eager)
    if t.distribute == "mirrored":
        check(t.replicas is None or t.batch_size >= t.replicas, "trainer.batch_size",
              f"a global batch of at least trainer.replicas={t.replicas} examples (one per replica)", t.batch_size)
        return
    # Keras 3's model.fit fails under MultiWorkerMirroredStrategy (keras-team/keras#20585)
    check(t.name == "tape", "trainer", "trainer=tape with trainer.distribute=multi_worker (Keras 3's model.fit "
          "cannot run under MultiWorkerMirroredStrategy, keras-team/keras#20585; or use trainer.distribute=mirrored)",
          t.name, ["tape"])
    check(t.replicas is None, "trainer.replicas", "null with trainer.distribute=multi_worker (each worker trains on "
          "its local device; trainer.cluster.workers sets their number)", t.replicas)
    check(cfg.sweep.name == "none", "trainer.distribute", "none or mirrored in a sweep (a multi-worker cluster "
          "trains one run: spread trials over machines with sweep.distributed.*)", t.distribute,
          ["none", "mirrored"])
    cluster = cluster_of(t.cluster)
    check(t.batch_size >= cluster.size, "trainer.batch_size",
          f"a global batch of at least one example per worker ({cluster.size})", t.batch_size)


def _check_sweep(cfg: DictConfig) -> None:
    sw = cfg.sweep
    if sw.name == "none":
        return
    positive(sw, "sweep", "max_trials", "executions_per_trial", "max_epochs")
    names = objective_names(sw)
    check(len(names) > 0 and all(n and n != "None" for n in names) and len(set(names)) == len(names),
          "sweep.objective", "a metric name or a list of distinct ones (e.g. [val_loss, params])", sw.objective)
    check(names[0] not in MEASURED_OBJECTIVES, "sweep.objective",
          "a logged metric first (val_loss, val_accuracy, ...); params and latency may follow", names[0])
    check(len(names) == 1 or sw.tuner != "hyperband", "sweep.tuner",
          "a tuner other than hyperband for several objectives (its brackets rank trials on one)", sw.tuner)
    objective_directions(sw)
    d = sw.distributed
    check(0 < d.oracle_port < 65536, "sweep.distributed.oracle_port", "a port in 1..65535", d.oracle_port)
    positive(d, "sweep.distributed", "lease_seconds")
    positive(sw, "sweep", "confirm_top", allow_zero=True)
    check(not sw.confirm_top or sw.confirm_seeds >= 2, "sweep.confirm_seeds",
          "at least 2 fresh seeds per confirmed trial (an interval needs two)", sw.confirm_seeds)


def _check_across_groups(cfg: DictConfig, dataset, model) -> None:
    """What the chosen model and regularizer need from the dataset (and back), asked as capabilities."""
    from ..registry import registry

    ds, m, r = cfg.dataset, cfg.model, cfg.regularizer
    patch = m.get("patch", 0)  # model=linear has none
    if model.has("window_options") and (m.norm not in ("none", "auto") or m.channel_independent or patch):
        forecasting = registry("dataset").with_capability("window_forecasting")
        check(dataset.has("window_forecasting"), "model.norm / model.channel_independent / model.patch",
              f"a window-forecasting dataset ({', '.join(forecasting)})", ds.name)
        check(not patch or ds.input_len % patch == 0, "model.patch",
              f"a divisor of dataset.input_len ({ds.input_len})", patch)
    if cfg.trainer.loss != "auto":
        check(not dataset.has("classification"), "trainer.loss",
              f"auto for dataset={ds.name} (classes: the loss follows from the labels; "
              f"{', '.join(REGRESSION_LOSSES)} are for regression)", cfg.trainer.loss, ["auto"])
    _check_intervals(cfg, dataset, model)
    if m.get("series_embedding"):  # .get: a custom model's schema may not have it
        positive(m, "model", "series_embedding")
        check(dataset.has("series_ids"), "model.series_embedding", f"0 or null for dataset={ds.name} (one series; "
              f"datasets of many: {', '.join(registry('dataset').with_capability('series_ids'))})",
              m.series_embedding)
        check(model.has("quantiles"), "model.series_embedding", f"0 or null for model={m.name} (built-in heads: "
              f"{', '.join(registry('model').with_capability('quantiles'))})", m.series_embedding)
    if r.adversarial:
        texts = registry("dataset").with_capability("text")
        check(dataset.has("text"), "regularizer.adversarial",
              f"0 for a dataset without word embeddings (it perturbs them: {', '.join(texts)})", r.adversarial)
        check(model.has("adversarial"), "regularizer.adversarial",
              f"0 for model={m.name} (models with an AdversarialNoise layer: "
              f"{', '.join(registry('model').with_capability('adversarial'))})", r.adversarial)
    if dataset.has("text") and ds.eval_sequence_length is not None:
        if model.has("pooling") and not model.has("masks_padding"):
            # no padding mask: the last step or the average would shift with the padded width
            check(m.pooling == "max", "model.pooling",
                  f"max for model={m.name} with dataset.eval_sequence_length (models that mask the padding: "
                  f"{', '.join(registry('model').with_capability('masks_padding'))})", m.pooling, ["max"])


def _check_intervals(cfg: DictConfig, dataset, model) -> None:
    """model.quantiles (sorted, unique, in (0, 1); a built-in model; regression) and trainer.intervals (levels in
    percent, unique, in (0, 100))."""
    from ..registry import registry

    q, levels = cfg.model.quantiles, cfg.trainer.intervals
    if q is not None:
        q = list(q)
        check(len(q) >= 1 and all(isinstance(v, (int, float)) and 0 < v < 1 for v in q) and q == sorted(set(q)),
              "model.quantiles", "sorted unique quantile levels in (0, 1), e.g. [0.1, 0.5, 0.9]", q)
        check(model.has("quantiles"), "model.quantiles", f"null for model={cfg.model.name} (models with a quantile "
              f"head: {', '.join(registry('model').with_capability('quantiles'))})", q)
        check(not dataset.has("classification") and not dataset.has("text"), "model.quantiles",
              f"null for dataset={cfg.dataset.name} (quantiles are for forecasting / regression targets)", q)
        check(cfg.trainer.loss == "auto", "trainer.loss", "auto with model.quantiles (the pinball loss trains them)",
              cfg.trainer.loss, ["auto"])
    if levels is not None:
        levels = list(levels)
        check(len(levels) >= 1 and all(isinstance(v, (int, float)) and 0 < v < 100 for v in levels)
              and len(set(levels)) == len(levels), "trainer.intervals",
              "distinct interval levels in percent in (0, 100), e.g. [80, 95]", levels)
        check(not dataset.has("classification") and not dataset.has("text"), "trainer.intervals",
              f"null for dataset={cfg.dataset.name} (prediction intervals are for forecasting / regression)", levels)
