"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The read-only real datasets: $SEQLAB_DATA_DIR when set, else ../shared/datasets beside the checkout;
    skips when absent."""
    env = os.environ.get("SEQLAB_DATA_DIR")
    path = Path(env).resolve() if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path}" + (" (SEQLAB_DATA_DIR)" if env else ""))
    return path
