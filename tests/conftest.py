"""Shared fixtures: the offline data mirror and small prepared datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests.mirror import data_mirror

# Commands that report numbers run with params.yaml's runtime.cpu_threads; the others pick
# their CPU thread count from the machine's load (pipelines.process.threads) unless
# OMP_NUM_THREADS pins it. Tests call the CLI in this process and in subprocesses and compare
# float results across runs, so library calls use one count too: PyTorch's default here.
os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
TEST_THREADS = int(os.environ["OMP_NUM_THREADS"])


@pytest.fixture(autouse=True)
def _same_thread_count():
    """Each test starts with the one thread count, whatever an earlier test set in-process."""
    torch.set_num_threads(TEST_THREADS)
    yield


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline data mirror named by ``$FSVAE_DATA_MIRROR``; skips the test without one."""
    return data_mirror()


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
