"""trainer=lstsq: the exact least-squares fit of a model that is linear in its weights (model=linear), in one pass.

The normal equations are summed over the training windows in float64 and solved once; regularizer.l2 makes it ridge
regression with the penalty fit would add (`l2 * sum(kernel ** 2)` beside the mean squared error). The one "epoch"
drives the same callbacks as fit: history, TensorBoard, checkpoints and the run's outputs are those of any run.
"""

from __future__ import annotations

import logging
import time
from typing import Dict, List

import keras
import numpy as np

from .tape import _build_state, evaluate, make_steps

log = logging.getLogger(__name__)
PASS_BATCH = 1024  # windows per batch of the summing pass (memory only: the sums are exact)
MAX_GRAM_BYTES = 4 * 2**30  # the float64 normal-equation matrix; past this, refuse before the pass


def solve(model: keras.Model, split, l2: float) -> Dict[str, float]:
    """Set the head's kernel and bias to the (ridge) least-squares solution on `split`; returns what it did."""
    from ..config import config_error
    from ..models.linear import head_layer, head_problem

    rows = head_problem(model)
    head = head_layer(model)
    features = int(head.input.shape[-1])
    size = (features + 1) ** 2 * 8
    if size > MAX_GRAM_BYTES:  # e.g. 720 steps x 321 channels flattened: a 400 GB matrix
        raise config_error("model.channel_independent", f"true, or a shorter dataset.input_len, with trainer=lstsq "
                           f"(the window flattens to {features:,} features, whose normal equations take "
                           f"{size / 2**30:,.0f} GiB; limit {MAX_GRAM_BYTES / 2**30:.0f} GiB), or trainer=fit",
                           f"{features:,} features")
    gram = rhs = None
    count = 0
    for x, y in split.dataset(PASS_BATCH):
        features, targets, weights = rows(x, y)
        a = np.hstack([features, np.ones((len(features), 1))])  # the bias is the last column
        if gram is None:
            gram, rhs = np.zeros((a.shape[1], a.shape[1])), np.zeros((a.shape[1], targets.shape[1]))
        gram += a.T @ (weights * a)
        rhs += a.T @ (weights * targets)
        count += len(a)
    # fit minimises mean((pred - y) ** 2) over every value, plus l2 * sum(kernel ** 2): over `count` rows of
    # `outputs` values that is sum(w (a W - t) ** 2) + l2 * count * outputs * |kernel| ** 2 (the bias is not penalised)
    outputs = rhs.shape[1]
    penalty = np.eye(len(gram)) * (l2 * count * outputs)
    penalty[-1, -1] = 0.0
    solution, _, rank, _ = np.linalg.lstsq(gram + penalty, rhs, rcond=None)  # minimum norm where singular
    head.set_weights([solution[:-1].astype(np.float32), solution[-1].astype(np.float32)])
    return {"rows": count, "features": len(gram) - 1, "outputs": outputs, "rank": int(rank)}


def train(model: keras.Model, splits, tcfg, callbacks: List[keras.callbacks.Callback], seed: int,
          initial_epoch: int = 0, placement=None) -> Dict[str, List[float]]:
    """Solve, then report the one epoch (training and validation metrics of the solution) to the callbacks."""
    from ..config import config_error
    from ..models.linear import head_layer

    # the model is one whose registry entry has the least_squares capability (trainers.check_lstsq, before
    # TensorFlow); only the task of a custom dataset is known this late
    if not isinstance(model.loss, keras.losses.MeanSquaredError):  # a custom dataset's task is known only now
        raise config_error("trainer", "fit or tape for a model trained on "
                           f"{getattr(model.loss, 'name', model.loss)} (lstsq solves the mean squared error)",
                           "lstsq", ["fit", "tape"])
    bs = tcfg.batch_size
    cbs = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=False, epochs=1,
                                       steps=splits.train.steps(bs), model=model)
    val_steps = splits.val.steps(bs)
    _build_state(model, next(iter(splits.train.dataset(bs))))
    _, eval_step = make_steps(model, eager=tcfg.eager)
    model.stop_training = False
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    start = time.perf_counter()
    regularizer = head_layer(model).kernel_regularizer  # regularizer.l2 (None without it)
    done = solve(model, splits.train, float(regularizer.l2) if regularizer is not None else 0.0)
    log.info("trainer=lstsq: %d rows x %d features -> %d outputs (rank %d) solved in %.2f s", done["rows"],
             done["features"], done["outputs"], done["rank"], time.perf_counter() - start)
    quiet = keras.callbacks.CallbackList([], model=model)
    logs = evaluate(model, splits.train.dataset(bs), splits.train.steps(bs), eval_step, quiet)
    if val_steps:
        val = evaluate(model, splits.val.dataset(bs), val_steps, eval_step, cbs)
        logs.update({f"val_{k}": v for k, v in val.items()})
    cbs.on_epoch_end(0, logs)
    cbs.on_train_end(logs)
    return {k: [float(x) for x in v] for k, v in model.history.history.items()}
