"""Shared pytest fixtures."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The read-only real datasets next to the checkout (../shared/datasets); skips when absent."""
    path = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if not path.is_dir():
        pytest.skip(f"shared datasets not found at {path}")
    return path
