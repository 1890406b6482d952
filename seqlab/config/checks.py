"""Cross-field and range checks the schema types cannot express, and the sweep space's checks."""

from __future__ import annotations

import math
from typing import Any, List, Optional

from omegaconf import DictConfig, OmegaConf

from .errors import config_error
from .schema import GROUPS
from .space import objective_direction, sweep_space
from .store import options


# --------------------------------------------------------------------------- validation
def _check(cond: bool, key: str, expected: str, received: Any, choices: Optional[List[Any]] = None) -> None:
    if not cond:
        raise config_error(key, expected, received, choices)


def _positive(cfg: DictConfig, prefix: str, *keys: str, allow_zero: bool = False) -> None:
    for k in keys:
        v = cfg.get(k)
        if v is None:
            continue
        ok = v >= 0 if allow_zero else v > 0
        if isinstance(v, float):
            ok = ok and math.isfinite(v)
        _check(ok, f"{prefix}.{k}", "a value >= 0" if allow_zero else "a value > 0", v)


def _choice(cfg: DictConfig, prefix: str, key: str, choices: List[Any]) -> None:
    v = cfg.get(key)
    _check(v in choices, f"{prefix}.{key}", "one of the valid choices", v, choices)


def _fraction(cfg: DictConfig, prefix: str, key: str, upper_open: bool = True) -> None:
    v = cfg.get(key)
    ok = 0.0 <= v < 1.0 if upper_open else 0.0 <= v <= 1.0
    _check(ok, f"{prefix}.{key}", "a value in [0, 1)" if upper_open else "a value in [0, 1]", v)


