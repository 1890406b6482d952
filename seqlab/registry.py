"""One registry per config group, keyed by YAML stem: each option's schema, its code, its checks and capabilities.

An option is registered by the module that implements it (a dataset loader, a model builder, a trainer), next to
its schema. The code itself is named by an import path (`"seqlab.models.rnn:build"`) and imported on first use,
so composing and validating a config never imports TensorFlow. `discover()` imports the modules that register
the built-in options; they must not import TensorFlow at module level.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional

from .config.errors import ConfigError, config_error
from .config.schema import GROUPS

# modules whose import registers the built-in options (see discover); none imports TensorFlow
BUILTIN_MODULES = ("seqlab.data", "seqlab.models", "seqlab.train.trainers", "seqlab.config.sweeps")


@dataclass(frozen=True)
class Entry:
    """One option of a config group."""

    group: str
    name: str  # the YAML stem users type (`model=lstm`)
    schema: type  # the dataclass its YAML extends (`/schema/<group>/<schema_name>@_here_`)
    target: Optional[str] = None  # "package.module:function" (loader, builder, trainer), imported on first use
    check: Optional[Callable[[Any], None]] = None  # check(cfg) on the whole composed config, before TensorFlow
    capabilities: FrozenSet[str] = field(default_factory=frozenset)  # e.g. "window_forecasting", "text"
    schema_name: Optional[str] = None  # ConfigStore name of the schema (default: the option's name)
    help: str = ""

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def load(self) -> Callable:
        """The option's code (`target`), imported now."""
        if self.target is None:
            raise TypeError(f"{self.group}={self.name} has no code to load")
        return import_target(self.target, f"{self.group}={self.name}")


class Registry:
    """The options of one config group by YAML stem."""

    def __init__(self, group: str):
        self.group = group
        self._entries: Dict[str, Entry] = {}

    def add(self, name: str, schema: type, target: Optional[str] = None, check: Optional[Callable] = None,
            capabilities: Iterable[str] = (), schema_name: Optional[str] = None, help: str = "") -> Entry:
        """Register option `name`; registering the same name twice with different content is an error."""
        entry = Entry(self.group, name, schema, target, check, frozenset(capabilities), schema_name or name, help)
        old = self._entries.get(name)
        if old is not None and old != entry:
            raise ValueError(f"{self.group} option {name!r} is registered twice ({old.target} and {entry.target})")
        self._entries[name] = entry
        return entry

    def get(self, name: Optional[str]) -> Entry:
        """The entry of option `name`, or a ConfigError naming the group and every valid option."""
        if name not in self._entries:
            raise config_error(self.group, f"a {self.group} option", name, self.names())
        return self._entries[name]

    def names(self) -> List[str]:
        return sorted(self._entries)

    def with_capability(self, capability: str) -> List[str]:
        """The options that have `capability` (for error messages: never a hand-written list)."""
        return sorted(n for n, e in self._entries.items() if e.has(capability))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._entries)


REGISTRIES: Dict[str, Registry] = {g: Registry(g) for g in GROUPS}
_discovered = False


def discover() -> None:
    """Import the modules that register the built-in options (idempotent; no TensorFlow)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def registry(group: str) -> Registry:
    """The registry of a config group, with the built-in options registered."""
    discover()
    return REGISTRIES[group]


def entry(cfg: Any, group: str) -> Entry:
    """The entry of the option chosen for `group` in a composed config (`cfg[group].name`)."""
    node = cfg.get(group) if hasattr(cfg, "get") else None
    name = node.get("name") if node is not None else None
    return registry(group).get(name)


def _split_target(target: str, key: str):
    """`"module:attr"` -> (module, attr), with the working directory importable (user code beside the command)."""
    module, sep, attr = str(target).partition(":")
    if not sep or not module or not attr:
        raise config_error(key, "an import path 'module:function' (e.g. my_models:tcn)", target)
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    return module, attr


def _not_found(module: str, target: str, key: str) -> ConfigError:
    return config_error(key, f"an importable module {module!r} (a {module.replace('.', '/')}.py file in the "
                        f"working directory {os.getcwd()} or an installed package)", target)


def import_target(target: str, key: str) -> Callable:
    """`"module:attr"` -> the object; the working directory is importable (user code beside the command)."""
    module, attr = _split_target(target, key)
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name):
            raise _not_found(module, target, key) from None
        raise
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = sorted(n for n in vars(mod) if not n.startswith("_") and callable(getattr(mod, n)))
            raise config_error(key, f"a function of module {module} ({mod.__file__})", target, names[:20])
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"{key}: expected a callable at {target!r}, got {type(obj).__name__}")
    return obj


def find_target(target: str, key: str) -> None:
    """Check, without importing it, that `"module:attr"`'s module can be found (for checks before TensorFlow)."""
    import importlib.util

    module, _ = _split_target(target, key)
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:  # a missing parent package
        spec = None
    if spec is None:
        raise _not_found(module, target, key)


def check_target_key(node: Any, field_name: str, key: str, example: str) -> None:
    """`node[field_name]` (config key `key`) is set to a findable 'module:function' (no import, no TensorFlow)."""
    from omegaconf import OmegaConf

    value = None if OmegaConf.is_missing(node, field_name) else node.get(field_name)
    if not value:
        raise config_error(key, f"an import path 'module:function' (e.g. {example})", value)
    find_target(value, key)


class _Schemas(Mapping):
    """group -> {schema name -> dataclass}, read from the registries on first use (the option modules own them).

    YAML options extend these through `/schema/<group>/<schema name>@_here_`.
    """

    def _table(self) -> Dict[str, Dict[str, type]]:
        return {g: {e.schema_name: e.schema for e in registry(g)} for g in GROUPS}

    def __getitem__(self, group: str) -> Dict[str, type]:
        return self._table()[group]

    def __iter__(self) -> Iterator[str]:
        return iter(GROUPS)

    def __len__(self) -> int:
        return len(GROUPS)


SCHEMAS: Mapping[str, Dict[str, type]] = _Schemas()
