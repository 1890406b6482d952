"""Every experiment preset composes, validates and explains itself; a shrunk preset trains end to end."""

import re

import numpy as np
import pytest
from conftest import QUIET

from seqlab.config import compose, conf_dir, options, validate

REQUIRED = ["etth1_lstm", "etth1_gru", "etth1_conv1d", "imdb_bilstm", "adding_simplernn", "adding_lstm",
            "adding_gru", "text_synth_overfit", "sine_overfit"]


def _text(name: str) -> str:
    with open(f"{conf_dir()}/experiment/{name}.yaml") as f:
        return f.read()


def test_required_presets_exist():
    assert set(REQUIRED) <= set(options("experiment"))


def _own_files(name, tmp_path):
    """The files a preset for the user's own data needs (uea_fcn, uea_fcn_small: a generated .ts pair)."""
    from test_uea import uea_files

    return uea_files(tmp_path) if name.startswith("uea_fcn") else []


@pytest.mark.parametrize("name", options("experiment"))
def test_preset_composes_and_validates(name, tmp_path):
    if name.startswith("m4_"):  # the M4 files: in SEQLAB_DATA_DIR, never downloaded
        import os

        if not os.path.isfile(os.path.join(os.environ.get("SEQLAB_DATA_DIR", ""), "M4-Weekly-train.csv.gz")):
            pytest.skip("M4 Weekly files not in SEQLAB_DATA_DIR")
    cfg = compose([f"experiment={name}"] + _own_files(name, tmp_path))
    validate(cfg)
    # a preset changes something beyond the defaults
    assert cfg != compose([])


@pytest.mark.parametrize("name", options("experiment"))
def test_preset_is_global_and_says_why(name):
    lines = _text(name).splitlines()
    assert lines[0] == "# @package _global_", "Hydra reads the package header only on the first line"
    assert lines[1].startswith("# ") and len(lines[1]) > 20, "second line: what the preset is for"
    in_defaults = False
    for line in lines[2:]:
        if line.startswith("defaults:"):
            in_defaults = True
            continue
        if in_defaults and line.lstrip().startswith("-"):
            continue
        in_defaults = False
        # every value the preset sets (a `key: value` line, not a section header) carries a why-comment
        if re.match(r"^\s*[\w.]+:\s*[^\s#]", line):
            assert " # " in line, f"{name}.yaml: no why-comment on {line.strip()!r}"

@pytest.mark.slow
@pytest.mark.parametrize("name", ["etth1_gru", "etth1_segrnn"])
def test_forecasting_preset_trains_a_few_steps(name, shared_datasets, tmp_path):
    from seqlab.train import run

    cfg = compose([f"experiment={name}", f"data_dir={shared_datasets}", "dataset.limit=64", "trainer.epochs=2",
                   "trainer.batch_size=32", "trainer.patience=null"] + QUIET)
    result = run(cfg, tmp_path)
    assert np.isfinite(result.metrics["test"]["mse"])
    assert (tmp_path / "metrics.json").is_file()
    if name == "etth1_segrnn":  # trained on the MAE: the loss is the mae metric; the parallel decoder is in the model
        np.testing.assert_allclose(result.history["loss"], result.history["mae"], rtol=1e-4)
        assert result.history["loss"][-1] < result.history["loss"][0]
        assert "segment_queries" in [layer.name for layer in result.model.layers]

@pytest.mark.slow

def test_adding_preset_trains_a_few_steps(tmp_path):
    from seqlab.train import run

    cfg = compose(["experiment=adding_gru", "dataset.length=20", "dataset.train_size=128", "dataset.val_size=32",
                   "dataset.test_size=32", "trainer.epochs=2"] + QUIET)
    result = run(cfg, tmp_path)
    assert result.metrics["dataset"] == "adding" and len(result.history["loss"]) == 2
    assert np.isfinite(result.history["loss"]).all()
