"""Cross-field and range checks the schema types cannot express, and the sweep space's checks."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError, config_error
from .schema import GROUPS, SCHEMAS
from .store import options


# --------------------------------------------------------------------------- validation
def _check(cond: bool, key: str, expected: str, received: Any, choices: Optional[List[Any]] = None) -> None:
    if not cond:
        raise config_error(key, expected, received, choices)


def _positive(cfg: DictConfig, prefix: str, *keys: str, allow_zero: bool = False) -> None:
    for k in keys:
        v = cfg.get(k)
        if v is None:
            continue
        ok = v >= 0 if allow_zero else v > 0
        if isinstance(v, float):
            ok = ok and math.isfinite(v)
        _check(ok, f"{prefix}.{k}", "a value >= 0" if allow_zero else "a value > 0", v)


def _choice(cfg: DictConfig, prefix: str, key: str, choices: List[Any]) -> None:
    v = cfg.get(key)
    _check(v in choices, f"{prefix}.{key}", "one of the valid choices", v, choices)


def _fraction(cfg: DictConfig, prefix: str, key: str, upper_open: bool = True) -> None:
    v = cfg.get(key)
    ok = 0.0 <= v < 1.0 if upper_open else 0.0 <= v <= 1.0
    _check(ok, f"{prefix}.{key}", "a value in [0, 1)" if upper_open else "a value in [0, 1]", v)


def validate(cfg: DictConfig) -> None:
    """Cross-field and range checks the schema types cannot express; raises ConfigError."""
    for group in GROUPS:
        node = cfg.get(group)
        _check(node is not None and OmegaConf.select(cfg, f"{group}.name") is not None,
               group, "a config group option", node, options(group))

    ds = cfg.dataset
    _positive(ds, "dataset", "limit")
    if "input_len" in ds:
        _positive(ds, "dataset", "input_len", "horizon", "stride")
        if ds.boundaries is not None:
            b = list(ds.boundaries)
            _check(len(b) == 3 and all(x > 0 for x in b) and b[0] < b[1] < b[2], "dataset.boundaries",
                   "three increasing row numbers [train_end, val_end, test_end]", b)
        else:
            s = list(ds.split)
            _check(len(s) == 2 and all(0 < x < 1 for x in s) and sum(s) < 1, "dataset.split",
                   "two fractions [train, val] in (0, 1) summing to < 1 (test gets the rest)", s)
    if "length" in ds:
        _positive(ds, "dataset", "length")
    for k in ("train_size", "val_size", "test_size", "max_tokens", "sequence_length", "channels"):
        if k in ds:
            _positive(ds, "dataset", k)
    for k in ("val_fraction", "test_fraction"):
        if k in ds:
            _check(0 < ds[k] < 1, f"dataset.{k}", "a fraction in (0, 1)", ds[k])
    if "truncate" in ds:
        _choice(ds, "dataset", "truncate", ["post", "pre"])
    if ds.get("eval_sequence_length") is not None:
        _check(ds.eval_sequence_length >= ds.sequence_length, "dataset.eval_sequence_length",
               f"null or a length >= dataset.sequence_length ({ds.sequence_length})", ds.eval_sequence_length)
        _check(not cfg.model.get("unroll"), "model.unroll",
               "false with dataset.eval_sequence_length (an unrolled RNN needs one fixed length)",
               cfg.model.get("unroll"))
    if "noise" in ds:
        _positive(ds, "dataset", "noise", allow_zero=True)
    if "padding" in ds and "train_path" in ds:
        _check(ds.padding in (None, "pre", "post"), "dataset.padding", "one of the valid choices", ds.padding,
               [None, "pre", "post"])
    for k in ("path", "train_path", "test_path"):
        if k in ds:
            _check(bool(ds[k]), f"dataset.{k}", "a file path", ds[k])

    m = cfg.model
    _positive(m, "model", "layers", "embedding_dim", "units", "filters", "kernel_size")
    _choice(m, "model", "pooling", ["last", "average", "max"])
    _choice(m, "model", "norm", ["none", "last", "revin"])
    _positive(m, "model", "patch", allow_zero=True)
    if m.norm != "none" or m.channel_independent or m.patch:
        _check("input_len" in ds, "model.norm / model.channel_independent / model.patch",
               "a window-forecasting dataset (sine, csv, etth1, ettm1)", ds.name)
        _check(not m.patch or ds.input_len % m.patch == 0, "model.patch",
               f"a divisor of dataset.input_len ({ds.input_len})", m.patch)
    if "padding" in m:
        _choice(m, "model", "padding", ["causal", "same", "valid"])
    if ds.get("eval_sequence_length") is not None and m.name == "conv1d":
        # a convolution gets no padding mask: its last step or average would shift with the padded width
        _check(m.pooling == "max", "model.pooling", "max for model=conv1d with dataset.eval_sequence_length",
               m.pooling, ["max"])

    r = cfg.regularizer
    _positive(r, "regularizer", "l2", allow_zero=True)
    _fraction(r, "regularizer", "dropout")
    _fraction(r, "regularizer", "recurrent_dropout")
    _positive(r, "regularizer", "adversarial", allow_zero=True)
    if r.get("adversarial"):
        _check("max_tokens" in ds, "regularizer.adversarial",
               "0 for a numeric dataset (it perturbs word embeddings: imdb, text_synth, text_csv)", r.adversarial)

    t = cfg.trainer
    _choice(t, "trainer", "name", ["fit", "tape"])
    _positive(t, "trainer", "epochs", "batch_size", "lr", "decay_steps", "clipnorm", "patience")
    _positive(t, "trainer", "weight_decay", "momentum", allow_zero=True)
    _check(0 < t.decay_rate <= 1, "trainer.decay_rate", "a value in (0, 1]", t.decay_rate)
    _choice(t, "trainer", "optimizer", ["adam", "adamw", "sgd", "rmsprop"])
    _choice(t, "trainer", "lr_schedule", ["constant", "exponential", "cosine"])
    _choice(t, "trainer", "verbose", [0, 1, 2])
    jit = t.get("jit_compile", "auto")
    _check(jit == "auto" or isinstance(jit, bool), "trainer.jit_compile", "true, false or auto", jit)
    _check(not (jit is True and cfg.get("deterministic")), "trainer.jit_compile",
           "false or auto with deterministic=true (TensorFlow has no deterministic XLA)", jit)
    _positive(t.checkpoint, "trainer.checkpoint", "every", allow_zero=True)
    _positive(t.checkpoint, "trainer.checkpoint", "keep")
    _positive(t.tensorboard, "trainer.tensorboard", "histogram_freq", allow_zero=True)
    _positive(t.tensorboard, "trainer.tensorboard", "probe_size")
    uf = t.tensorboard.update_freq
    _check(uf == "epoch" or (isinstance(uf, int) and not isinstance(uf, bool) and uf > 0),
           "trainer.tensorboard.update_freq", "'epoch' or a positive number of steps", uf)

    sw = cfg.sweep
    if sw.name != "none":
        _choice(sw, "sweep", "tuner", ["random", "bayesian", "hyperband", "grid"])
        _positive(sw, "sweep", "max_trials", "executions_per_trial", "max_epochs")
        _check(sw.direction in (None, "min", "max"), "sweep.direction", "one of the valid choices",
               sw.direction, [None, "min", "max"])
        objective_direction(sw)
        _choice(sw, "sweep", "isolation", ["process", "none"])
        d = sw.distributed
        _choice(d, "sweep.distributed", "role", [None, "chief", "worker"])
        _check(0 < d.oracle_port < 65536, "sweep.distributed.oracle_port", "a port in 1..65535", d.oracle_port)
        _positive(d, "sweep.distributed", "lease_seconds")
        sweep_space(cfg)


# --------------------------------------------------------------------------- sweep space
SPACE_FIELDS = {"float": {"type", "min", "max", "step", "sampling"}, "int": {"type", "min", "max", "step", "sampling"},
                "choice": {"type", "values"}}
_ENTRY_KEYS = set().union(*SPACE_FIELDS.values())


def objective_direction(sw: DictConfig) -> str:
    """`sweep.direction`, or inferred from the objective's name: losses and errors fall, accuracies rise."""
    if sw.direction:
        return sw.direction
    name = str(sw.objective).lower()
    if any(s in name for s in ("loss", "error", "mae", "mse", "mape")):
        return "min"
    if any(s in name for s in ("acc", "auc", "precision", "recall", "f1")):
        return "max"
    raise config_error("sweep.direction", f"min or max (it cannot be inferred from sweep.objective={sw.objective!r})",
                       sw.direction, ["min", "max"])


