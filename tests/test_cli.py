"""The README's commands, run as subprocesses exactly as a user types them; bad input through the CLI."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


def seqlab(*args, cwd=None, env=None, timeout=600):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "seqlab", *args], cwd=cwd or REPO, env=e, capture_output=True,
                          text=True, timeout=timeout)


def test_help_lists_every_group_and_option():
    from seqlab.config import GROUPS, options

    r = seqlab("--help")
    assert r.returncode == 0
    for group in GROUPS:
        assert f"{group}:" in r.stdout
        for option in options(group):
            assert option in r.stdout
    assert "schema" not in r.stdout


def test_cfg_job_prints_resolved_config_without_tensorflow():
    code = ("import sys; from seqlab.cli import main; sys.argv=['seqlab'];"
            "main(['--cfg', 'job', 'model=gru', 'trainer.lr=0.01']);"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported by --cfg job'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "name: gru" in r.stdout and "lr: 0.01" in r.stdout


def _csv(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(600)
    df = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=600, freq="h").astype(str),
                       "load": np.sin(t / 10) + 0.1 * rng.normal(size=600), "temp": np.cos(t / 15),
                       "note": ["x"] * 600})
    p = tmp_path / "series.csv"
    df.to_csv(p, index=False)
    return p


BAD_INPUT = [
    (["model=lstmm"], "model/lstmm", ["conv1d", "gru", "lstm", "simplernn"]),
    (["model.unitz=3"], "model.unitz", []),
    (["trainer.epochs=many"], "trainer.epochs", []),
    (["trainer.lr=-0.001"], "trainer.lr", ["> 0"]),
    (["model.units=-3"], "model.units", ["> 0"]),
    (["regularizer.dropout=1.5"], "regularizer.dropout", ["[0, 1)"]),
    (["dataset.horizon=0"], "dataset.horizon", ["> 0"]),
    (["dataset=csv", "dataset.path=/nonexistent/series.csv"], "dataset.path", ["/nonexistent/series.csv"]),
    (["dataset=csv", "dataset.path={csv}", "dataset.targets=[nope]"], "dataset.targets", ["nope", "load"]),
    (["dataset=csv", "dataset.path={csv}", "dataset.targets=[note]"], "dataset.targets", ["note"]),
    (["dataset=csv", "dataset.path={csv}", "dataset.time_column=time", "dataset.features=[load]",
      "dataset.targets=[load]", "dataset.input_len=500"], "dataset.input_len", ["500"]),
]


@pytest.mark.slow
@pytest.mark.parametrize("overrides,key,mentions", BAD_INPUT, ids=[b[1] for b in BAD_INPUT])
def test_bad_input_exits_nonzero_naming_the_key(overrides, key, mentions, tmp_path):
    csv = _csv(tmp_path)
    args = [o.replace("{csv}", str(csv)) for o in overrides]
    r = seqlab(*args, f"hydra.run.dir={tmp_path / 'run'}", "trainer.epochs=1")
    assert r.returncode != 0
    err = r.stderr + r.stdout
    assert key in err, err[-2000:]
    for m in mentions:
        assert m in err, (m, err[-2000:])
    assert "Traceback" not in err
    assert not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.slow
def test_readme_default_run_beats_baseline(tmp_path):
    r = seqlab("model=lstm", f"hydra.run.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["test"]["mse"] < 0.5 * m["baseline"]["mse"]
    assert "baseline" in r.stdout and str(tmp_path) in r.stdout
    for f in ("history.csv", "model.keras", ".hydra/config.yaml"):
        assert (tmp_path / f).exists()
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))


@pytest.mark.slow
def test_readme_etth1_gru(tmp_path, shared_datasets):
    r = seqlab("dataset=etth1", "model=gru", "trainer.epochs=2", "dataset.limit=128", "model.units=8",
               f"hydra.run.dir={tmp_path}", env={"SEQLAB_DATA_DIR": str(shared_datasets)})
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["dataset"] == "etth1" and m["examples"]["test"] == 128 and m["epochs"] == 2


@pytest.mark.slow
def test_readme_text_csv_conv1d(tmp_path):
    rng = np.random.default_rng(0)
    good, bad = ["great", "wonderful", "superb"], ["awful", "boring", "terrible"]
    rows = []
    for i in range(400):
        label = i % 2
        words = list(rng.choice(["the", "film", "was", "plot", "actors", "and"], 8))
        words.insert(int(rng.integers(0, 8)), str(rng.choice(good if label else bad)))
        rows.append({"review": " ".join(words), "sentiment": "pos" if label else "neg"})
    p = tmp_path / "reviews.csv"
    pd.DataFrame(rows).to_csv(p, index=False)
    r = seqlab("dataset=text_csv", f"dataset.path={p}", "dataset.text_column=review",
               "dataset.label_column=sentiment", "model=conv1d", "trainer.epochs=8",
               "dataset.sequence_length=16", "trainer.lr=0.01", f"hydra.run.dir={tmp_path / 'r'}")
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert m["task"] == "binary" and m["test"]["accuracy"] > 0.8


@pytest.mark.slow
def test_wheel_install_runs_from_another_directory(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), str(REPO)], check=True, capture_output=True, timeout=300)
    (whl,) = wheels.glob("seqlab-*.whl")
    names = zipfile.ZipFile(whl).namelist()
    assert "seqlab/conf/config.yaml" in names and "seqlab/conf/model/lstm.yaml" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(whl)],
                   check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(target)}
    r = subprocess.run([sys.executable, "-c", "import seqlab; print(seqlab.__file__)"], cwd=elsewhere,
                       env=dict(os.environ, **env), capture_output=True, text=True)
    assert str(target) in r.stdout
    r = seqlab("model=gru", "model.units=8", "trainer.epochs=1", "dataset.limit=64", cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    (metrics,) = (elsewhere / "outputs").rglob("metrics.json")
    assert json.loads(metrics.read_text())["model"] == "gru"
