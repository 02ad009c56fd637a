"""Paper-protocol FID: clean-fid's resize and scaling, the authors' statistics, blob checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from cleanfid.resize import make_resizer

from pipelines.data import to_model_range
from pipelines.metrics import clean_fid
from pipelines.metrics.assets import get_asset
from pipelines.metrics.clean_fid import CleanFIDPaper, find_paper_fid_stats
from pipelines.metrics.fetch import AssetStore
from pipelines.metrics.fid import nhwc_to_nchw
from pipelines.metrics.inception import torchscript_path
from pipelines.metrics.protocol import MetricUnavailable, git_blob_id


def test_unavailable_without_the_authors_statistics(tmp_path):
    store = AssetStore(cache_dir=tmp_path, online=False)
    with pytest.raises(MetricUnavailable, match="mnist_test_clean_custom_na.npz"):
        find_paper_fid_stats("mnist", None, store)


def test_wrong_statistics_file_is_rejected(tmp_path):
    fake = tmp_path / "mnist_test_clean_custom_na.npz"
    np.savez(fake, mu=np.zeros(2048), sigma=np.eye(2048))
    with pytest.raises(MetricUnavailable, match="git blob id"):
        find_paper_fid_stats("mnist", tmp_path)


@pytest.mark.slow
def test_features_follow_clean_fid_exactly(fid_weights, mnist_test, tmp_path, monkeypatch):
    stats = tmp_path / "mine.npz"
    np.savez(stats, mu=np.zeros(2048), sigma=np.eye(2048))
    mine = dataclasses.replace(get_asset("fid_stats/mnist"), digest=git_blob_id(stats))
    monkeypatch.setattr(clean_fid, "get_asset", lambda name: mine)
    metric = CleanFIDPaper("mnist", stats, fid_weights, progress=False)
    images = to_model_range(nhwc_to_nchw(torch.from_numpy(mnist_test[:3])))
    ours = metric.features(images)
    # clean-fid by hand: [0, 255] floats, its PIL bicubic float resizer per image, then
    # InceptionV3W's (x - 128) / 128 into the TorchScript network.
    resize = make_resizer("PIL", False, "bicubic", (299, 299))
    x = ((images + 1) * 127.5).expand(-1, 3, -1, -1).permute(0, 2, 3, 1).numpy()
    batch = torch.from_numpy(np.stack([resize(img) for img in x])).permute(0, 3, 1, 2)
    ts = torch.jit.load(str(torchscript_path()), map_location="cpu").eval()
    with torch.inference_mode():
        theirs = ts((batch - 128) / 128).double().numpy()
    assert np.linalg.norm(ours - theirs) / np.linalg.norm(theirs) < 1e-4
    out = metric(images)
    assert np.isfinite(out["fid_paper"]) and out["fid_paper_num_gen"] == 3
    assert "clean-fid" in out["fid_paper_protocol"]