def _flatten_space(node: Dict[str, Any], prefix: str = "", out: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Entries by dotted key; nested keys (from `sweep.space.trainer.lr.max=0.1` on the command line) merge in."""
    out = {} if out is None else out
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and "type" not in v and not set(v) <= _ENTRY_KEYS:
            _flatten_space(v, key + ".", out)
        elif isinstance(v, dict):
            out[key] = {**out.get(key, {}), **v}
        else:  # a plain list is shorthand for {type: choice, values: [...]}
            out[key] = {"type": "choice", "values": v}
    return out


def config_leaves(cfg: DictConfig) -> Dict[str, Any]:
    """Every scalar config value a sweep may set, by dotted key (the sweep group itself excluded)."""
    leaves: Dict[str, Any] = {}

    def walk(node: Dict[str, Any], prefix: str) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            elif not isinstance(v, list):
                leaves[f"{prefix}{k}"] = v

    walk({k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in ("sweep", "hydra")}, "")
    return leaves


def _other_option_field(key: str) -> bool:
    """`model.filters` under model=lstm: a field of another option of the same group (skipped, not a typo)."""
    from dataclasses import fields

    group, _, name = key.partition(".")
    return any(name == f.name for schema in SCHEMAS.get(group, {}).values() for f in fields(schema))


def _check_space_value(cfg: DictConfig, key: str, value: Any, name: str) -> None:
    """The config must accept `value` at `key` (schema type and range checks), else ConfigError."""
    import copy

    trial = copy.deepcopy(cfg)
    try:
        OmegaConf.update(trial, key, value, merge=False)
    except Exception as e:  # omegaconf's ValidationError: the schema's type refuses the value
        raise ConfigError(f"{name}: {value!r} is not a valid value of {key} ({str(e).splitlines()[0]})") from None
    trial.sweep.name = "none"
    try:
        validate(trial)
    except ConfigError as e:
        raise ConfigError(f"{name}: the value {value!r} is invalid: {e}") from None


def sweep_space(cfg: DictConfig) -> Tuple[Dict[str, Dict[str, Any]], List[str]]:
    """Validated search space {dotted key: {type, min, max, step, sampling | values}}, and the keys skipped because
    they belong to another option of their group (`model.filters` under an RNN, `model.units` under conv1d)."""
    import difflib

    leaves = config_leaves(cfg)
    space: Dict[str, Dict[str, Any]] = {}
    skipped: List[str] = []
    raw = _flatten_space(OmegaConf.to_container(cfg.sweep.space, resolve=True) or {})
    for key, entry in raw.items():
        name = f"sweep.space.{key}"
        if key not in leaves:
            if _other_option_field(key):
                skipped.append(key)
                continue
            group = key.partition(".")[0]
            similar = difflib.get_close_matches(key, list(leaves), n=5, cutoff=0.6) or \
                [k for k in leaves if k.startswith(group + ".")][:12] or list(leaves)[:12]
            raise ConfigError(f"{name}: no such key in the composed config (similar valid keys: {', '.join(similar)})")
        kind = entry.get("type")
        _check(kind in SPACE_FIELDS, f"{name}.type", "one of the valid choices", kind, list(SPACE_FIELDS))
        extra = sorted(set(entry) - SPACE_FIELDS[kind])
        _check(not extra, name, f"only the fields {sorted(SPACE_FIELDS[kind])} for type {kind}", extra)
        if kind == "choice":
            values = entry.get("values")
            _check(isinstance(values, list) and len(values) > 0 and all(
                isinstance(v, (bool, int, float, str)) for v in values), f"{name}.values",
                "a non-empty list of numbers, strings or booleans", values)
            corners = list(values)
        else:
            number = (float, int) if kind == "float" else (int,)
            lo, hi = entry.get("min"), entry.get("max")
            for field_name, v in (("min", lo), ("max", hi)):
                _check(isinstance(v, number) and not isinstance(v, bool) and math.isfinite(v), f"{name}.{field_name}",
                       f"a finite {'number' if kind == 'float' else 'integer'}", v)
            _check(lo < hi, f"{name}.max", f"a value > min ({lo})", hi)
            entry.setdefault("sampling", "linear")
            samplings = ["linear", "log", "reverse_log"]
            _check(entry["sampling"] in samplings, f"{name}.sampling", "one of the valid choices", entry["sampling"],
                   samplings)
            if entry["sampling"] != "linear":
                _check(lo > 0, f"{name}.min", f"a value > 0 for sampling: {entry['sampling']}", lo)
            step = entry.get("step")
            _check(step is None or (isinstance(step, number) and not isinstance(step, bool) and step > 0),
                   f"{name}.step", f"a positive {'number' if kind == 'float' else 'integer'} (or unset)", step)
            corners = [lo, hi]
            if kind == "float":  # a float range over an integer key fails here, not in the first trial
                try:
                    _check_space_value(cfg, key, lo + (hi - lo) / 3, name)
                except ConfigError:
                    raise ConfigError(f"{name}: type float draws fractional values, which {key} does not accept "
                                      "(use type: int or type: choice)") from None
        if key == "trainer.epochs" and cfg.sweep.tuner == "hyperband":
            raise ConfigError(f"{name}: hyperband sets the epochs of each trial itself (use sweep.max_epochs)")
        for value in corners:
            _check_space_value(cfg, key, value, name)
        space[key] = entry
    if not space:
        raise ConfigError("sweep.space: expected at least one key to search over for this config, got "
                          + (f"only keys of other {', '.join(sorted({k.partition('.')[0] for k in skipped}))} options "
                             f"({', '.join(skipped)})" if skipped else "none"))
    return space, skipped
