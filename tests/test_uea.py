"""UEA/sktime .ts files as sktime ships them (comments, word labels, unequal lengths); the uea_fcn preset."""

import json

import numpy as np
import pytest

from seqlab.config import ConfigError, compose, validate
from seqlab.data.classfiles import read_ts

CLASSES = ("Standing", "Running", "Walking")


def write_ts(path, cases=24, channels=3, lengths=(40, 40), seed=0, comment="#"):
    """A BasicMotions-like .ts file: class k has a burst in channel k; `lengths` bounds the series' lengths."""
    rng = np.random.default_rng(seed)
    lines = [f"{comment} generated for seqlab's tests: class k oscillates in channel k",
             "@problemName Tiny", "@timeStamps false", "@missing false", "@univariate false",
             f"@dimensions {channels}", f"@equalLength {str(lengths[0] == lengths[1]).lower()}",
             f"@classLabel true {' '.join(CLASSES)}", "@data"]
    for i in range(cases):
        k, t = i % len(CLASSES), rng.integers(lengths[0], lengths[1] + 1)
        x = 0.3 * rng.normal(size=(channels, t))
        x[k % channels] += 2.0 * np.sin(np.arange(t) * 0.8)
        lines.append(":".join(",".join(f"{v:.4f}" for v in c) for c in x) + f":{CLASSES[k]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def uea_files(tmp_path, **kwargs):
    """Overrides for dataset=ucr on a generated train/test pair."""
    train = write_ts(tmp_path / "Tiny_TRAIN.ts", **kwargs)
    test = write_ts(tmp_path / "Tiny_TEST.ts", seed=1, **kwargs)
    return [f"dataset.train_path={train}", f"dataset.test_path={test}"]


def test_sktime_percent_comments_and_unequal_lengths_read(tmp_path):
    path = write_ts(tmp_path / "Tiny_TRAIN.ts", cases=6, lengths=(7, 26), comment="%#")  # sktime's UnitTest style
    rows, labels, header = read_ts(path, "dataset.train_path")
    assert labels == list(CLASSES) * 2 and header["problemname"] == "Tiny"
    assert all(r.shape[1] == 3 for r in rows) and len({len(r) for r in rows}) > 1


def test_a_regression_ts_file_is_refused_as_such(tmp_path):
    path = tmp_path / "Tecator_TRAIN.ts"  # sktime's Tecator and Covid3Month: a number per series, not a class
    path.write_text("@problemName T\n@timeStamps false\n@univariate true\n@targetLabel true\n@data\n"
                    "1.0,2.0,3.0:22.5\n2.0,3.0,4.0:40.1\n")
    with pytest.raises(ConfigError, match=r"^dataset.train_path: expected a classification .ts file "
                                          r"\(@classLabel true\); .*Tecator_TRAIN.ts with @targetLabel true"):
        read_ts(path, "dataset.train_path")


def test_the_uea_preset_composes_for_unequal_lengths(tmp_path):
    cfg = compose(["experiment=uea_fcn", "dataset.padding=post"] + uea_files(tmp_path, lengths=(30, 40)))
    validate(cfg)
    assert (cfg.dataset.name, cfg.model.name, cfg.model.padding) == ("ucr", "fcn", "same")
    assert (cfg.trainer.epochs, cfg.trainer.patience, cfg.trainer.checkpoint.every) == (500, 50, 50)


def test_the_small_set_preset_trains_on_the_whole_file_with_fawaz_schedule(tmp_path):
    cfg = compose(["experiment=uea_fcn_small"] + uea_files(tmp_path))
    validate(cfg)
    assert (cfg.dataset.val_fraction, cfg.model.batch_norm, cfg.model.padding) == (0, True, "same")
    t = cfg.trainer
    assert (t.lr_schedule, t.decay_rate, t.lr_patience, t.min_lr, t.patience) == ("plateau", 0.5, 50, 1e-4, 100)
    with pytest.raises(ConfigError, match=r"^dataset.val_fraction: expected a fraction above 0 with sweep=lr"):
        validate(compose(["experiment=uea_fcn_small", "sweep=lr"] + uea_files(tmp_path)))


@pytest.mark.slow  # a real training run: 40 epochs of 19-24 series (16-85 s on the 2 shared cores)
@pytest.mark.parametrize("preset,examples", [("uea_fcn", {"train": 19, "val": 5, "test": 24}),
                                             ("uea_fcn_small", {"train": 24, "val": 0, "test": 24})])
def test_the_uea_presets_learn_a_multivariate_set(preset, examples, tmp_path):
    from seqlab.train import run

    cfg = compose([f"experiment={preset}", "model.filters=16", "trainer.epochs=40",
                   "trainer.verbose=0", "trainer.tensorboard.enabled=false", "trainer.checkpoint.every=0"]
                  + uea_files(tmp_path))
    run(cfg, tmp_path / "run")
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["test"]["accuracy"] >= 0.9 > m["baseline"]["accuracy"]
    assert m["norm"] == "none" and m["examples"] == examples  # uea_fcn: val carved from the train file
