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
