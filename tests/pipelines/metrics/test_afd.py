"""Autoencoder Fréchet distance with the authors' published autoencoder and our own."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipelines.data import to_model_range
from pipelines.metrics.afd import AutoencoderFD
from pipelines.metrics.autoencoder import load_own_autoencoder, paper_autoencoder, train_autoencoder
from pipelines.metrics.fetch import AssetStore
from pipelines.metrics.fid import nhwc_to_nchw
from pipelines.metrics.protocol import MetricUnavailable


@pytest.fixture(scope="module")
def test_images(mnist_test) -> torch.Tensor:
    return to_model_range(nhwc_to_nchw(torch.from_numpy(mnist_test))).contiguous()


@pytest.fixture(scope="module")
def noise() -> torch.Tensor:
    return torch.rand(1024, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_parameter_counts_match_the_reference():
    counts = {
        d: sum(p.numel() for p in paper_autoencoder(d).parameters())
        for d in ("mnist", "cifar10", "celeba")
    }
    assert counts == {"mnist": 918_305, "cifar10": 1_050_595, "celeba": 3_675_363}


def test_paper_variant_real_near_zero_noise_far(test_images, noise, paper_store):
    metric = AutoencoderFD("mnist", "paper", paper_store)
    real = metric(test_images[:1024])["afd_paper"]
    far = metric(noise)["afd_paper"]
    print(f"AFD paper: MNIST test (1024) {real:.3f}, uniform noise {far:.3f}")
    assert real < 0.15 * far
    assert far > 100


def test_paper_statistics_reproduced_exactly_from_the_full_test_split(test_images, paper_store):
    # The authors' stats are the train-mode-BN codes of the 10k test images in batches
    # of 256: our preprocessing and BN handling give the same Gaussian.
    out = AutoencoderFD("mnist", "paper", paper_store)(test_images)
    assert len(test_images) == 10_000
    assert abs(out["afd_paper"]) < 1e-6
    assert "train mode" in out["afd_paper_batchnorm"]


def test_paper_variant_without_weights_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = AssetStore(cache_dir=Path("cache/assets"), online=False)
    with pytest.raises(MetricUnavailable) as err:
        AutoencoderFD("cifar10", "paper", store)
    reason = str(err.value)
    # The reason names the URL and the project-relative place, never a machine path.
    assert "https://github.com/kamata1729/FullySpikingVAE/raw/" in reason
    assert "cache/assets/github.com/kamata1729/FullySpikingVAE/raw/" in reason
    assert "cifar10_128.pth" in reason and str(tmp_path) not in reason


def test_wrong_file_is_rejected_by_blob_id(tmp_path):
    bad = tmp_path / "mnist_64.pth"
    bad.write_bytes(b"not the published file")
    store = AssetStore(cache_dir=tmp_path, online=False)
    with pytest.raises(MetricUnavailable, match="git blob id .* the published mnist_64.pth"):
        AutoencoderFD("mnist", "paper", store, paper_weights=bad)


def test_train_mode_bn_leaves_running_stats_alone(test_images, paper_store):
    metric = AutoencoderFD("mnist", "paper", paper_store)
    before = {k: v.clone() for k, v in metric.ae.state_dict().items()}
    metric.features(test_images[:300])
    after = metric.ae.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_own_autoencoder_is_deterministic_and_scores(prepared, tmp_path, test_images, noise):
    a = train_autoencoder("mnist", prepared, tmp_path / "a.pt", steps=3, batch_size=32, seed=1)
    train_autoencoder("mnist", prepared, tmp_path / "b.pt", steps=3, batch_size=32, seed=1)
    ae_a, rec = load_own_autoencoder(tmp_path / "a.pt")
    ae_b, _ = load_own_autoencoder(tmp_path / "b.pt")
    sa, sb = ae_a.state_dict(), ae_b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert rec["test_count"] == 10_000 and rec["test_mu"].shape == (64,)
    assert a["final_train_mse"] == rec["final_train_mse"]
    metric = AutoencoderFD("mnist", "own", own_path=tmp_path / "a.pt")
    out = metric(test_images[:1024])
    assert out["afd_own_protocol"] == "own" and out["afd_own"] < metric(noise)["afd_own"]


def test_own_missing_is_unavailable(tmp_path):
    with pytest.raises(MetricUnavailable, match="autoencoder stage"):
        AutoencoderFD("mnist", "own", own_path=tmp_path / "none.pt")
