"""Shared fixtures: the offline data mirror and small prepared datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEFAULT_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline data mirror (FSVAE_DATA_MIRROR, else ../shared/data)."""
    path = Path(os.environ.get("FSVAE_DATA_MIRROR", DEFAULT_MIRROR))
    if not path.is_dir():
        pytest.fail(f"data mirror not found at {path}; set FSVAE_DATA_MIRROR")
    return path


@pytest.fixture(scope="session")
def prepared_mnist(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    """A prepared-data root holding a small real MNIST subset (train 256, test 64)."""
    from pipelines.data import prepare_dataset

    root = tmp_path_factory.mktemp("prepared")
    prepare_dataset(
        "mnist",
        data_root=tmp_path_factory.mktemp("raw"),
        prepared_root=root,
        mirror=mirror,
        download=False,
        train_limit=256,
        test_limit=64,
    )
    return root
