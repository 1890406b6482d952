"""trainer=fit: Keras model.fit over the shared tf.data pipeline and callback list."""

from __future__ import annotations

from typing import Dict, List

import keras

from .batches import drops_last, log_dropped, train_steps
from .callbacks import progress_verbosity


def train(model: keras.Model, splits, tcfg, callbacks: List[keras.callbacks.Callback], seed: int,
          initial_epoch: int = 0, placement=None) -> Dict[str, List[float]]:
    """Train epochs [initial_epoch, tcfg.epochs); returns the per-epoch history (Keras metric names)."""
    bs = tcfg.batch_size
    model.run_eagerly = tcfg.eager
    # one stream over all remaining epochs, each epoch's order a function of (seed, epoch)
    log_dropped(model, splits.train, bs)
    train_ds = splits.train.dataset(bs, shuffle_seed=seed if tcfg.shuffle else None, first_epoch=initial_epoch,
                                    epochs=tcfg.epochs, drop_remainder=drops_last(model, len(splits.train), bs))
    val_ds = splits.val.dataset(bs) if len(splits.val) else None
    history = model.fit(train_ds, validation_data=val_ds, epochs=tcfg.epochs, initial_epoch=initial_epoch,
                        steps_per_epoch=train_steps(model, splits.train, bs), callbacks=callbacks,
                        verbose=progress_verbosity(tcfg.verbose),
                        shuffle=False)  # the pipeline shuffles per epoch itself
    return {k: [float(x) for x in v] for k, v in history.history.items()}
