"""trainer.distribute: the run's tf.distribute strategy, its batches split across replicas, and who is the chief.

`trainer.batch_size` is the global batch. Each global batch (the same batches, in the same order, as on one
device) is cut into one near-equal piece per replica; a replica's loss is its piece's mean times its share of the
global batch (`tf.nn.compute_average_loss` with the global batch size), so the all-reduced gradient is the
single-device gradient of that batch. Under `multi_worker` only the chief (task 0) writes files; the others train
in lockstep and write nothing. Each run's placement is handed to the stages that need it (stages.Prepared.placement).
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np

from ..config import ConfigError
from ..config.cluster import Cluster, cluster_of
from .batches import batch_rows
from .checkpoint import CheckpointStore, State, read_state

log = logging.getLogger(__name__)


class WorkerLost(RuntimeError):
    """A peer of a multi-worker run died or stopped answering: the survivors stop instead of waiting forever."""


@dataclass
class Placement:
    """Where a run trains: `kind` (none | mirrored | multi_worker), its strategy, replicas, and whether it writes."""

    kind: str = "none"
    strategy: Any = None  # tf.distribute.Strategy; None: the default (one device)
    replicas: int = 1  # replicas in sync, across every worker
    chief: bool = True  # writes checkpoints, TensorBoard logs and outputs
    cluster: Optional[Cluster] = None
    timeout_s: float = 60.0

    def scope(self):
        """Where variables must be created (model, optimizer, metrics) for the strategy to mirror them."""
        return self.strategy.scope() if self.strategy is not None else nullcontext()

    def describe(self) -> dict:
        """metrics.json's `distribute`."""
        out = {"strategy": self.kind, "replicas": self.replicas}
        if self.cluster is not None:
            out["workers"] = self.cluster.size
        return out


_MULTI_WORKER: dict = {}  # cluster -> strategy: one MultiWorkerMirroredStrategy (one gRPC server) per process


def configure_devices(tcfg) -> None:
    """`trainer.replicas` logical CPU devices on a machine without GPUs; must run before TensorFlow's runtime starts."""
    import tensorflow as tf

    n = tcfg.replicas
    if tcfg.distribute != "mirrored" or not n or tf.config.list_physical_devices("GPU"):
        return
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:  # the runtime started earlier in this process: its devices are fixed
        have = len(tf.config.list_logical_devices("CPU"))
        if have < n:
            raise ConfigError(f"trainer.replicas: expected at most the {have} CPU device(s) this process started "
                              f"TensorFlow with (logical devices are fixed at start-up; run in a fresh process, "
                              f"e.g. sweep.isolation=process), got {n}") from None


def place(tcfg) -> Placement:
    """Create the strategy of `trainer.distribute` (after `configure_devices`); returns its Placement."""
    kind = tcfg.distribute
    if kind == "none":
        return Placement()
    import tensorflow as tf

    if kind == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        pool = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        n = tcfg.replicas or (len(gpus) if gpus else 1)
        if n > len(pool):
            raise ConfigError(f"trainer.replicas: expected at most the {len(pool)} local "
                              f"{'GPU' if gpus else 'CPU'} device(s), got {n}")
        strategy = tf.distribute.MirroredStrategy(devices=pool[:n])
        placement = Placement("mirrored", strategy, strategy.num_replicas_in_sync)
    else:
        cluster = cluster_of(tcfg.cluster)
        key = (tuple((j, tuple(a)) for j, a in sorted(cluster.jobs.items())), cluster.task_type, cluster.task_index)
        if key not in _MULTI_WORKER:
            resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
                tf.train.ClusterSpec(cluster.jobs), task_type=cluster.task_type, task_id=cluster.task_index,
                rpc_layer="grpc")
            # every collective (gradients, metrics) fails after timeout_s instead of waiting for a dead peer forever
            options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=float(tcfg.cluster.timeout_s))
            _MULTI_WORKER[key] = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver,
                                                                           communication_options=options)
            _warn_exposure(cluster)
        strategy = _MULTI_WORKER[key]
        placement = Placement("multi_worker", strategy, strategy.num_replicas_in_sync, cluster.is_chief, cluster,
                              float(tcfg.cluster.timeout_s))
        log.info("multi-worker: %s, %d replicas in sync%s", cluster.describe(), placement.replicas,
                 " (chief: writes the outputs)" if cluster.is_chief else " (writes nothing)")
    return placement


def _warn_exposure(cluster) -> None:
    """Say what this worker's server really listens on: TensorFlow binds every interface, whatever the address."""
    from ..config.cluster import exposure, listening

    address = cluster.jobs[cluster.task_type][cluster.task_index]
    warning = exposure(address, listening(int(address.rpartition(":")[2])))
    if warning:
        log.warning(warning)


def scaled_lr(tcfg, replicas: int) -> float:
    """trainer.lr under trainer.lr_scaling: `linear` multiplies it by the replicas in sync (Goyal et al. 2017)."""
    return float(tcfg.lr) * (replicas if tcfg.lr_scaling == "linear" else 1)


