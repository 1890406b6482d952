"""Fitted input transforms: each fitted once on the training rows by a data loader (Splits.artifacts
["transforms"]), saved with the run (`state()`: small JSON in inference.json; files inside the run directory) and
applied by training, `seqlab predict` and `seqlab export` through the same code.

A new transform (per-series scaling, calendar features, ...) is a class with a `kind`, `state()`, `from_state(state,
**context)` and the methods that apply it, added to TRANSFORMS below.
"""

from __future__ import annotations

from typing import Any, Dict

from ..config import config_error
from .intervals import Intervals
from .known import KnownAhead
from .labels import LabelMap
from .textvec import TextVectorizer
from .transforms import OneHot, PadSeries, SeriesStandardize, Standardize, Windows

TRANSFORMS: Dict[str, type] = {cls.kind: cls for cls in (Standardize, OneHot, Windows, PadSeries, LabelMap,
                                                          TextVectorizer, SeriesStandardize, Intervals,
                                                          KnownAhead)}


def states(transforms: Dict[str, Any]) -> Dict[str, Dict]:
    """{name: {"kind": ..., **state}} of fitted transforms (JSON-friendly; files are the caller's)."""
    return {name: {"kind": t.kind, **t.state()} for name, t in transforms.items()}


def from_states(saved: Dict[str, Dict], **context) -> Dict[str, Any]:
    """Transforms back from `states()`; `context` (e.g. run_dir) goes to those that take it."""
    out = {}
    for name, state in saved.items():
        state = dict(state)
        cls = TRANSFORMS.get(state.pop("kind", None))
        if cls is None:
            raise config_error("RUN_DIR", f"transforms of kinds {sorted(TRANSFORMS)} in inference.json",
                               f"{name}: {saved[name].get('kind')!r}")
        out[name] = cls.from_state(state, **context)
    return out
