"""The one atomic writer (and its JSON/YAML/CSV/model forms): no file seqlab writes is ever left half-written.

No TensorFlow or Keras at import: `seqlab report` and the sweep's own process write through it too."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List

from omegaconf import DictConfig, ListConfig, OmegaConf


def atomic_write(path: Path, write: Callable[[str], None], suffix: str = "") -> None:
    """Call write(tmp_path) on a temp file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs are for sharing
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _jsonable(v: Any) -> Any:
    if isinstance(v, (DictConfig, ListConfig)):  # a config value (dataset.time_column=[year,month,day])
        v = OmegaConf.to_container(v, resolve=True)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item") and callable(v.item):  # numpy / tf scalars
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)  # JSON has no NaN/Inf
    return v


def write_text(path: Path, text: str) -> None:
    """`path` holds `text`, or (when interrupted) what it held before: never half of it."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json(path: Path, data: Dict[str, Any]) -> None:
    write_text(path, json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n")


def write_config_yaml(path: Path, cfg) -> None:
    """The run's config as YAML, like Hydra's .hydra/config.yaml (interpolations kept)."""
    write_text(path, OmegaConf.to_yaml(cfg))


def write_history_csv(path: Path, history: Dict[str, List[float]], first_epoch: int = 0) -> None:
    """One row per epoch: epoch, then every logged metric (train and val)."""
    import pandas as pd

    df = pd.DataFrame({k: list(v) for k, v in history.items()})
    df.insert(0, "epoch", range(first_epoch + 1, first_epoch + 1 + len(df)))
    atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))


def save_model(path: Path, model) -> None:
    atomic_write(path, lambda tmp: model.save(tmp), suffix=".keras")