# --------------------------------------------------------------------------- data and loss
def distribute_split(placement: Placement, split, batch_size: int, **kwargs):
    """`split.dataset(batch_size, **kwargs)` for the strategy: each replica gets (x, y, n), its piece of every
    global batch and the global batch's size n (the last batch may be short: some pieces are then smaller)."""
    import tensorflow as tf

    strategy = placement.strategy
    total = strategy.num_replicas_in_sync

    def dataset_fn(ctx):
        local = total // ctx.num_input_pipelines  # this worker's replicas take pieces [first, first + local)
        first = ctx.input_pipeline_id * local

        def pieces(x, y):
            n = batch_rows(x)

            def piece(k):
                lo, hi = n * k // total, n * (k + 1) // total
                return tf.nest.map_structure(lambda v: v[lo:hi], x), y[lo:hi], n

            return tf.data.Dataset.range(first, first + local).map(lambda k: piece(tf.cast(k, tf.int32)))

        return split.dataset(batch_size, **kwargs).flat_map(pieces).prefetch(tf.data.AUTOTUNE)

    return strategy.distribute_datasets_from_function(dataset_fn)


def replica_loss(loss, local_n, global_n):
    """The replica's share of the global batch's mean loss; summed over the replicas it is that mean.

    `loss` is `model.compute_loss` of the replica's piece, which Keras' losses divide by the replicas in sync
    (they assume equal pieces); undone here, the piece's mean times its size is its sum of per-example losses.
    """
    import tensorflow as tf

    mean = unscaled(loss)
    per_piece = tf.reshape(mean * tf.cast(local_n, mean.dtype), [1])
    return tf.nn.compute_average_loss(per_piece, global_batch_size=global_n)


def unscaled(loss):
    """A replica's `model.compute_loss` as the mean over its own piece (Keras divides it by the replicas in sync)."""
    import tensorflow as tf

    return loss * tf.cast(tf.distribute.get_replica_context().num_replicas_in_sync, loss.dtype)


# --------------------------------------------------------------------------- collectives outside the step
def broadcast_bytes(placement: Placement, data: Optional[bytes]) -> bytes:
    """The chief's `data` on every worker (the others pass None), through two all-reduces of int32 words."""
    import tensorflow as tf

    strategy = placement.strategy
    own = data if placement.chief and data is not None else b""

    def all_sum(values: np.ndarray) -> np.ndarray:
        def fn():
            return tf.distribute.get_replica_context().all_reduce("sum", tf.constant(values))

        return strategy.experimental_local_results(strategy.run(fn))[0].numpy()

    length = int(all_sum(np.array([len(own)], np.int64))[0])
    words = np.zeros((length + 3) // 4, np.int32)
    if placement.chief and length:  # the others add zeros: the sum is the chief's bytes exactly
        words.view(np.uint8)[:length] = np.frombuffer(own, np.uint8)
    return all_sum(words).view(np.uint8)[:length].tobytes() if length else b""


class ChiefStore(CheckpointStore):
    """Checkpoints of a multi-worker run: only the chief writes them, and every worker resumes from the chief's
    latest (sent to the others over the cluster, so the workers need no shared disk)."""

    def __init__(self, store: CheckpointStore, placement: Placement):
        super().__init__(store.dir, store.keep)
        self.placement = placement

    def save(self, state: State):
        if self.placement.chief:
            return super().save(state)
        return None  # the chief writes the same state

    def latest(self) -> Optional[State]:
        state = super().latest() if self.placement.chief else None
        received = broadcast_bytes(self.placement, state.path.read_bytes() if state is not None else None)
        if self.placement.chief or not received:
            return state
        return read_state(io.BytesIO(received))


def detach(placement: Placement, model) -> None:
    """Under multi_worker, let Keras' evaluate/predict on `model` run on this worker alone (the chief's outputs)
    instead of through the strategy, whose collectives would wait for the other workers.

    Keras keeps the strategy a model was built under in a private attribute (seqlab.private.detach_strategy);
    tests/test_distribute.py pins that. The training steps never go through it: tape.py runs
    `strategy.run` itself.
    """
    if placement.kind == "multi_worker":
        from ..private import detach_strategy

        detach_strategy(model)


def weights_digest(model) -> str:
    """sha256 of every model variable's bytes: the same on every worker of a healthy multi-worker run."""
    import hashlib

    h = hashlib.sha256()
    for v in model.variables:
        h.update(np.ascontiguousarray(v.numpy()).tobytes())
    return h.hexdigest()


@contextmanager
def peers_watched(placement: Placement) -> Iterator[None]:
    """A collective that failed because a peer died or went silent becomes WorkerLost, with what to do next."""
    if placement.kind != "multi_worker":
        yield
        return
    import tensorflow as tf

    lost = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
            tf.errors.AbortedError)
    try:
        yield
    except lost as e:
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise WorkerLost(f"{placement.cluster.describe()}: a peer died or did not answer within "
                         f"trainer.cluster.timeout_s={placement.timeout_s:g} s ({type(e).__name__}: {first}); "
                         "restart every worker with the same command to resume from the chief's last checkpoint"
                         ) from e
