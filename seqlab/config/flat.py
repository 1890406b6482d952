"""The one config flattener: nested dicts to dotted keys, each caller's skip list passed in as data (no omegaconf)."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable

LISTS = ("keep", "json", "drop")  # a list value: kept as is, as JSON text (compares as one value), or left out


def skipped(key: str, skip: Iterable[str]) -> bool:
    """`key` is `s` or lies under `s` for some `s` in `skip` (`trainer.checkpoint` skips `trainer.checkpoint.every`)."""
    return any(key == s or key.startswith(s + ".") for s in (s.rstrip(".") for s in skip))


def flatten(node: Any, skip: Iterable[str] = (), *, prefix: str = "", lists: str = "keep", drop_none: bool = False,
            whole: Iterable[str] = (), keep_empty: bool = False) -> Dict[str, Any]:
    """{"model": {"units": 8}} -> {"model.units": 8}, without the keys in (or under) `skip`.

    `whole`: key names whose value stays one value however nested (e.g. a sweep's `space`); `keep_empty`: an
    empty dict is a value of its own (else it yields no key); `lists` and `drop_none` decide about those leaves.
    """
    if lists not in LISTS:
        raise ValueError(f"lists: expected one of {LISTS}, got {lists!r}")
    skip, whole = tuple(skip), tuple(whole)
    out: Dict[str, Any] = {}

    def walk(value: Any, key: str) -> None:
        if key and skipped(key, skip):
            return
        if isinstance(value, dict) and not (key.rpartition(".")[2] in whole or (keep_empty and not value and key)):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else str(k))
            return
        if value is None and drop_none:
            return
        if isinstance(value, (list, tuple)):
            if lists == "drop":
                return
            if lists == "json":
                value = json.dumps(list(value))
        out[key] = value

    walk(node, prefix)
    return out
