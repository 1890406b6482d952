"""DataSpec: the small contract where data and models meet (importable without any loader or TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

TASKS = ("regression", "binary", "multiclass")


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about the data; data and models meet only here."""

    name: str
    task: str  # regression | binary | multiclass
    input_shape: Tuple[int, ...]  # (time, features) for numbers; (time,) for token ids
    output_shape: Tuple[int, ...] = ()  # regression: e.g. (horizon, targets) or (1,); classification: ()
    num_classes: Optional[int] = None  # classification only
    vocab_size: Optional[int] = None  # token-id inputs when set (0 = padding)
    feature_names: Tuple[str, ...] = ()
    target_names: Tuple[str, ...] = ()
    # values known ahead for the forecast horizon (calendar sin/cos, dataset.future_columns): (horizon, F), or ()
    # without any; the model's input is then a dict {"series": (batch, *input_shape), "future": (batch, *future_shape)}
    future_shape: Tuple[int, ...] = ()
    future_names: Tuple[str, ...] = ()
    # > 0: a panel's series count, and the model also takes "series_id" (batch,) int32 (model.series_embedding)
    n_series: int = 0

    def input_names(self) -> Tuple[str, ...]:
        """The model's named inputs: ("series",) for a single tensor input, plus "future" when known ahead and
        "series_id" with a series embedding."""
        return ("series",) + (("future",) if self.future_shape else ()) + (("series_id",) if self.n_series else ())
