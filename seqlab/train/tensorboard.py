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

import logging
import time
from pathlib import Path
from typing import Any, Dict, List

import keras
import numpy as np
import tensorflow as tf
from omegaconf import DictConfig, OmegaConf
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import summary as hp_summary_v1
from tensorboard.summary import v1 as summary_v1

from .optim import current_lr
from .tensorboard_hparams import hparams_from_config, metric_tag, write_hparams_experiment
from .tensorboard_layout import scalars_layout

__all__ = ["TensorBoardReview", "histogram_buckets", "hparams_from_config", "metric_tag", "scalars_layout",
           "update_ratios", "write_hparams_experiment"]

log = logging.getLogger(__name__)
OPTIM_HISTORY = ("grad_norm", "update_ratio")  # per-epoch optimisation signals also put into the epoch's logs


# --------------------------------------------------------------------------- the callback
def probe_indices(n: int, size: int) -> np.ndarray:
    """A fixed, evenly spaced subset of the training split (no RNG, so the same on every resume)."""
    return np.unique(np.linspace(0, n - 1, num=min(n, size)).astype(np.int64))


def _trial_id(run_dir: Path) -> str:
    """The HParams trial id: the run folder relative to the working directory when inside it (outputs/...)."""
    path, cwd = run_dir.resolve(), Path.cwd().resolve()
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) and path != cwd else str(path)


def _norm(arrays: List[np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays)))


def histogram_buckets(values: np.ndarray, bins: int = 30) -> np.ndarray:
    """TensorBoard's histogram tensor, (bins, 3) rows of [left, right, count], computed in NumPy (the eager TF
    version costs ~50 ms per weight)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        return np.zeros((bins, 3))
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:  # one value: TensorBoard's own convention, everything in the last bucket
        counts = np.zeros(bins)
        counts[-1] = x.size
        return np.stack([np.full(bins, hi), np.full(bins, hi), counts], axis=1)
    counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    return np.stack([edges[:-1], edges[1:], counts.astype(np.float64)], axis=1)


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

    state_key = "tensorboard"  # its best-epoch record goes into every checkpoint (state_dict)

    def __init__(self, cfg: DictConfig, run_dir: Path, splits):
        super().__init__()
        tb = cfg.trainer.tensorboard
        self.logdir = Path(run_dir) / "tb"
        self.update_freq = None if tb.update_freq == "epoch" else int(tb.update_freq)
        self.histogram_freq, self.write_graph = int(tb.histogram_freq), bool(tb.write_graph)
        self.batch_size, self.n_train = int(cfg.trainer.batch_size), len(splits.train)
        self.hparams = hparams_from_config(cfg)
        self.config_text = OmegaConf.to_yaml(cfg, resolve=True)
        self.trial_id = _trial_id(Path(run_dir))
        self._probe_np = splits.train.arrays(probe_indices(len(splits.train), int(tb.probe_size)))
        self._writers: Dict[str, Any] = {}
        self._best: Dict[str, float] = {}
        self._layout_written = False
        self.setup_seconds, self.overhead_seconds, self._epochs = 0.0, 0.0, 0  # the review's own cost

    # ------------------------------------------------------------------ helpers
    def _scalars(self, writer: str, values: Dict[str, Any], step: int) -> None:
        with self._writers[writer].as_default(step=step):
            for tag, v in values.items():
                tf.summary.scalar(tag, float(v))

    def _snapshot(self) -> Dict[str, List[np.ndarray]]:
        return {layer.name: [np.array(w) for w in layer.trainable_weights] for layer in self.model.layers
                if layer.trainable_weights}

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

        @tf.function(reduce_retracing=True, autograph=False)
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
        forward = tf.function(lambda x: model(x, training=False), autograph=False)
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
                if w.name == "seed_generator_state":
                    continue
                tf.summary.write(w.path.replace(":", "_"), tf.constant(histogram_buckets(np.array(w))),
                                 metadata=histogram_metadata.create_summary_metadata("", ""))

    # ------------------------------------------------------------------ Keras callback protocol
    def on_train_begin(self, logs=None):
        t0 = time.perf_counter()
        for name in ("train", "validation", "summary"):
            self._writers[name] = tf.summary.create_file_writer(str(self.logdir / name))
        self._probe = tuple(tf.nest.map_structure(tf.convert_to_tensor, a) for a in self._probe_np)
        self._grad_norm = self._make_grad_norm()
        if self._grad_norm is not None:
            self._grad_norm.get_concrete_function(*self._probe)  # trace now (set-up), run nothing
        self._step = int(self.model.optimizer.iterations.numpy()) if self.model.optimizer is not None else 0
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
        self.setup_seconds += time.perf_counter() - t0

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
        shared, logs = logs, {k: float(v) for k, v in (logs or {}).items()}
        train = {f"epoch_{k}": v for k, v in logs.items() if not k.startswith("val_")}
        val = {f"epoch_{k[4:]}": v for k, v in logs.items() if k.startswith("val_")}
        now = self._snapshot()
        opt = self._optim_values(self._snap_epoch, now)
        self._snap_epoch = now
        if shared is not None:  # History comes after this callback: history.csv records the signals the diagnosis reads
            shared.update({k: opt[k] for k in OPTIM_HISTORY if k in opt})
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
            self._best["val/best_epoch"] = e
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
        self._epochs += 1

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.flush()
        log.info("TensorBoard review in %s: %.2f s set-up (graph, probe), then %.3f s per epoch", self.logdir,
                 self.setup_seconds, self.overhead_seconds / max(self._epochs, 1))

    # ------------------------------------------------------------------ checkpoint state (resume)
    def state_dict(self) -> Dict[str, Any]:
        """Kept in every checkpoint, so HParams' best-epoch metrics span the epochs before a resume too."""
        return {"best": {k: float(v) for k, v in self._best.items()}}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self._best = dict(state.get("best", {}))

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
        if metrics.get("pruned"):  # HParams has no status for it: a `pruned` column, the epoch it stopped after
            values["pruned"] = float(metrics["pruned"]["epoch"])
        self._scalars("summary", values, step)
        status = api_pb2.STATUS_SUCCESS if metrics.get("status", "completed") == "completed" else api_pb2.STATUS_FAILURE
        if metrics.get("pruned"):  # stopped by a sweep's pruner: HParams lists it as status Unknown
            status = api_pb2.STATUS_UNKNOWN
        with self._writers["summary"].as_default(step=step):
            tf.summary.experimental.write_raw_pb(hp_summary_v1.session_end_pb(status).SerializeToString(), step=step)
        for w in self._writers.values():
            w.close()
        self._writers = {}
