"""The sweep space's checks: `sweep.space` entries against the composed config, and the objective's direction."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

from omegaconf import DictConfig, OmegaConf

from .checks import check_config
from .errors import ConfigError, config_error
from .flat import flatten
from .metric import objective_direction  # noqa: F401 - re-exported (seqlab.config)


def _check(cond: bool, key: str, expected: str, received: Any, choices: Optional[List[Any]] = None) -> None:
    if not cond:
        raise config_error(key, expected, received, choices)


# --------------------------------------------------------------------------- sweep space
SPACE_FIELDS = {"float": {"type", "min", "max", "step", "sampling"}, "int": {"type", "min", "max", "step", "sampling"},
                "choice": {"type", "values"}}
_ENTRY_KEYS = set().union(*SPACE_FIELDS.values())
LEAVES_SKIP = ("sweep", "hydra")  # what a sweep may not set


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
    return flatten(OmegaConf.to_container(cfg, resolve=True), skip=LEAVES_SKIP, lists="drop")


def _other_option_field(key: str) -> bool:
    """`model.filters` under model=lstm: a field of another option of the same group (skipped, not a typo)."""
    from dataclasses import fields

    from ..registry import SCHEMAS

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
        check_config(trial)
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
            if cfg.sweep.tuner == "tpe":  # Optuna's distributions: uniform or log, a step only on uniform
                _check(entry["sampling"] != "reverse_log", f"{name}.sampling", "linear or log with sweep.tuner=tpe",
                       entry["sampling"], ["linear", "log"])
                _check(entry["sampling"] == "linear" or entry.get("step") is None, f"{name}.step",
                       "unset with sampling: log and sweep.tuner=tpe (Optuna has no log grid)", entry.get("step"))
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
