"""End to end (slow): the comparison printed at the end of a multirun (docs/COMPARE.md's commands run in
tests/test_doc_commands.py)."""

import re

import pytest
from inprocess import seqlab_main

from seqlab.multirun import varying_keys

TINY = ["trainer.epochs=1", "dataset.limit=64", "trainer.verbose=0", "trainer.tensorboard.histogram_freq=0",
        "trainer.tensorboard.write_graph=false", "trainer.checkpoint.every=0"]


def test_the_multirun_groups_by_what_its_overrides_vary():
    assert varying_keys(["model=simplernn,lstm,gru,conv1d", "seed=0,1,2,3,4", "trainer.epochs=5"]) == ["model.name"]
    assert varying_keys(["trainer.lr=0.01,0.001", "model.units=8,16", "seed=range(3)"]) == ["trainer.lr",
                                                                                          "model.units"]
    assert varying_keys(["seed=0,1,2", "dataset=etth1"]) == []  # seeds only: nothing to compare


@pytest.mark.slow
def test_a_multirun_prints_its_comparison_at_the_end(tmp_path):
    done = seqlab_main("-m", "model=gru,conv1d", "seed=0,1,2", *TINY, f"hydra.sweep.dir={tmp_path / 'mr'}",
                       cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert f"comparison of the multirun in {tmp_path / 'mr'} by model.name" in out, out[-3000:]
    assert re.search(r"(conv1d|gru) beats (conv1d|gru) on test\.mse by|the data cannot tell", out), out[-2000:]
    assert "3 paired seeds" in out
    for name in ("compare.csv", "compare_pairs.csv", "compare.md", "compare.png"):
        assert (tmp_path / "mr" / name).is_file(), name
