"""A model and a dataset of your own, trained by seqlab's full pipeline (docs/EXTENDING.md).

Run from this folder (the working directory is importable):

    python -m seqlab model=custom model.builder=my_models:tcn
    python -m seqlab dataset=custom dataset.loader=my_models:load_counting model=custom model.builder=my_models:tcn
"""

import keras
import numpy as np

from seqlab.models import head_for


def tcn(cfg, spec) -> keras.Model:
    """A small temporal convolutional network: dilated causal convolutions, the last step, the data's head.

    cfg is the `model` sub-config (its own hyperparameters in cfg.params), spec the seqlab DataSpec.
    """
    filters = int(cfg.params.get("filters", 16))
    levels = int(cfg.params.get("levels", 3))
    if spec.vocab_size:  # token ids (batch, time) -> vectors (batch, time, filters)
        inp = keras.Input(shape=spec.input_shape, dtype="int32")
        x = keras.layers.Embedding(spec.vocab_size, filters)(inp)
    else:  # (batch, time, features)
        inp = keras.Input(shape=spec.input_shape)
        x = inp
    for i in range(levels):
        x = keras.layers.Conv1D(filters, 3, padding="causal", dilation_rate=2**i, activation="relu")(x)
    # (batch, filters): a forecast reads the last step, a classifier the average over time
    x = x[:, -1, :] if spec.task == "regression" else keras.layers.GlobalAveragePooling1D()(x)
    units, activation, _ = head_for(spec)  # what seqlab's loss expects: linear / sigmoid / softmax units
    out = keras.layers.Dense(units, activation=activation)(x)
    if spec.task == "regression":
        out = keras.layers.Reshape(spec.output_shape)(out)  # e.g. (batch, horizon, targets)
    return keras.Model(inp, out, name="tcn")


def load_counting(cfg, seed):
    """Binary sequences labelled by whether they hold more ones than zeros: plain arrays, seqlab does the rest.

    x float (n, time, 1) and integer labels, so seqlab infers a binary classification task.
    """
    rng = np.random.default_rng(seed)
    length = int(cfg.params.get("length", 21))

    def split(n):
        x = rng.integers(0, 2, (n, length, 1)).astype("float32")
        return x, (x.sum(axis=(1, 2)) > length / 2).astype("int64")

    return {"train": split(int(cfg.params.get("train_size", 1024))), "val": split(256), "test": split(256)}