def validate(cfg: DictConfig) -> None:
    """Cross-field and range checks the schema types cannot express; raises ConfigError."""
    for group in GROUPS:
        node = cfg.get(group)
        _check(node is not None and OmegaConf.select(cfg, f"{group}.name") is not None,
               group, "a config group option", node, options(group))

    ds = cfg.dataset
    _positive(ds, "dataset", "limit")
    if "input_len" in ds:
        _positive(ds, "dataset", "input_len", "horizon", "stride")
        if ds.boundaries is not None:
            b = list(ds.boundaries)
            _check(len(b) == 3 and all(x > 0 for x in b) and b[0] < b[1] < b[2], "dataset.boundaries",
                   "three increasing row numbers [train_end, val_end, test_end]", b)
        else:
            s = list(ds.split)
            _check(len(s) == 2 and all(0 < x < 1 for x in s) and sum(s) < 1, "dataset.split",
                   "two fractions [train, val] in (0, 1) summing to < 1 (test gets the rest)", s)
    if "length" in ds:
        _positive(ds, "dataset", "length")
    for k in ("train_size", "val_size", "test_size", "max_tokens", "sequence_length", "channels"):
        if k in ds:
            _positive(ds, "dataset", k)
    for k in ("val_fraction", "test_fraction"):
        if k in ds:
            _check(0 < ds[k] < 1, f"dataset.{k}", "a fraction in (0, 1)", ds[k])
    if "truncate" in ds:
        _choice(ds, "dataset", "truncate", ["post", "pre"])
    if ds.get("eval_sequence_length") is not None:
        _check(ds.eval_sequence_length >= ds.sequence_length, "dataset.eval_sequence_length",
               f"null or a length >= dataset.sequence_length ({ds.sequence_length})", ds.eval_sequence_length)
        _check(not cfg.model.get("unroll"), "model.unroll",
               "false with dataset.eval_sequence_length (an unrolled RNN needs one fixed length)",
               cfg.model.get("unroll"))
    if "noise" in ds:
        _positive(ds, "dataset", "noise", allow_zero=True)
    if "padding" in ds and "train_path" in ds:
        _check(ds.padding in (None, "pre", "post"), "dataset.padding", "one of the valid choices", ds.padding,
               [None, "pre", "post"])
    for k in ("path", "train_path", "test_path"):
        if k in ds:
            _check(bool(ds[k]), f"dataset.{k}", "a file path", ds[k])

    m = cfg.model
    _positive(m, "model", "layers", "embedding_dim", "units", "filters", "kernel_size")
    _choice(m, "model", "pooling", ["last", "average", "max"])
    _choice(m, "model", "norm", ["none", "last", "revin"])
    _positive(m, "model", "patch", allow_zero=True)
    if m.norm != "none" or m.channel_independent or m.patch:
        _check("input_len" in ds, "model.norm / model.channel_independent / model.patch",
               "a window-forecasting dataset (sine, csv, etth1, ettm1)", ds.name)
        _check(not m.patch or ds.input_len % m.patch == 0, "model.patch",
               f"a divisor of dataset.input_len ({ds.input_len})", m.patch)
    if "padding" in m:
        _choice(m, "model", "padding", ["causal", "same", "valid"])
    if ds.get("eval_sequence_length") is not None and m.name == "conv1d":
        # a convolution gets no padding mask: its last step or average would shift with the padded width
        _check(m.pooling == "max", "model.pooling", "max for model=conv1d with dataset.eval_sequence_length",
               m.pooling, ["max"])

    r = cfg.regularizer
    _positive(r, "regularizer", "l2", allow_zero=True)
    _fraction(r, "regularizer", "dropout")
    _fraction(r, "regularizer", "recurrent_dropout")
    _positive(r, "regularizer", "adversarial", allow_zero=True)
    if r.get("adversarial"):
        _check("max_tokens" in ds, "regularizer.adversarial",
               "0 for a numeric dataset (it perturbs word embeddings: imdb, text_synth, text_csv)", r.adversarial)

    t = cfg.trainer
    _choice(t, "trainer", "name", ["fit", "tape"])
    _positive(t, "trainer", "epochs", "batch_size", "lr", "decay_steps", "clipnorm", "patience")
    _positive(t, "trainer", "weight_decay", "momentum", allow_zero=True)
    _check(0 < t.decay_rate <= 1, "trainer.decay_rate", "a value in (0, 1]", t.decay_rate)
    _choice(t, "trainer", "optimizer", ["adam", "adamw", "sgd", "rmsprop"])
    _choice(t, "trainer", "lr_schedule", ["constant", "exponential", "cosine"])
    _choice(t, "trainer", "verbose", [0, 1, 2])
    jit = t.get("jit_compile", "auto")
    _check(jit == "auto" or isinstance(jit, bool), "trainer.jit_compile", "true, false or auto", jit)
    _check(not (jit is True and cfg.get("deterministic")), "trainer.jit_compile",
           "false or auto with deterministic=true (TensorFlow has no deterministic XLA)", jit)
    _positive(t.checkpoint, "trainer.checkpoint", "every", allow_zero=True)
    _positive(t.checkpoint, "trainer.checkpoint", "keep")
    _positive(t.tensorboard, "trainer.tensorboard", "histogram_freq", allow_zero=True)
    _positive(t.tensorboard, "trainer.tensorboard", "probe_size")
    uf = t.tensorboard.update_freq
    _check(uf == "epoch" or (isinstance(uf, int) and not isinstance(uf, bool) and uf > 0),
           "trainer.tensorboard.update_freq", "'epoch' or a positive number of steps", uf)

    sw = cfg.sweep
    if sw.name != "none":
        _choice(sw, "sweep", "tuner", ["random", "bayesian", "hyperband", "grid"])
        _positive(sw, "sweep", "max_trials", "executions_per_trial", "max_epochs")
        _check(sw.direction in (None, "min", "max"), "sweep.direction", "one of the valid choices",
               sw.direction, [None, "min", "max"])
        objective_direction(sw)
        _choice(sw, "sweep", "isolation", ["process", "none"])
        d = sw.distributed
        _choice(d, "sweep.distributed", "role", [None, "chief", "worker"])
        _check(0 < d.oracle_port < 65536, "sweep.distributed.oracle_port", "a port in 1..65535", d.oracle_port)
        _positive(d, "sweep.distributed", "lease_seconds")
        sweep_space(cfg)
