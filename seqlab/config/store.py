"""Registering the schemas in Hydra's ConfigStore, finding the shipped YAML, composing like the CLI does."""

from __future__ import annotations

import os
from typing import List, Optional

from omegaconf import DictConfig

from .schema import Config

_registered = False


def register() -> None:
    """Store every registered option's schema in Hydra's ConfigStore as `schema/<group>/<schema_name>` (idempotent)."""
    global _registered
    if _registered:
        return
    from hydra.core.config_store import ConfigStore

    from ..registry import REGISTRIES, discover

    discover()
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    for group, reg in REGISTRIES.items():
        for name, node in {e.schema_name: e.schema for e in reg}.items():
            cs.store(group=f"schema/{group}", name=name, node=node)
    _registered = True


def conf_dir() -> str:
    """Directory of the shipped YAML configs (works from a checkout and from a wheel)."""
    from importlib.resources import files

    return str(files("seqlab.conf"))


def options(group: str) -> List[str]:
    """The YAML stems users can type for a group."""
    import os

    d = os.path.join(conf_dir(), group)
    return sorted(f[:-5] for f in os.listdir(d) if f.endswith(".yaml"))


def compose(overrides: Optional[List[str]] = None) -> DictConfig:
    """Compose the config like the CLI does (for tests, notebooks and sweeps)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register()
    with initialize_config_dir(config_dir=conf_dir(), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides or []))


def describe_option(group: str, name: str) -> str:
    """The first comment line of a group option's YAML (Hydra's `# @package` header skipped)."""
    with open(os.path.join(conf_dir(), group, name + ".yaml")) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("#"):
                return ""
            if not line.startswith("# @"):
                return line.lstrip("# ").strip()
    return ""
