"""A backtest's plan, checked before TensorFlow loads: the forecast origins in the run's test rows, which windows
retrain (every K-th), and the split boundaries a retraining ends at."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

import numpy as np

from ..config import config_error

DEFAULT_WINDOWS = 10


def parse_refit(text: str) -> Optional[int]:
    """`never` -> None, a whole number K >= 1 -> K (retrain every K windows); else a ConfigError naming --refit."""
    if str(text).strip().lower() == "never":
        return None
    try:
        k = int(str(text).strip())
    except ValueError:
        k = 0
    if k < 1:
        raise config_error("--refit", "never, or a whole number K >= 1 (retrain at every K-th window)", text)
    return k


@dataclass(frozen=True)
class Plan:
    """N origins `step` rows apart; origin = the last input row of a window, its forecast covers the next
    `horizon` rows. The last window's forecast ends at the last test row."""

    origins: List[int]  # rows, increasing
    step: int
    refit: Optional[int]  # None: never
    input_len: int
    horizon: int
    test_rows: List[int]  # [first, end) of the run's test rows
    val_len: int  # the run's validation rows: a retraining keeps as many, ending at its cutoff

    def options(self) -> Dict[str, object]:
        """What a resumed backtest must agree on."""
        return {"windows": len(self.origins), "step": self.step, "refit": self.refit or "never"}

    def refit_window(self, i: int) -> Optional[int]:
        """The window whose retrained model forecasts window `i` (None: the run's own model)."""
        return None if self.refit is None else i - i % self.refit

    def refit_windows(self) -> List[int]:
        return [] if self.refit is None else list(range(0, len(self.origins), self.refit))

    def cutoff_back(self, i: int) -> int:
        """How many rows before the end of the test rows the retraining at window `i` ends its validation: its
        cutoff is the origin's row + 1, its validation as long as the run's."""
        return self.test_rows[1] - (self.origins[i] + 1)

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


def make_plan(row_ranges: Dict[str, List[int]], input_len: int, horizon: int, windows: Optional[int],
              step: Optional[int], refit: Optional[int]) -> Plan:
    """The plan, or a ConfigError naming --windows / --step / --refit: windows from the end of the test rows back,
    every forecast inside the test rows and every input window inside the series."""
    (train_a, train_b), (val_a, val_b), (a, b) = (row_ranges[k] for k in ("train", "val", "test"))
    step = horizon if step is None else step
    if step < 1:
        raise config_error("--step", "a whole number of rows >= 1 between origins", step)
    last = b - horizon - 1  # the last origin: its forecast ends at the last test row
    first = max(a - 1, input_len - 1)  # the first origin whose forecast starts inside the test rows
    most = max(0, (last - first) // step + 1)
    if windows is not None and windows < 1:
        raise config_error("--windows", "a whole number of forecast origins >= 1", windows)
    if most == 0:
        raise config_error("--windows", f"a test period of at least horizon = {horizon} rows", f"test rows [{a}, {b})")
    n = min(DEFAULT_WINDOWS, most) if windows is None else windows
    if n > most:
        raise config_error("--windows", f"at most {most} origins {step} rows apart in the run's test rows [{a}, {b}) "
                           f"(horizon {horizon}; a smaller --step fits more)", n)
    origins = (last - step * np.arange(n - 1, -1, -1)).tolist()
    plan = Plan(origins, step, refit, input_len, horizon, [a, b], val_b - val_a)
    if refit is not None:
        cutoff = origins[0] + 1
        need = input_len + horizon  # one training window at least
        if cutoff - plan.val_len < need:
            raise config_error("--refit", f"a first cutoff leaving at least input_len + horizon = {need} training "
                               f"rows before the {plan.val_len} validation rows", f"cutoff row {cutoff}")
    return plan
