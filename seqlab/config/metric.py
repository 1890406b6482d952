"""Whether a metric rises or falls as a model gets better, from its Keras-style name (the one place that decides)."""

from __future__ import annotations

from typing import Optional

from .errors import config_error

FALLING = ("loss", "error", "mae", "mse", "mape", "rmse")  # substrings: val_loss, test.mse, mean_absolute_error
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


def objective_direction(sw) -> str:
    """`sweep.direction`, or inferred from the objective's name: losses and errors fall, accuracies rise."""
    if sw.direction:
        return sw.direction
    direction = metric_direction(sw.objective)
    if direction is None:
        raise config_error("sweep.direction",
                           f"min or max (it cannot be inferred from sweep.objective={sw.objective!r})",
                           sw.direction, ["min", "max"])
    return direction
