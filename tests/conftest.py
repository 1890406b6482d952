"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

# The README's test command gives SEQLAB_DATA_DIR as a relative path (../shared/datasets): made absolute once here,
# so that tests running seqlab from another folder (the docs-command test's workspaces) still find the data there
# instead of trying to download it.
if os.environ.get("SEQLAB_DATA_DIR"):
    os.environ["SEQLAB_DATA_DIR"] = str(Path(os.environ["SEQLAB_DATA_DIR"]).resolve())

# the overrides every small training run in the tests shares (import them: `from conftest import QUIET`)
# ~family: a test picks its own budget; a dataset family's (conf/family/, early stopping after up to hundreds of
# epochs) is for a user's first run and has tests of its own (test_family_defaults.py)
QUIET = ["trainer.verbose=0", "trainer.tensorboard.enabled=false", "trainer.checkpoint.every=0", "~family"]
QUIET_ONE_EPOCH = QUIET + ["trainer.epochs=1"]
# a small sine forecasting problem: short series, short windows (add the model and trainer a test needs)
TINY_SERIES = ["dataset=sine", "dataset.length=400", "dataset.input_len=12", "dataset.horizon=2"]


class DownloadInTests(RuntimeError):
    """A test tried to reach the network: tests use generated data or the shared datasets, never a download."""


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Every in-process urlopen (seqlab.data.download's opener) raises DownloadInTests unless it reads a local file
    or goes to this machine (test_tensorboard talks to its own server on 127.0.0.1); a test may patch urlopen itself
    (test_robustness's offline network)."""
    import urllib.parse
    import urllib.request

    real = urllib.request.urlopen

    def guarded(url, *args, **kwargs):
        full = url.full_url if isinstance(url, urllib.request.Request) else str(url)
        parts = urllib.parse.urlsplit(full)  # file:// (test_data's download tests) and this machine only
        if parts.scheme == "file" or parts.hostname in ("127.0.0.1", "localhost", "::1"):
            return real(url, *args, **kwargs)
        raise DownloadInTests(f"a test tried to download {full}: tests never download (tests/conftest.py); give the "
                              "file through SEQLAB_DATA_DIR (shared_datasets fixture) or generate the data")

    monkeypatch.setattr(urllib.request, "urlopen", guarded)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The read-only real datasets: $SEQLAB_DATA_DIR when set, else ../shared/datasets beside the checkout;
    skips when absent."""
    env = os.environ.get("SEQLAB_DATA_DIR")
    path = Path(env).resolve() if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path}" + (" (SEQLAB_DATA_DIR)" if env else ""))
    return path


@pytest.fixture(scope="session")
def series_run(tmp_path_factory):
    """One trained csv run for every test that reads a run directory (predict, load, export): a GRU in the etth1_gru
    layout in small (last-value norm, channel-independent, patches), so the inference path meets seqlab's own layers.
    Returns (folder, the training frame, the run's Result, its splits); the run directory is folder / "run"."""
    from test_predict import SERIES, series_csv, train_run

    tmp = tmp_path_factory.mktemp("series")
    frame = series_csv(tmp / "train.csv")
    result, splits, _ = train_run(tmp / "run", SERIES + [f"dataset.path={tmp / 'train.csv'}", "model.norm=last",
                                                          "model.channel_independent=true", "model.patch=4"])
    return tmp, frame, result, splits


@pytest.fixture(scope="session")
def readme_runs(tmp_path_factory, request):
    """The README's training commands as subprocesses, started together on first use (tests/test_cli.py); read a
    finished one with test_cli.finished_readme_run(readme_runs, name)."""
    from test_cli import start_readme_runs

    yield from start_readme_runs(tmp_path_factory, request)
