"""ConfigError: a user's mistake in the config, naming the full key, what was expected and what was received."""

from __future__ import annotations

from typing import Any, List, Optional


class ConfigError(ValueError):
    """A user's mistake in the config: names the full key, what was expected and what was received."""


def config_error(key: str, expected: str, received: Any, choices: Optional[List[Any]] = None) -> ConfigError:
    msg = f"{key}: expected {expected}, got {received!r}"
    if choices is not None:
        msg += f" (valid choices: {', '.join(map(str, choices))})"
    return ConfigError(msg)
