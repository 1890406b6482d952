"""End to end (slow): the comparison printed at the end of a multirun, and docs/COMPARE.md's commands as written
(with tiny overrides appended and fewer seeds)."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.multirun import varying_keys

REPO = Path(__file__).resolve().parents[1]
TINY = ["trainer.epochs=1", "dataset.limit=64", "trainer.verbose=0", "trainer.tensorboard.histogram_freq=0",
        "trainer.tensorboard.write_graph=false", "trainer.checkpoint.every=0"]


def test_the_multirun_groups_by_what_its_overrides_vary():
    assert varying_keys(["model=simplernn,lstm,gru,conv1d", "seed=0,1,2,3,4", "trainer.epochs=5"]) == ["model.name"]
    assert varying_keys(["trainer.lr=0.01,0.001", "model.units=8,16", "seed=range(3)"]) == ["trainer.lr",
                                                                                          "model.units"]
    assert varying_keys(["seed=0,1,2", "dataset=etth1"]) == []  # seeds only: nothing to compare


def _env():
    data = os.environ.get("SEQLAB_DATA_DIR", str(REPO.parent / "shared" / "datasets"))
    return {**os.environ, "PYTHONPATH": str(REPO), "SEQLAB_DATA_DIR": data}


@pytest.mark.slow
def test_a_multirun_prints_its_comparison_at_the_end(tmp_path):
    cmd = [sys.executable, "-m", "seqlab", "-m", "model=gru,conv1d", "seed=0,1,2", *TINY,
           f"hydra.sweep.dir={tmp_path / 'mr'}"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert f"comparison of the multirun in {tmp_path / 'mr'} by model.name" in out, out[-3000:]
    assert re.search(r"(conv1d|gru) beats (conv1d|gru) on test\.mse by|the data cannot tell", out), out[-2000:]
    assert "3 paired seeds" in out
    for name in ("compare.csv", "compare_pairs.csv", "compare.md", "compare.png"):
        assert (tmp_path / "mr" / name).is_file(), name


def _commands(doc: Path):
    """The ```bash blocks' commands of a doc page, in order."""
    text = doc.read_text()
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                yield line.strip()


@pytest.mark.slow
def test_the_compare_page_commands_run(tmp_path):
    if not (Path(_env()["SEQLAB_DATA_DIR"]) / "ETTh1.csv.gz").exists():
        pytest.skip("ETTh1 not in SEQLAB_DATA_DIR (../shared/datasets)")
    ran = 0
    for line in _commands(REPO / "docs" / "COMPARE.md"):
        words = shlex.split(line)
        if words[:3] == ["python", "-m", "seqlab"]:
            words = [sys.executable] + words[1:]
            words = [re.sub(r"^seed=0,1,2,3,4$", "seed=0,1", w) for w in words]  # two seeds: a tiny pairing
            words = [re.sub(r"^model=simplernn,lstm,gru,conv1d$", "model=gru,conv1d", w) for w in words]
            words = [re.sub(r"^sweep\.max_trials=\d+$", "sweep.max_trials=2", w) for w in words]
            words = [re.sub(r"^sweep\.confirm_seeds=\d+$", "sweep.confirm_seeds=2", w) for w in words]
            words += TINY
        elif words[0] == "seqlab":
            words = [sys.executable, "-m", "seqlab"] + words[1:]
        else:
            continue
        done = subprocess.run(words, capture_output=True, text=True, cwd=tmp_path, env=_env())
        assert done.returncode == 0, (line, done.stderr[-3000:])
        assert "Traceback" not in done.stderr
        ran += 1
    assert ran >= 4
