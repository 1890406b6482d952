"""Each dataset family's defaults (conf/family/<dataset>.yaml, and dataset=ucr's model): a user's first run on any
kind of data trains until early stopping ends it, on a model that suits the data, and beats its naive baseline."""

from pathlib import Path

import pytest
from conftest import QUIET

from seqlab.config import compose, options
from seqlab.config.store import conf_dir


def test_ucr_defaults_to_an_fcn_trained_until_early_stopping():
    cfg = compose(["dataset=ucr"])
    m, t = cfg.model, cfg.trainer
    # FCN (Wang et al. 2017): plain same-padded convolutions, global average pooling; not conv1d's causal dilated stack
    assert (m.name, m.filters, m.padding, m.dilated, m.pooling) == ("fcn", 128, "same", False, "average")
    # a budget of hundreds of short epochs ended by early stopping: 10 epochs of a 50-series file were 30 steps
    assert (t.epochs, t.batch_size, t.patience) == (500, 16, 50)
    # the command line and experiments still win
    assert compose(["dataset=ucr", "model=lstm"]).model.name == "lstm"
    assert compose(["dataset=ucr", "model=lstm"]).trainer.patience == 50  # the budget is the family's, any model
    assert compose(["dataset=ucr", "trainer.epochs=3"]).trainer.epochs == 3
    assert compose(["experiment=uea_fcn_small"]).trainer.patience == 100
    assert compose(["dataset=sine"]).model.name == "lstm"  # the other families keep the default model


@pytest.mark.slow
def test_a_solved_text_set_stops_when_its_loss_only_creeps(tmp_path):
    """text_synth is solved within a few epochs and its val_loss then creeps toward 0 for ever: the family's
    trainer.min_delta makes early stopping end it (without it the run hit its 100-epoch cap, still-learning)."""
    from seqlab.train import run

    assert compose(["dataset=text_synth"]).trainer.min_delta == 1e-4
    cfg = compose(["dataset=text_synth", "dataset.train_size=2000", "dataset.val_size=200", "dataset.test_size=200",
                   "trainer.lr=0.01", "trainer.epochs=60"] + [q for q in QUIET if q != "~family"])
    m = run(cfg, tmp_path / "run").metrics
    assert m["epochs"] < 60 and m["test"]["accuracy"] > 0.9, (m["epochs"], m["test"])
    assert m["diagnosis"]["verdict"] != "still-learning", m["diagnosis"]


@pytest.mark.parametrize("family", sorted(p.stem for p in Path(conf_dir(), "family").glob("*.yaml")))
def test_every_family_trains_until_early_stopping(family):
    """conf/family/<dataset>_none.yaml: a single run (sweep=none) of that dataset; sweeps keep the trainer's."""
    dataset, sweep = family.rsplit("_", 1)
    assert dataset in options("dataset") and sweep in options("sweep"), f"conf/family/{family}.yaml is never used"
    t = compose([f"dataset={dataset}"]).trainer
    assert t.patience and t.epochs >= 10 * t.patience, (t.epochs, t.patience)  # the epochs are a cap, not the budget
    assert compose([f"dataset={dataset}", "sweep=lr"]).trainer.patience is None


def test_the_default_job_stops_early_and_the_plain_trainer_does_not():
    assert compose([]).trainer.patience == 10 and compose([]).trainer.epochs == 200
    assert compose(["dataset=adding"]).trainer.patience is None  # no family file: the trainer's own defaults
    lstsq = compose(["model=linear", "trainer=lstsq"])
    assert lstsq.trainer.epochs == 200  # the family's cap composes, and trainer=lstsq solves once anyway:
    from seqlab.train.trainers import one_pass_budget

    one_pass_budget(lstsq)
    assert (lstsq.trainer.epochs, lstsq.trainer.patience) == (1, None)


@pytest.mark.slow
def test_the_default_job_beats_its_baseline_and_ends_trained(readme_runs):
    """`python -m seqlab` as a user first runs it: early stopping, not the epoch cap, ends it, its verdict is not
    still-learning, and it clearly beats repeating the last value. The run is the README's `python -m seqlab
    model=lstm` (lstm is the default model), trained once for test_cli.py and this test."""
    from test_cli import finished_readme_run

    assert compose([]).model.name == "lstm"
    _, _, m = finished_readme_run(readme_runs, "default")
    assert m["epochs"] < 200, "the epoch cap ended the default job: early stopping should"
    assert m["diagnosis"]["verdict"] not in ("still-learning", "worse-than-baseline"), m["diagnosis"]
    assert m["test"]["mse"] < 0.5 * m["baseline"]["mse"], (m["test"], m["baseline"])
