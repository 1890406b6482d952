"""TensorBoard HParams in config vocabulary: a run's flattened config values, and a sweep's experiment config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

import tensorflow as tf
from omegaconf import DictConfig, OmegaConf
from tensorboard.plugins.hparams import api as hp

HPARAM_GROUPS = ("dataset", "model", "regularizer", "trainer")
# settings that change how a run is watched or stored, not what it learns
HPARAM_SKIP = ("trainer.verbose", "trainer.eager", "trainer.checkpoint.", "trainer.tensorboard.")
DEFAULT_SWEEP_METRICS = ("val/loss", "test/loss")


# --------------------------------------------------------------------------- config -> hparams
def hparams_from_config(cfg: DictConfig) -> Dict[str, Any]:
    """Flattened dotted config values (`model.units`, `trainer.lr`, ...) as HParams values; None values left out,
    lists as JSON text."""
    flat: Dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}")
        elif node is not None and not any(prefix == s or prefix.startswith(s) for s in HPARAM_SKIP):
            flat[prefix] = json.dumps(node) if isinstance(node, (list, tuple)) else node

    for group in HPARAM_GROUPS:
        if group in cfg:
            walk(OmegaConf.to_container(cfg[group], resolve=True), group)
    flat["seed"], flat["deterministic"] = int(cfg.seed), bool(cfg.deterministic)
    return flat


def metric_tag(name: str) -> str:
    """Tag of a final metric in the summary run: `val_loss` / `val.loss` -> `val/loss`, `test.mse` -> `test/mse`."""
    for prefix in ("val", "test"):
        for sep in ("_", ".", "/"):
            if name.startswith(prefix + sep):
                return f"{prefix}/{name[len(prefix) + 1:]}"
    return name


def _one_type(values) -> list:
    """HParams wants one type per domain: [16, 0.5] -> [16.0, 0.5]."""
    values = list(values)
    if any(isinstance(v, float) for v in values) and all(isinstance(v, (int, float)) for v in values):
        return [float(v) for v in values]
    return values


def _domain(spec: Any) -> Optional[hp.Domain]:
    """A search-space entry (sweep YAML vocabulary, a list of values, or an hp.Domain) as an HParams domain."""
    if spec is None or isinstance(spec, hp.Domain):
        return spec
    if isinstance(spec, (list, tuple)):
        return hp.Discrete(list(spec))
    kind = spec.get("type")
    makers = {"float": lambda: hp.RealInterval(float(spec["min"]), float(spec["max"])),
              "int": lambda: hp.IntInterval(int(spec["min"]), int(spec["max"])),
              "choice": lambda: hp.Discrete(_one_type(spec["values"])), "bool": lambda: hp.Discrete([False, True]),
              "fixed": lambda: hp.Discrete([spec["value"]])}
    if kind in makers:
        return makers[kind]()
    raise ValueError(f"cannot turn search-space entry {spec!r} into a TensorBoard HParams domain")


def write_hparams_experiment(logdir: Path, hparams_domains: Dict[str, Any],
                             metrics: Iterable[str] = DEFAULT_SWEEP_METRICS, cfg: Optional[DictConfig] = None) -> None:
    """Experiment-level HParams config for a sweep: one column per search-space key (its domain from the space)
    plus, with `cfg`, every other logged config key; `metrics` are final-metric names (`val_loss`, `test.mse`)."""
    if isinstance(hparams_domains, DictConfig):  # e.g. cfg.sweep.space
        hparams_domains = OmegaConf.to_container(hparams_domains, resolve=True)
    domains = {k: _domain(v) for k, v in hparams_domains.items()}
    if cfg is not None:
        for k in hparams_from_config(cfg):
            domains.setdefault(k, None)
    hparams = [hp.HParam(k, d) for k, d in domains.items()]
    mets = [hp.Metric(metric_tag(m), display_name=metric_tag(m)) for m in metrics]
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        hp.hparams_config(hparams=hparams, metrics=mets)
    writer.close()
