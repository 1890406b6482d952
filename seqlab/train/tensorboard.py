"""TensorBoard review: one callback that writes everything a run needs to be judged in TensorBoard.

Layout of `run_dir/tb/` (the same tags for every trainer, since only the Keras callback protocol is used):
- `train/`      epoch_<metric> per epoch; step/<metric> every `update_freq` steps; optim/* (learning rate, global
                gradient norm, update-to-weight ratio), speed/*, weight_norm/<layer>, update_ratio/<layer>;
                weight histograms; the model graph (forward pass) and the Keras conceptual graph.
- `validation/` epoch_<metric> per epoch (Keras `val_` names without the prefix), so train and validation overlay.
- `summary/`    the HParams session (flattened config values) with val/<metric> at the best epoch and
                test/<metric>; text `config` and `model_summary`; the Custom Scalars layout.
Epoch steps are 1-based like history.csv and metrics.json (step 0 = weights before training).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import keras
import numpy as np
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import summary as hp_summary_v1
from tensorboard.summary import v1 as summary_v1

from .optim import current_lr

log = logging.getLogger(__name__)

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
    flat["seed"], flat["deterministic"] = int(cfg.get("seed", 0)), bool(cfg.get("deterministic", False))
    return flat


def metric_tag(name: str) -> str:
    """Tag of a final metric in the summary run: `val_loss` / `val.loss` -> `val/loss`, `test.mse` -> `test/mse`."""
    for prefix in ("val", "test"):
        for sep in ("_", ".", "/"):
            if name.startswith(prefix + sep):
                return f"{prefix}/{name[len(prefix) + 1:]}"
    return name


def _domain(spec: Any) -> Optional[hp.Domain]:
    """A search-space entry (sweep YAML vocabulary, a list of values, or an hp.Domain) as an HParams domain."""
    if spec is None or isinstance(spec, hp.Domain):
        return spec
    if isinstance(spec, (list, tuple)):
        return hp.Discrete(list(spec))
    kind = spec.get("type")
    if kind == "float":
        return hp.RealInterval(float(spec["min"]), float(spec["max"]))
    if kind == "int":
        return hp.IntInterval(int(spec["min"]), int(spec["max"]))
    if kind in ("choice", "categorical"):
        return hp.Discrete(list(spec["values"]))
    if kind in ("bool", "boolean"):
        return hp.Discrete([False, True])
    if kind == "fixed":
        return hp.Discrete([spec["value"]])
    raise ValueError(f"cannot turn search-space entry {spec!r} into a TensorBoard HParams domain")


def write_hparams_experiment(logdir: Path, hparams_domains: Dict[str, Any],
                             metrics: Iterable[str] = DEFAULT_SWEEP_METRICS, cfg: Optional[DictConfig] = None) -> None:
    """Experiment-level HParams config for a sweep: one column per search-space key (its domain from the space)
    plus, with `cfg`, every other logged config key; `metrics` are final-metric names (`val_loss`, `test.mse`)."""
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


# --------------------------------------------------------------------------- custom scalars layout
def _chart(title: str, *regexes: str) -> layout_pb2.Chart:
    return layout_pb2.Chart(title=title, multiline=layout_pb2.MultilineChartContent(tag=list(regexes)))


def scalars_layout(metric_names: List[str], step_charts: bool) -> layout_pb2.Layout:
    """Custom Scalars: one chart per metric with train and validation overlaid, and the optimisation group.

    Category titles fix their charts (TensorBoard merges layouts of all runs by category title)."""
    names = sorted(metric_names, key=lambda n: (n != "loss", n))
    cats = [layout_pb2.Category(title=f"Train vs validation: {', '.join(names)}",
                                chart=[_chart(n, f"^epoch_{n}$") for n in names]),
            layout_pb2.Category(title="Optimization", chart=[
                _chart("learning rate", r"^optim/learning_rate$"), _chart("global gradient norm", r"^optim/grad_norm$"),
                _chart("update / weight ratio", r"^optim/update_ratio$"),
                _chart("update / weight ratio per layer", r"^update_ratio/"),
                _chart("weight norm per layer", r"^weight_norm/")]),
            layout_pb2.Category(title="Speed", chart=[_chart("samples per second", r"^speed/samples_per_second$"),
                                                      _chart("epoch seconds", r"^speed/epoch_seconds$")])]
    if step_charts:
        cats.append(layout_pb2.Category(title="Every N steps", chart=[
            _chart("loss (steps)", r"^step/loss$"), _chart("global gradient norm (steps)", r"^step/grad_norm$"),
            _chart("update / weight ratio (steps)", r"^step/update_ratio$")]))
    return layout_pb2.Layout(category=cats)


# --------------------------------------------------------------------------- the callback
def probe_indices(n: int, size: int) -> np.ndarray:
    """A fixed, evenly spaced subset of the training split (no RNG, so the same on every resume)."""
    return np.unique(np.linspace(0, n - 1, num=min(n, size)).astype(np.int64))


def _norm(arrays: List[np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays)))


def update_ratios(before: Dict[str, List[np.ndarray]], after: Dict[str, List[np.ndarray]]) -> Dict[str, float]:
    """||w_after - w_before|| / ||w_before|| per layer, and over all layers under the key ""."""
    out: Dict[str, float] = {}
    diffs, bases = [], []
    for name, ws in after.items():
        prev = before.get(name, ws)
        d = [w - b for w, b in zip(ws, prev)]
        diffs += d
        bases += prev
        out[name] = _norm(d) / max(_norm(prev), 1e-12)
    out[""] = _norm(diffs) / max(_norm(bases), 1e-12)
    return out


class TensorBoardReview(keras.callbacks.Callback):
    """Writes run_dir/tb/ for any trainer that drives the Keras callback protocol (see the module docstring).

    The global gradient norm is not exposed by `fit`, so it is measured at each log point on a fixed probe batch of
    the training split: loss (regularization included) in inference mode (`training=False`, no dropout), the
    global RNG untouched and the model's seed-generator states restored afterwards (Keras RNNs draw dropout masks
    even in inference), so training and resumed runs stay bit-exact. It is therefore the gradient of the
    deterministic objective at the current weights, not the noisy gradient of the last step.
    """

    def __init__(self, cfg: DictConfig, run_dir: Path, splits):
        super().__init__()
        tb = cfg.trainer.tensorboard
        self.logdir = Path(run_dir) / "tb"
        self.update_freq = None if tb.update_freq == "epoch" else int(tb.update_freq)
        self.histogram_freq, self.write_graph = int(tb.histogram_freq), bool(tb.write_graph)
        self.batch_size, self.n_train = int(cfg.trainer.batch_size), len(splits.train)
        self.hparams = hparams_from_config(cfg)
        self.config_text = OmegaConf.to_yaml(cfg, resolve=True)
        self.trial_id = str(Path(run_dir).resolve())
        self._probe_np = splits.train.arrays(probe_indices(len(splits.train), int(tb.probe_size)))
        self._writers: Dict[str, Any] = {}
        self._best: Dict[str, float] = {}
        self._layout_written = False
        self.overhead_seconds = 0.0

    # ------------------------------------------------------------------ helpers
    def _scalars(self, writer: str, values: Dict[str, Any], step: int) -> None:
        with self._writers[writer].as_default(step=step):
            for tag, v in values.items():
                tf.summary.scalar(tag, float(v))

    def _layers(self):
        return [layer for layer in self.model.layers if layer.trainable_weights]

    def _snapshot(self) -> Dict[str, List[np.ndarray]]:
        return {layer.name: [np.array(w) for w in layer.trainable_weights] for layer in self._layers()}

    def _optim_values(self, prev: Dict[str, List[np.ndarray]], now: Dict[str, List[np.ndarray]]) -> Dict[str, float]:
        """Learning rate, gradient norm on the probe batch, and ||w - w_prev|| / ||w_prev|| overall and per layer."""
        out = {"learning_rate": current_lr(self.model.optimizer)}
        if self._grad_norm is not None:
            # Keras RNN layers draw their dropout masks even when training=False: put the seeds back
            seeds = [(v, v.numpy()) for v in self.model.non_trainable_variables if v.name == "seed_generator_state"]
            out["grad_norm"] = float(self._grad_norm(*self._probe))
            for v, state in seeds:
                v.assign(state)
        ratios = update_ratios(prev, now)
        out["update_ratio"] = ratios.pop("")
        out.update({f"layer/{name}": r for name, r in ratios.items()})
        return out

    def _make_grad_norm(self):
        model = self.model
        if model.optimizer is None or getattr(model, "loss", None) is None:
            return None
        loss_fn = model.loss if callable(model.loss) else keras.losses.get(model.loss)

        @tf.function(reduce_retracing=True)
        def grad_norm(x, y):
            with tf.GradientTape() as tape:
                pred = model(x, training=False)  # no dropout: no RNG consumed
                loss = tf.reduce_mean(loss_fn(y, pred))
                if model.losses:
                    loss += tf.add_n([tf.cast(x_, loss.dtype) for x_ in model.losses])
            grads = tape.gradient(loss, model.trainable_variables)
            return tf.linalg.global_norm([g for g in grads if g is not None])

        return grad_norm

    def _write_graphs(self) -> None:
        """The forward-pass op graph (traced on the probe batch) and the Keras conceptual graph, for any trainer."""
        model = self.model
        forward = tf.function(lambda x: model(x, training=False))
        with self._writers["train"].as_default(step=0):
            tf.summary.graph(forward.get_concrete_function(self._probe[0]).graph)
            meta = tf.compat.v1.SummaryMetadata()
            meta.plugin_data.plugin_name, meta.plugin_data.content = "graph_keras_model", b"1"
            try:
                tf.summary.write("keras", tf.constant(model.to_json()), step=0, metadata=meta)
            except (NotImplementedError, TypeError, ValueError) as e:  # subclassed models have no JSON form
                log.debug("no Keras conceptual graph: %s", e)

    def _histograms(self, step: int) -> None:
        with self._writers["train"].as_default(step=step):
            for w in self.model.weights:
                tf.summary.histogram(w.path.replace(":", "_"), w)

    # ------------------------------------------------------------------ Keras callback protocol
    def on_train_begin(self, logs=None):
        t0 = time.perf_counter()
        for name in ("train", "validation", "summary"):
            self._writers[name] = tf.summary.create_file_writer(str(self.logdir / name))
        self._probe = tuple(tf.convert_to_tensor(a) for a in self._probe_np)
        self._grad_norm = self._make_grad_norm()
        self._step = int(self.model.optimizer.iterations) if self.model.optimizer is not None else 0
        self._snap_epoch = self._snap_step = self._snapshot()
        with self._writers["summary"].as_default(step=0):
            hp.hparams(self.hparams, trial_id=self.trial_id)
            tf.summary.text("config", f"```yaml\n{self.config_text}```")
            lines: List[str] = []
            self.model.summary(print_fn=lambda s, line_break=True: lines.append(s))
            tf.summary.text("model_summary", f"**{self.model.count_params():,} parameters**\n\n```\n"
                                             + "\n".join(lines) + "\n```")
        if self.write_graph:
            self._write_graphs()
        if self.histogram_freq and self._step == 0:  # the initial weights, once (not again on resume)
            self._histograms(0)
        self.overhead_seconds += time.perf_counter() - t0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_t0 = self._last_batch_t = time.perf_counter()
        self._batches, self._batch_overhead = 0, 0.0

    def on_train_batch_end(self, batch, logs=None):
        self._last_batch_t = time.perf_counter()
        self._batches += 1
        self._step += 1
        if self.update_freq and self._step % self.update_freq == 0:
            now = self._snapshot()
            opt = self._optim_values(self._snap_step, now)
            self._snap_step = now
            values = {f"step/{k}": v for k, v in (logs or {}).items() if not k.startswith("val_")}
            values.update({f"step/{k}": opt[k] for k in ("learning_rate", "grad_norm", "update_ratio") if k in opt})
            self._scalars("train", values, self._step)
            spent = time.perf_counter() - self._last_batch_t
            self._batch_overhead += spent
            self.overhead_seconds += spent

    def on_epoch_end(self, epoch, logs=None):
        t0 = time.perf_counter()
        e = epoch + 1
        logs = {k: float(v) for k, v in (logs or {}).items()}
        train = {f"epoch_{k}": v for k, v in logs.items() if not k.startswith("val_")}
        val = {f"epoch_{k[4:]}": v for k, v in logs.items() if k.startswith("val_")}
        now = self._snapshot()
        opt = self._optim_values(self._snap_epoch, now)
        self._snap_epoch = now
        train.update({f"optim/{k}": opt[k] for k in ("learning_rate", "grad_norm", "update_ratio") if k in opt})
        train.update({f"update_ratio/{k[6:]}": v for k, v in opt.items() if k.startswith("layer/")})
        train.update({f"weight_norm/{name}": _norm(ws) for name, ws in now.items()})
        start = getattr(self, "_epoch_t0", None)
        if start is not None:
            train_s = max(self._last_batch_t - start - self._batch_overhead, 1e-9)
            train["speed/samples_per_second"] = min(self._batches * self.batch_size, self.n_train) / train_s
            train["speed/epoch_seconds"] = t0 - start - self._batch_overhead
        self._scalars("train", train, e)
        if val:
            self._scalars("validation", val, e)
        if "val_loss" in logs and logs["val_loss"] <= self._best.get("val/loss", float("inf")):
            self._best = {metric_tag(k): v for k, v in logs.items() if k.startswith("val_")}
            self._best["best_epoch"] = e
        if self.histogram_freq and e % self.histogram_freq == 0:
            self._histograms(e)
        if not self._layout_written:
            names = [k for k in logs if not k.startswith("val_")]
            with self._writers["summary"].as_default(step=0):
                tf.summary.experimental.write_raw_pb(
                    summary_v1.custom_scalar_pb(scalars_layout(names, bool(self.update_freq))).SerializeToString(),
                    step=0)
            self._layout_written = True
        for w in self._writers.values():
            w.flush()  # live viewing: TensorBoard sees every epoch as it ends
        self.overhead_seconds += time.perf_counter() - t0

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.flush()
        log.info("TensorBoard review: %.2f s spent writing %s", self.overhead_seconds, self.logdir)

    # ------------------------------------------------------------------ after evaluation (called by run())
    def on_run_end(self, metrics: Dict[str, Any]) -> None:
        """Final metrics for HParams: val/<metric> at the best epoch and test/<metric>; closes the session."""
        if "summary" not in self._writers:  # training never began here (a resumed run that had already ended)
            self._writers["summary"] = tf.summary.create_file_writer(str(self.logdir / "summary"))
            with self._writers["summary"].as_default(step=0):
                hp.hparams(self.hparams, trial_id=self.trial_id)
        step = int(metrics.get("epochs") or 0)
        values = dict(self._best)
        values.update({f"test/{k}": v for k, v in (metrics.get("test") or {}).items()})
        self._scalars("summary", values, step)
        status = api_pb2.STATUS_SUCCESS if metrics.get("status", "completed") == "completed" else api_pb2.STATUS_FAILURE
        with self._writers["summary"].as_default(step=step):
            tf.summary.experimental.write_raw_pb(hp_summary_v1.session_end_pb(status).SerializeToString(), step=step)
        for w in self._writers.values():
            w.close()
        self._writers = {}
