"""dataset=custom: a data loader from the user's own Python file (`dataset.loader=my_data:load`).

The loader is `def load(cfg, seed)`: it gets this sub-config (`cfg.params` holds its own settings) and the run's
seed, and returns either `(seqlab.data.Splits, seqlab.data.DataSpec)` or a plain dict of numpy arrays
`{"train": (x, y), "val": (x, y), "test": (x, y)}`, from which seqlab infers the DataSpec:
- x float (n, time, features), or (n, time) for one feature; x integer (n, time): token ids, 0 = padding, with
  a vocabulary of `cfg.params.vocab_size` (default: the largest id + 1);
- y float: regression, output shape y.shape[1:] ((n,) becomes (n, 1)); y integer or bool: classes 0..K-1,
  binary for K = 2, else multiclass (K = the largest label + 1, or `cfg.params.num_classes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
from omegaconf import MISSING, OmegaConf

from ..config import config_error
from ..config.schema import DatasetConfig
from ..registry import REGISTRIES, check_target_key, import_target
from .base import ArraySplit, DataSpec, Splits
from .baselines import majority_class_baseline, mean_baseline

SPLIT_NAMES = ("train", "val", "test")


@dataclass
class CustomDatasetConfig(DatasetConfig):
    loader: str = MISSING  # "module:function", the module importable from the working directory
    params: Dict[str, Any] = field(default_factory=dict)  # the loader's own settings (dataset.params.<key>)


def load(cfg, data_dir: Optional[str] = None, seed: int = 0) -> Tuple[Splits, DataSpec]:
    """Call the user's loader; plain arrays become ArraySplits with an inferred DataSpec."""
    out = import_target(cfg.loader, "dataset.loader")(cfg, seed)
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], Splits) and isinstance(out[1], DataSpec):
        return out
    if isinstance(out, Mapping):
        params = OmegaConf.to_container(cfg.params, resolve=True) if OmegaConf.is_config(cfg.params) else cfg.params
        return from_arrays(out, name=cfg.name, **{k: params.get(k) for k in ("vocab_size", "num_classes")})
    raise config_error("dataset.loader", "a function returning (Splits, DataSpec) or a dict "
                       "{'train': (x, y), 'val': (x, y), 'test': (x, y)}", type(out).__name__)


def from_arrays(parts: Mapping[str, Tuple[Any, Any]], name: str = "custom", vocab_size: Optional[int] = None,
                num_classes: Optional[int] = None) -> Tuple[Splits, DataSpec]:
    """{"train"|"val"|"test": (x, y)} numpy arrays -> (Splits, DataSpec), the task read from the dtypes."""
    if set(parts) != set(SPLIT_NAMES):
        raise config_error("dataset.loader", "a dict with exactly the keys train, val, test", sorted(parts))
    xy = {k: (np.asarray(parts[k][0]), np.asarray(parts[k][1])) for k in SPLIT_NAMES}
    x0, y0 = xy["train"]
    tokens = np.issubdtype(x0.dtype, np.integer)
    regression = np.issubdtype(y0.dtype, np.floating)
    for k, (x, y) in xy.items():
        if len(x) != len(y) or len(x) == 0:
            raise config_error("dataset.loader", f"the same number (> 0) of x and y rows in split {k}",
                               f"{len(x)} x rows, {len(y)} y rows")
        if x.shape[1:] != x0.shape[1:] or np.issubdtype(x.dtype, np.integer) != tokens:
            raise config_error("dataset.loader", f"x of the same shape and kind in every split (train: {x0.shape[1:]}, "
                               f"{x0.dtype})", f"{k}: {x.shape[1:]}, {x.dtype}")
    if tokens and x0.ndim != 2:
        raise config_error("dataset.loader", "integer x (token ids) of shape (n, time)", x0.shape)
    if not tokens and x0.ndim not in (2, 3):
        raise config_error("dataset.loader", "float x of shape (n, time, features) or (n, time)", x0.shape)

    def fix(x, y):
        x = x.astype(np.int32) if tokens else (x[..., None] if x.ndim == 2 else x).astype(np.float32)
        if regression:
            return x, (y[:, None] if y.ndim == 1 else y).astype(np.float32)
        return x, y.astype(np.int32)

    xy = {k: fix(*v) for k, v in xy.items()}
    x0, y0 = xy["train"]
    if regression:
        task, out_shape, k = "regression", tuple(y0.shape[1:]), None
        baseline_name, baseline_fn = "constant (train mean)", mean_baseline
    else:
        k = int(num_classes or 1 + max(int(y.max()) for _, y in xy.values()))
        task, out_shape = ("binary" if k == 2 else "multiclass"), ()
        baseline_name, baseline_fn = "majority class", majority_class_baseline
    vocab = int(vocab_size or 1 + max(int(x.max()) for x, _ in xy.values())) if tokens else None
    spec = DataSpec(name=name, task=task, input_shape=tuple(x0.shape[1:]), output_shape=out_shape,
                    num_classes=k, vocab_size=vocab)
    info = {"source": "custom loader", "sizes": {s: len(xy[s][0]) for s in SPLIT_NAMES}}
    splits = Splits(*(ArraySplit(*xy[s]) for s in SPLIT_NAMES), baseline_name=baseline_name,
                    baseline_fn=baseline_fn, info=info)
    return splits, spec


def check(cfg) -> None:
    """The loader's module can be found (not imported: no TensorFlow before the run)."""
    check_target_key(cfg.dataset, "loader", "dataset.loader", "my_data:load")


REGISTRIES["dataset"].add("custom", CustomDatasetConfig, target="seqlab.data.custom:load", check=check)
