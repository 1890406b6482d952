"""Whether a metric rises or falls as a model gets better, from its Keras-style name (the one place that decides)."""

from __future__ import annotations

from typing import List, Optional

from .errors import config_error

FALLING = ("loss", "error", "mae", "mse", "mape", "rmse", "mase", "msis", "pinball")  # val_loss, test.msis_95
RISING = ("acc", "auc", "precision", "recall", "f1")  # substrings: accuracy, val_auc, test.precision
RISING_NAMES = ("r2", "samples_per_second", "params")  # whole names (or `_<name>` endings): too short to search


def metric_direction(name: str) -> Optional[str]:
    """"min" for losses and errors, "max" for accuracy-like metrics, None when the name does not tell.

    The last dotted or slashed part counts: `test.mse` and `val/loss` read as `mse` and `loss`."""
    base = str(name).lower().replace("/", ".").rsplit(".", 1)[-1]
    if any(s in base for s in FALLING):
        return "min"
    if any(s in base for s in RISING) or any(base == s or base.endswith("_" + s) for s in RISING_NAMES):
        return "max"
    return None


def higher_is_better(name: str) -> bool:
    return metric_direction(name) == "max"


# --------------------------------------------------------------------------- sweep objectives
# objectives a trial measures besides its logged metrics: the model's size and its predict time per example (ms)
MEASURED_OBJECTIVES = {"params": "min", "latency": "min"}


def objective_names(sw) -> List[str]:
    """`sweep.objective` as a list of names (one or several)."""
    from omegaconf import OmegaConf

    obj = sw.objective
    return [str(o) for o in obj] if isinstance(obj, (list, tuple)) or OmegaConf.is_list(obj) else [str(obj)]


def objective_name(sw) -> str:
    """The first objective: the one every tuner searches on (TPE searches on all)."""
    return objective_names(sw)[0]


def objective_directions(sw) -> List[str]:
    """The direction of each objective: `sweep.direction` for the first, else inferred from the name."""
    out = []
    for i, name in enumerate(objective_names(sw)):
        if i == 0 and sw.direction:
            out.append(sw.direction)
            continue
        direction = MEASURED_OBJECTIVES.get(name) or metric_direction(name)
        if direction is None and i == 0:
            raise config_error("sweep.direction", f"min or max (it cannot be inferred from sweep.objective={name!r})",
                               sw.direction, ["min", "max"])
        if direction is None:
            raise config_error("sweep.objective", "metric names whose direction the name tells (losses, errors, "
                               "accuracies, params, latency)", name)
        out.append(direction)
    return out


def objective_direction(sw) -> str:
    """`sweep.direction`, or inferred from the (first) objective's name: losses and errors fall, accuracies rise."""
    return objective_directions(sw)[0]
