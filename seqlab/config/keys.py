"""Every config key the schemas define, and the command-line override whose key none of them has (a typo).

Hydra's own answer to `trainer.epoch=2` is to suggest `+trainer.epoch=2`; seqlab answers before Hydra composes,
with the closest real key (difflib). A key that some option of its group has (`model.filters` under model=lstm)
is left to Hydra and the checks, which know the chosen option.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from .schema import Config

OPEN = (dict, Dict, Any)  # a field of these types takes any key beneath it (sweep.space, model.params)


def dataclass_keys(schema: type, prefix: str = "") -> Tuple[Set[str], Set[str]]:
    """(dotted keys, keys under which any key is allowed) of a schema dataclass, nested dataclasses followed."""
    keys: Set[str] = set()
    open_: Set[str] = set()
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        key, hint = prefix + f.name, hints.get(f.name)
        keys.add(key)
        if dataclasses.is_dataclass(hint):
            sub_keys, sub_open = dataclass_keys(hint, key + ".")
            keys |= sub_keys
            open_ |= sub_open
        elif hint is Any or typing.get_origin(hint) in (dict, Dict):
            open_.add(key)
    return keys, open_


def schema_keys(schemas: Dict[str, Iterable[type]]) -> Tuple[Set[str], Set[str]]:
    """Every key of the root config and of every option's schema (`schemas`: group -> its option schemas)."""
    keys, open_ = set(), set()
    for f in dataclasses.fields(Config):
        if f.name not in schemas:
            keys.add(f.name)
    for group, classes in schemas.items():
        keys.add(group)
        for schema in classes:
            k, o = dataclass_keys(schema, group + ".")
            keys |= k
            open_ |= o
    return keys, open_


def unknown_override(args: List[str], schemas: Dict[str, Iterable[type]]) -> Optional[str]:
    """The error for the first `key=value` argument whose key no schema has, naming the closest key; else None."""
    keys, open_ = schema_keys(schemas)
    for arg in args:
        key, sep, _ = arg.partition("=")
        if not sep or arg.startswith(("-", "+", "~")) or "/" in key or key.split(".")[0] in ("hydra", "experiment"):
            continue
        if key in keys or any(key.startswith(o + ".") for o in open_):
            continue
        close = difflib.get_close_matches(key, sorted(keys), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see python -m seqlab --cfg job for every key"
        return f"{key}: no such config key; {hint}"
    return None
