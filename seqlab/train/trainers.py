"""The trainer options: `registry("trainer").get(name).load()` is `train(model, splits, tcfg, callbacks, seed,
initial_epoch) -> history`. This module imports no TensorFlow; the trainers themselves do, on first use."""

from __future__ import annotations

import logging

from ..config.schema import TrainerConfig
from ..registry import REGISTRIES

log = logging.getLogger(__name__)


def check_lstsq(cfg) -> None:
    """trainer=lstsq solves a linear model's mean squared error exactly: everything that is not that is refused."""
    from ..config.checks import check
    from ..registry import entry, registry

    t, r = cfg.trainer, cfg.regularizer
    solvable = registry("model").with_capability("least_squares")
    check(entry(cfg, "model").has("least_squares"), "model",
          f"a model that is linear in its weights with trainer=lstsq ({', '.join(solvable)}; or trainer=fit)",
          cfg.model.name, solvable)
    check(not entry(cfg, "dataset").has("classification") and not entry(cfg, "dataset").has("text"), "dataset",
          "a regression dataset with trainer=lstsq (it solves the mean squared error; classes need trainer=fit)",
          cfg.dataset.name)
    check(t.loss in ("auto", "mse"), "trainer.loss",
          "mse with trainer=lstsq (the least-squares solution is the minimum of the mean squared error only)",
          t.loss, ["auto", "mse"])
    check(cfg.model.quantiles is None, "model.quantiles", "null with trainer=lstsq (it solves the mean "
          "squared error; a quantile head trains on the pinball loss: trainer=fit or tape)", cfg.model.quantiles)
    for key, value in (("dropout", r.dropout), ("head_dropout", r.head_dropout),
                       ("adversarial", r.adversarial)):
        check(not value, f"regularizer.{key}", "0 with trainer=lstsq (the exact solution has no training noise; "
              "regularizer.l2 makes it ridge regression)", value)
    check(t.distribute == "none", "trainer.distribute",
          "none with trainer=lstsq (one pass on one device)", t.distribute, ["none"])
    check(cfg.sweep.name == "none", "sweep", "none with trainer=lstsq (choose regularizer.l2 with a Hydra multirun: "
          "-m regularizer.l2=0,1e-5,1e-4)", cfg.sweep.name, ["none"])
    if cfg.model.norm == "revin":  # a least_squares model (checked above) has the window options
        check(cfg.model.channel_independent, "model.norm",
              "last or none with trainer=lstsq unless model.channel_independent=true (RevIN's per-channel scale "
              "weights each target differently)", cfg.model.norm)

def one_pass_budget(cfg) -> None:
    """A trainer that solves in one pass (capability exact_solve) runs one epoch without early stopping, whatever
    budget a dataset family's defaults (conf/family/) give the trainers that iterate; logged when it differs."""
    from ..registry import entry

    t = cfg.trainer
    if entry(cfg, "trainer").has("exact_solve") and (t.epochs != 1 or t.patience):
        log.info("trainer=%s solves once: trainer.epochs=%s and trainer.patience=%s not used", t.name, t.epochs,
                 t.patience)
        t.epochs, t.patience = 1, None


REGISTRIES["trainer"].add("fit", TrainerConfig, target="seqlab.train.fit:train", schema_name="trainer",
                          help="Keras model.fit")
REGISTRIES["trainer"].add("tape", TrainerConfig, target="seqlab.train.tape:train", schema_name="trainer",
                          help="custom tf.GradientTape loop")
REGISTRIES["trainer"].add("lstsq", TrainerConfig, target="seqlab.train.lstsq:train", schema_name="trainer",
                          check=check_lstsq, capabilities=("exact_solve",),
                          help="exact least squares in one pass (model=linear)")
