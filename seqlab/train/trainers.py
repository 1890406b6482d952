"""The trainer options: `registry("trainer").get(name).load()` is `train(model, splits, tcfg, callbacks, seed,
initial_epoch) -> history`. This module imports no TensorFlow; the trainers themselves do, on first use."""

from __future__ import annotations

from ..config.schema import TrainerConfig
from ..registry import REGISTRIES

REGISTRIES["trainer"].add("fit", TrainerConfig, target="seqlab.train.fit:train", schema_name="trainer",
                          help="Keras model.fit")
REGISTRIES["trainer"].add("tape", TrainerConfig, target="seqlab.train.tape:train", schema_name="trainer",
                          help="custom tf.GradientTape loop")
