"""What a training run returns, whichever trainer ran it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional


@dataclass
class Result:
    run_dir: Path
    metrics: Dict[str, Any]  # the content of metrics.json
    history: Dict[str, List[float]] = field(default_factory=dict)  # Keras names: loss, val_loss, ...
    model: Optional[Any] = None  # the trained keras.Model (best weights when early stopping restored them)

    @property
    def test(self) -> Dict[str, float]:
        return self.metrics.get("test", {})

    @property
    def baseline(self) -> Dict[str, float]:
        return self.metrics.get("baseline", {})
