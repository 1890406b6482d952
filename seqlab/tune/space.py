"""The sweep space in config vocabulary: Keras Tuner hyperparameters from it, a trial's config and overrides back."""

from __future__ import annotations

import copy
import re
from typing import Any, Dict, Iterable, List, Optional

from omegaconf import DictConfig, OmegaConf

# Keras Tuner's own bookkeeping values (Hyperband's epochs and bracket), not config keys
TUNER_PREFIX = "tuner/"
# overrides that belong to the sweep, not to the trial it found
_NOT_TRIAL = ("sweep", "resume", "hydra")


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _default(entry: Dict[str, Any], current: Any) -> Optional[Any]:
    """The base config's value as the hyperparameter's default (grid search's first trial), when it is in range."""
    if entry["type"] == "choice":
        return current if current in entry["values"] else None
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        return None
    if not entry["min"] <= current <= entry["max"]:
        return None
    step = entry.get("step")
    if step and (entry["sampling"] != "linear" or (current - entry["min"]) % step):
        return None
    return current


def declare(hp, space: Dict[str, Dict[str, Any]], cfg: DictConfig) -> None:
    """Declare every space entry on Keras Tuner's `hp`, named by its dotted config key."""
    for key, entry in space.items():
        default = _default(entry, OmegaConf.select(cfg, key))
        if entry["type"] == "choice":
            values = [_plain(v) for v in entry["values"]]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and any(
                    isinstance(v, float) for v in values):
                values = [float(v) for v in values]  # Keras Tuner wants one type per Choice
                default = None if default is None else float(default)
            hp.Choice(key, values, default=default)
        elif entry["type"] == "int":
            hp.Int(key, int(entry["min"]), int(entry["max"]), step=entry.get("step"), sampling=entry["sampling"],
                   default=default)
        else:
            step = entry.get("step")
            hp.Float(key, float(entry["min"]), float(entry["max"]), step=None if step is None else float(step),
                     sampling=entry["sampling"], default=None if default is None else float(default))


def config_values(values: Dict[str, Any]) -> Dict[str, Any]:
    """A trial's values by dotted config key (Keras Tuner's `tuner/...` bookkeeping left out)."""
    return {k: _plain(v) for k, v in values.items() if not k.startswith(TUNER_PREFIX)}


def trial_config(cfg: DictConfig, values: Dict[str, Any], seed: Optional[int] = None,
                 epochs: Optional[int] = None) -> DictConfig:
    """A copy of `cfg` with the trial's values written in; a plain training run (no sweep). Not validated here."""
    trial = copy.deepcopy(cfg)
    for key, value in config_values(values).items():
        OmegaConf.update(trial, key, value, merge=False)
    if seed is not None:
        trial.seed = seed
    if epochs is not None:
        trial.trainer.epochs = epochs
    trial.sweep.name = "none"  # the trial is the run best.yaml's overrides reproduce
    trial.sweep.space = {}
    return trial


def format_value(value: Any) -> str:
    """A value in Hydra's override grammar."""
    value = _plain(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][\w./-]*", text) and text.lower() not in ("true", "false", "null", "nan", "inf"):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def override_key(override: str) -> str:
    """`+trainer.lr=0.1` -> `trainer.lr`; `model=gru` -> `model`."""
    return override.lstrip("~+").split("=", 1)[0]


def trial_overrides(base: Iterable[str], values: Dict[str, Any], epochs: Optional[int] = None) -> List[str]:
    """The command-line overrides that rerun a trial: the sweep's own (sweep keys dropped) then the trial's values.

    They begin with `~family`: a single run would otherwise take its dataset family's budget (conf/family/, e.g.
    sine's lr 3e-3 and early stopping), which sweep trials never have."""
    values = dict(config_values(values))
    if epochs is not None:
        values["trainer.epochs"] = epochs
    kept = [re.sub(r"=(True|False)$", lambda m: "=" + m.group(1).lower(), o) for o in base  # multirun writes True
            if override_key(o).split(".")[0] not in _NOT_TRIAL and override_key(o) not in values]
    family = [] if any(override_key(o) == "family" for o in kept) else ["~family"]
    return family + kept + [f"{k}={format_value(v)}" for k, v in values.items()]
